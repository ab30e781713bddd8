"""What identity puts on the console home (operators.console_home): pending
corrections, unacknowledged look-up bursts and the last ``verify_access_log``
result. Each count is one aggregate query, scoped by operators.tenancy;
registered by :meth:`identity.apps.IdentityConfig.ready`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy

from operators.console_home import HomeCount, count_register
from operators.tenancy import is_platform_admin, scoped, staff_of

from .models import AccessLogVerification, CorrectionRequest, CorrectionStatus, LookupAlert

if TYPE_CHECKING:
    import datetime as dt

    from operators.tenancy import AnyUser


def corrections_pending_count(user: AnyUser) -> int:
    return scoped(CorrectionRequest.objects.filter(status=CorrectionStatus.PENDING), user).count()


def lookup_bursts_open_count(user: AnyUser) -> int:
    return scoped(LookupAlert.objects.filter(acknowledged_at__isnull=True), user).count()


@dataclass(frozen=True)
class VerificationSeen:
    """The last ``verify_access_log`` run as one staff member may know it:
    when, and how many problems touched their operator's chains (checkpoint
    files that fail their signature touch everyone's). Platform admins see
    the whole run."""

    ran_at: dt.datetime | None
    problems: int


def access_log_verification_last(user: AnyUser) -> VerificationSeen:
    """One query: the newest run, read for ``user``'s operator."""
    run = AccessLogVerification.objects.order_by("-ran_at", "-id").first()
    if run is None:
        return VerificationSeen(ran_at=None, problems=0)
    if is_platform_admin(user):
        return VerificationSeen(ran_at=run.ran_at, problems=run.problems)
    staff = staff_of(user)
    mine = staff is not None and staff.operator_id in run.broken_operator_ids
    return VerificationSeen(ran_at=run.ran_at, problems=int(mine or run.checkpoints_broken))


def _verification_problems(user: AnyUser) -> int:
    return access_log_verification_last(user).problems


def _verification_note(user: AnyUser) -> str:
    seen = access_log_verification_last(user)
    if seen.ran_at is None:
        return gettext("Never checked: run verify_access_log.")
    when = date_format(timezone.localtime(seen.ran_at), "DATETIME_FORMAT")
    if seen.problems:
        return gettext("Last check %(when)s: broken, see the command's output.") % {"when": when}
    return gettext("Last check %(when)s: intact.") % {"when": when}


count_register(
    HomeCount(
        key="corrections_pending",
        label=gettext_lazy("Corrections waiting for a decision"),
        permission="person.reveal",
        count=corrections_pending_count,
        changelist="console:identity_correctionrequest_changelist",
        query={"status__exact": CorrectionStatus.PENDING},
        order=20,
    )
)
count_register(
    HomeCount(
        key="lookup_bursts",
        label=gettext_lazy("Look-up bursts not yet acknowledged"),
        permission="access_log.view",
        count=lookup_bursts_open_count,
        changelist="console:identity_lookupalert_changelist",
        query={"acknowledged_at__isempty": "1"},
        order=60,
    )
)
count_register(
    HomeCount(
        key="access_log_verification",
        label=gettext_lazy("Access-log problems found by the last check"),
        permission="access_log.view",
        count=_verification_problems,
        changelist="console:identity_accesslogentry_changelist",
        order=70,
        note=_verification_note,
    )
)
