"""Re-verification campaigns: definition, preview, set-wise planning, state.

Planning never loads lines into Python: the criteria become one queryset,
whose SELECT is wrapped in ``INSERT … SELECT`` and run over keyset ranges of
line ids, each range its own transaction. Running it again adds nothing twice
(lines already planned are left out, and the unique constraint per campaign
and line backs that with ``ON CONFLICT DO NOTHING`` when two runs overlap),
and a line already waiting in another live campaign is left out.

Notices, reminders, expiry and the subscriber's pages build on this (issue 5).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Value,
)
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from config.api import DomainError, InvalidInput
from config.celery import enqueue, task_named
from identity import services as identity_services
from identity.models import VerificationStatus
from notices import channels
from operators.models import Operator
from registration import portrait_check
from registration.models import Line, LineKind, LineStatus
from registration.selectors import line_holder_is

from . import dispatch, risk, stays
from .models import (
    BatchState,
    Campaign,
    CampaignAction,
    CampaignEvent,
    CampaignState,
    Delivery,
    DeliveryState,
    DispatchBatch,
    NoticeKind,
    RequestState,
    ReverificationRequest,
    StandingPurpose,
    default_campaign_reminders,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# The channels a campaign may name: every one registered in notices.channels
# (read again by each check; this tuple bounds the API's list).
CHANNELS = channels.names()
PLAN_CAMPAIGN = "registration.tasks.plan_campaign"
LIVE_STATES = (CampaignState.PLANNING, CampaignState.RUNNING, CampaignState.PAUSED)


class CampaignInvalid(DomainError):
    code = "invalid"
    message = _("Some fields are not valid.")


# What was refused, as people read it (the message names no code).
STATE_CONFLICT_ACTIONS = {
    "launched": pgettext_lazy("campaign action refused", "launched"),
    "paused": pgettext_lazy("campaign action refused", "paused"),
    "resumed": pgettext_lazy("campaign action refused", "resumed"),
    "closed": pgettext_lazy("campaign action refused", "closed"),
    "edited": pgettext_lazy("campaign action refused", "edited"),
    "planned": pgettext_lazy("campaign action refused", "planned"),
}


class CampaignStateConflict(DomainError):
    code = "campaign_state"

    def __init__(self, campaign: Campaign, action: str) -> None:
        super().__init__(
            gettext("A %(state)s campaign cannot be %(action)s.")
            % {
                "state": campaign.get_state_display(),
                "action": STATE_CONFLICT_ACTIONS.get(action, action),
            }
        )


@dataclass(frozen=True)
class CampaignInput:
    name: str
    criteria: dict[str, Any]
    deadline: dt.date
    reminder_days: list[int]
    channels: list[str]
    notice_text_zh: str = ""
    notice_text_en: str = ""


# --- Bounds on campaign input -----------------------------------------------------------
# Every number and date a person types is bounded here, so that nothing stored
# can later overflow a date computation in the cycle, a preview or a page.

REMINDER_DAYS_MAX = 365
REMINDER_DAYS_COUNT_MAX = 10
OLDER_THAN_DAYS_MAX = 36_500
DEADLINE_HORIZON_DAYS = 730
EARLIEST_REGISTERED_BEFORE = dt.date(1970, 1, 1)
CRITERIA_LIST_MAX = 500
CODE_MAX_LENGTH = 32
DOCUMENT_EXPIRING_DAYS_MAX = 3650
CRITERIA_KEYS = (
    "line_kind",
    "holder_verification",
    "registered_before",
    "stores",
    "regions",
    "document_expiring_within_days",
    "registered_within_days",
    # Issue 15: "without_user" / "with_user" (an organisation's lines), "any".
    "organisation_lines",
)
ORGANISATION_LINE_CHOICES = ("without_user", "with_user", "any")


def days_before(moment: dt.datetime, days: Any) -> dt.datetime:
    """``moment`` less ``days`` days, clamped to the earliest representable
    time: a count stored before input was bounded never raises OverflowError."""
    earliest = dt.datetime.min.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    try:
        return max(moment - dt.timedelta(days=int(days)), earliest)
    except (OverflowError, TypeError, ValueError):
        return earliest


def _is_int(value: Any) -> bool:
    """A whole number, and not a boolean (``True`` is an ``int`` in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _has_nul(value: Any, *, depth: int = 0) -> bool:
    """Whether a NUL character hides anywhere in a JSON value (PostgreSQL's
    jsonb and text refuse it); values nested deeper than criteria ever are count
    as bad too."""
    if depth > 4:
        return True
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(
            _has_nul(k, depth=depth + 1) or _has_nul(v, depth=depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_nul(v, depth=depth + 1) for v in value)
    return False


def deadline_check(deadline: Any, *, today: dt.date | None = None) -> str | None:
    """Why ``deadline`` cannot be a campaign's or a request's deadline, or None."""
    today = today or timezone.localdate()
    if not isinstance(deadline, dt.date) or isinstance(deadline, dt.datetime):
        return gettext("A date, YYYY-MM-DD.")
    if deadline <= today:
        return gettext("The deadline must be in the future.")
    if (deadline - today).days > DEADLINE_HORIZON_DAYS:
        return gettext("The deadline must be within %(days)s days from today.") % {
            "days": DEADLINE_HORIZON_DAYS
        }
    return None


def reminder_days_check(days: Any) -> str | None:
    """Why ``days`` is not a list of reminder days, or None."""
    if (
        not isinstance(days, list | tuple)
        or not days
        or len(days) > REMINDER_DAYS_COUNT_MAX
        or not all(_is_int(d) and 1 <= d <= REMINDER_DAYS_MAX for d in days)
        or len(set(days)) != len(days)
    ):
        return gettext(
            "Up to %(count)s different whole days before the deadline, each from 1 to "
            "%(max)s, e.g. [14, 7, 2]."
        ) % {"count": REMINDER_DAYS_COUNT_MAX, "max": REMINDER_DAYS_MAX}
    return None


def _criterion_field(key: Any) -> str:
    """The error field for a criteria key: named when it is a short clean word,
    else just ``criteria`` (a hostile key is never echoed back)."""
    if isinstance(key, str) and key.isidentifier() and len(key) <= 40:
        return f"criteria.{key}"
    return "criteria"


def _codes_check(value: Any) -> str | None:
    if (
        not isinstance(value, list)
        or len(value) > CRITERIA_LIST_MAX
        or not all(isinstance(v, str) and 0 < len(v) <= CODE_MAX_LENGTH for v in value)
        or _has_nul(value)
    ):
        return gettext("A list of up to %(count)s codes.") % {"count": CRITERIA_LIST_MAX}
    return None


def criteria_validate(criteria: Any, *, operator: Operator) -> dict[str, Any]:
    """Normalised criteria, or CampaignInvalid naming each bad key.

    Every value is bounded (days, dates, list lengths) and free of NUL
    characters, so that what is stored can be planned, previewed and cycled
    without an overflow or a database error."""
    if not isinstance(criteria, dict):
        raise CampaignInvalid(fields={"criteria": [gettext("An object of criteria.")]})
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in criteria:
        if key not in CRITERIA_KEYS:
            errors.setdefault(_criterion_field(key), []).append(gettext("Unknown criterion."))
    kind = criteria.get("line_kind", "any")
    if not isinstance(kind, str) or kind not in (*LineKind.values, "any"):
        errors["criteria.line_kind"] = [gettext("mobile, landline or any.")]
    out["line_kind"] = kind
    verification = criteria.get("holder_verification", "any")
    if isinstance(verification, dict):
        days = verification.get("older_than_days")
        if (
            set(verification) != {"older_than_days"}
            or not _is_int(days)
            or not 1 <= days <= OLDER_THAN_DAYS_MAX
        ):
            errors["criteria.holder_verification"] = [
                gettext('{"older_than_days": N} with N a whole number from 1 to %(max)s.')
                % {"max": OLDER_THAN_DAYS_MAX}
            ]
    elif not isinstance(verification, str) or verification not in ("never", "failed", "any"):
        errors["criteria.holder_verification"] = [
            gettext('never, failed, any or {"older_than_days": N}.')
        ]
    out["holder_verification"] = verification
    if "registered_before" in criteria:
        value = criteria["registered_before"]
        latest = timezone.localdate() + dt.timedelta(days=DEADLINE_HORIZON_DAYS)
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError(value)
            day = dt.date.fromisoformat(value)
        except ValueError:
            errors["criteria.registered_before"] = [gettext("A date, YYYY-MM-DD.")]
        else:
            if not EARLIEST_REGISTERED_BEFORE <= day <= latest:
                errors["criteria.registered_before"] = [
                    gettext("A date from %(first)s to %(last)s.")
                    % {"first": EARLIEST_REGISTERED_BEFORE.isoformat(), "last": latest.isoformat()}
                ]
            else:
                out["registered_before"] = day
    if "document_expiring_within_days" in criteria:
        days = criteria["document_expiring_within_days"]
        if not _is_int(days) or not 0 <= days <= DOCUMENT_EXPIRING_DAYS_MAX:
            errors["criteria.document_expiring_within_days"] = [
                gettext("A whole number of days from 0 to %(max)s.")
                % {"max": DOCUMENT_EXPIRING_DAYS_MAX}
            ]
        else:
            out["document_expiring_within_days"] = days
    if "registered_within_days" in criteria:
        days = criteria["registered_within_days"]
        if not _is_int(days) or not 1 <= days <= OLDER_THAN_DAYS_MAX:
            errors["criteria.registered_within_days"] = [
                gettext("A whole number of days from 1 to %(max)s.") % {"max": OLDER_THAN_DAYS_MAX}
            ]
        else:
            out["registered_within_days"] = days
    if "organisation_lines" in criteria:
        value = criteria["organisation_lines"]
        if not isinstance(value, str) or value not in ORGANISATION_LINE_CHOICES:
            errors["criteria.organisation_lines"] = [gettext("without_user, with_user or any.")]
        elif value != "any":
            out["organisation_lines"] = value
    for key in ("stores", "regions"):
        if key in criteria:
            if reason := _codes_check(criteria[key]):
                errors[f"criteria.{key}"] = [reason]
            else:
                out[key] = sorted(set(criteria[key]))
    if "stores" in out and "criteria.stores" not in errors:
        known = set(operator.stores.filter(code__in=out["stores"]).values_list("code", flat=True))
        if unknown := sorted(set(out["stores"]) - known):
            errors["criteria.stores"] = [
                gettext("Unknown store(s): %(codes)s.") % {"codes": ", ".join(unknown)}
            ]
    if errors:
        raise CampaignInvalid(fields=errors)
    if "registered_before" in out:
        out["registered_before"] = out["registered_before"].isoformat()
    return out


def matching_lines(
    campaign: Campaign,
    *,
    now: dt.datetime | None = None,
    ids: tuple[int, int] | None = None,
) -> QuerySet[Line]:
    """The lines a campaign's criteria select (open lines of its operator that
    are not already waiting in another live campaign); with ``ids=(low, high)``,
    only those with low < id ≤ high."""
    c = campaign.criteria
    qs = Line.objects.filter(operator_id=campaign.operator_id).exclude(status=LineStatus.CLOSED)
    # "Other than this one" is said of the campaigns, not of the requests: as
    # a filter on requests it would be applied only after reading this
    # campaign's own pending requests, every one of them for every range.
    others = Campaign.objects.filter(state__in=LIVE_STATES).exclude(pk=campaign.pk)
    waiting_elsewhere = ReverificationRequest.objects.filter(
        line=OuterRef("pk"), state=RequestState.PENDING, campaign_id__in=others.values("pk")
    )
    if ids is not None:
        low, high = ids
        qs = qs.filter(pk__gt=low, pk__lte=high)
        # The same range on the inner side: the planner does not carry a range
        # across the join, and without it each range of a planning run would
        # read every request pending elsewhere, not just its own lines'.
        waiting_elsewhere = waiting_elsewhere.filter(line_id__gt=low, line_id__lte=high)
    if c.get("line_kind", "any") != "any":
        qs = qs.filter(kind=c["line_kind"])
    verification = c.get("holder_verification", "any")
    if verification == "never":
        qs = qs.filter(holder__verification_status=VerificationStatus.NEVER)
    elif verification == "failed":
        qs = qs.filter(holder__verification_status=VerificationStatus.FAILED)
    elif isinstance(verification, dict):
        cutoff = days_before(now or timezone.now(), verification["older_than_days"])
        qs = qs.filter(Q(holder__verified_at__isnull=True) | Q(holder__verified_at__lt=cutoff))
    if c.get("organisation_lines") in ("without_user", "with_user"):
        qs = qs.filter(
            organisation__isnull=False, user__isnull=c["organisation_lines"] == "without_user"
        )
    if c.get("registered_before"):
        before = dt.datetime.combine(
            dt.date.fromisoformat(c["registered_before"]), dt.time.min, tzinfo=dt.UTC
        )
        qs = qs.filter(registered_at__lt=before)
    if _is_int(c.get("registered_within_days")):
        # Lines opened in the last N days (a blacklisted store's, for one).
        qs = qs.filter(
            registered_at__gte=days_before(now or timezone.now(), c["registered_within_days"])
        )
    if _is_int(c.get("document_expiring_within_days")):
        # The holder's document expires within N days of today (or has expired).
        today = timezone.localtime(now or timezone.now()).date()
        try:
            cutoff = today + dt.timedelta(days=c["document_expiring_within_days"])
        except OverflowError:
            cutoff = dt.date.max
        qs = qs.filter(holder__id_expires_on__lte=cutoff)
    if c.get("stores"):
        qs = qs.filter(store__code__in=c["stores"])
    if c.get("regions"):
        qs = qs.filter(store__region_code__in=c["regions"])
    return qs.filter(~Exists(waiting_elsewhere))


def campaign_input_check(*, operator: Operator, data: CampaignInput) -> dict[str, Any]:
    """The normalised criteria of a campaign definition, or CampaignInvalid
    naming every bad field (the API and the console both use this)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data.name, str) or not data.name.strip() or "\x00" in data.name:
        errors["name"] = [gettext("A name is required.")]
    elif len(data.name.strip()) > 120:
        errors["name"] = [gettext("At most 120 characters.")]
    if reason := deadline_check(data.deadline):
        errors["deadline"] = [reason]
    if reason := reminder_days_check(data.reminder_days):
        errors["reminder_days"] = [reason]
    known = channels.names()
    if (
        not isinstance(data.channels, list | tuple)
        or not data.channels
        or len(data.channels) > len(known)
        or any(not isinstance(ch, str) or ch not in known for ch in data.channels)
    ):
        errors["channels"] = [
            gettext("In order of preference, from: %(channels)s.") % {"channels": ", ".join(known)}
        ]
    for name in ("notice_text_zh", "notice_text_en"):
        if _has_nul(getattr(data, name)):
            errors[name] = [gettext("Text without NUL characters.")]
    try:
        criteria = criteria_validate(data.criteria, operator=operator)
    except CampaignInvalid as exc:
        errors.update(exc.fields)
        criteria = {}
    if errors:
        raise CampaignInvalid(fields=errors)
    return criteria


@transaction.atomic
def campaign_create(
    *, operator: Operator, data: CampaignInput, actor: AbstractBaseUser | None
) -> Campaign:
    """A draft campaign; nothing is planned or sent until it is launched."""
    criteria = campaign_input_check(operator=operator, data=data)
    return Campaign.objects.create(
        operator=operator,
        name=data.name.strip(),
        criteria=criteria,
        deadline=data.deadline,
        reminder_days=sorted(set(data.reminder_days), reverse=True),
        channels=list(dict.fromkeys(data.channels)),
        notice_text_zh=data.notice_text_zh,
        notice_text_en=data.notice_text_en,
        created_by=actor,
    )


@transaction.atomic
def campaign_update_draft(*, campaign: Campaign, data: CampaignInput) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != CampaignState.DRAFT:
        raise CampaignStateConflict(campaign, "edited")
    criteria = campaign_input_check(operator=campaign.operator, data=data)
    for name, value in (
        ("name", data.name.strip()),
        ("criteria", criteria),
        ("deadline", data.deadline),
        ("reminder_days", sorted(set(data.reminder_days), reverse=True)),
        ("channels", list(dict.fromkeys(data.channels))),
        ("notice_text_zh", data.notice_text_zh),
        ("notice_text_en", data.notice_text_en),
    ):
        setattr(campaign, name, value)
    campaign.save()
    return campaign


def campaign_preview(*, campaign: Campaign) -> int:
    """How many lines would be asked, before launching."""
    return matching_lines(campaign).count()


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor: AbstractBaseUser | None) -> Campaign:
    """Draft → planning; the planning task creates the requests, then running.
    Idempotent for a campaign already launched."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state in LIVE_STATES:
        return campaign
    if campaign.state != CampaignState.DRAFT:
        raise CampaignStateConflict(campaign, "launched")
    campaign.state = CampaignState.PLANNING
    campaign.launched_at = timezone.now()
    campaign.save(update_fields=["state", "launched_at"])
    campaign_event_record(
        campaign=campaign, action=CampaignAction.LAUNCH, from_state=CampaignState.DRAFT, actor=actor
    )

    transaction.on_commit(
        lambda: enqueue(task_named(PLAN_CAMPAIGN), campaign.pk, queue="campaigns")
    )
    return campaign


def store_blacklisted(store, actor, now: dt.datetime) -> Campaign:
    """Open and launch a re-verification campaign on the lines a blacklisted
    store opened in the last ``TELEREG_BLACKLIST_LOOKBACK_DAYS`` days (criteria
    ``stores`` and ``registered_within_days``), with the operator's response
    days. Registered in operators' store-blacklisted hook; runs inside the
    blacklisting's transaction, so both commit or neither."""
    operator = store.operator
    days = settings.TELEREG_BLACKLIST_LOOKBACK_DAYS
    campaign = campaign_create(
        operator=operator,
        data=CampaignInput(
            name=gettext("Blacklisted store %(code)s") % {"code": store.code},
            criteria={"stores": [store.code], "registered_within_days": days},
            deadline=timezone.localtime(now).date()
            + dt.timedelta(days=operator.reverification_response_days),
            reminder_days=[
                d for d in default_campaign_reminders() if d < operator.reverification_response_days
            ],
            channels=[settings.TELEREG_ALERT_CHANNEL],
        ),
        actor=actor,
    )
    return campaign_launch(campaign=campaign, actor=actor)


def campaign_plan(
    *,
    campaign: Campaign,
    chunk_size: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create one request per matching line, set-wise in the database, in
    keyset-ordered ranges of line ids, each range its own transaction. Safe to
    run again, also concurrently with itself: a line gets at most one request
    per campaign. Returns the number of requests the campaign has afterwards.

    Where the time goes (PostgreSQL, 100,000 lines): about a third is the
    INSERT itself, as fast as a bare INSERT … SELECT into a copy of the table;
    the rest is the row-level checks of the foreign keys (campaign, line,
    person, operator), run at each range's commit, which no form of the
    statement avoids. The anti-join on other live campaigns costs next to
    nothing when none of them has requests pending in the range (one probe of
    an empty index range), so there is no separate fast path for that case:
    checking once up front would save nothing measurable and would open a
    window in which another campaign going live meanwhile is not seen.
    Ranges of 50,000 ids: 20,000 cost about 2 % more over a million lines (a
    plan and a commit per range), 100,000 no less, and a shorter transaction
    holds fewer queued key checks and loses less work when interrupted."""
    campaign = Campaign.objects.get(pk=campaign.pk)
    if campaign.state not in (CampaignState.PLANNING, CampaignState.RUNNING):
        raise CampaignStateConflict(campaign, "planned")
    now = timezone.now()
    bounds = Line.objects.filter(operator_id=campaign.operator_id).order_by("pk")
    first = bounds.values_list("pk", flat=True).first()
    last = bounds.reverse().values_list("pk", flat=True).first()
    if first is not None:
        low = first - 1
        while low < last:
            high = low + chunk_size
            _plan_range(campaign, now=now, low=low, high=high)
            low = high
            if progress:
                progress(low)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        # A count, not the sum of the inserts' row counts: it stays exact when
        # a run resumes an interrupted one or two runs overlap, for under 1 %
        # of the run (about 15 ms per 100,000 requests).
        campaign.planned_count = campaign.requests.count()
        if campaign.state == CampaignState.PLANNING:
            campaign.state = CampaignState.RUNNING
        campaign.save(update_fields=["planned_count", "state"])
    logger.info("campaign %s planned: %s requests", campaign.pk, campaign.planned_count)
    return campaign.planned_count


_REQUEST_COLUMNS = (
    "campaign_id",
    "line_id",
    "person_id",
    "operator_id",
    "state",
    "deadline",
    "created_at",
)


def _planned_already(campaign: Campaign, *, low: int, high: int) -> QuerySet[ReverificationRequest]:
    """The campaign's request for the outer line, looked for only among lines
    low < id ≤ high so that a resumed run reads one range's requests at a time."""
    return ReverificationRequest.objects.filter(
        campaign_id=campaign.pk, line=OuterRef("pk"), line_id__gt=low, line_id__lte=high
    )


def _plan_range(campaign: Campaign, *, now: dt.datetime, low: int, high: int) -> int:
    """Insert the requests of the matching lines with low < id ≤ high; the
    number inserted.

    Lines this campaign already has a request for are left out by an anti-join
    rather than by ON CONFLICT DO NOTHING: a speculative insertion costs about
    a fifth more per row than a plain one. The anti-join only sees what was
    committed when the statement began, so if another run of the same
    campaign commits some of these lines meanwhile, the unique constraint
    (campaign, line) refuses the insert; the range is then done again with
    ON CONFLICT DO NOTHING, which waits for and skips those rows."""
    select = (
        matching_lines(campaign, now=now, ids=(low, high))
        .filter(~Exists(_planned_already(campaign, low=low, high=high)))
        .annotate(
            _campaign=Value(campaign.pk, output_field=IntegerField()),
            _state=Value(RequestState.PENDING, output_field=CharField()),
            _deadline=Value(campaign.deadline, output_field=DateField()),
            _created=Value(now, output_field=DateTimeField()),
        )
        .order_by()
        .values_list(
            "_campaign", "pk", "holder_id", "operator_id", "_state", "_deadline", "_created"
        )
    )
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(ReverificationRequest._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _REQUEST_COLUMNS)
    insert = f"INSERT INTO {table} ({columns}) {sql}"  # noqa: S608
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _index_probes_only(cursor)
            cursor.execute(insert, params)
            return cursor.rowcount
    except IntegrityError:
        logger.info("campaign %s: lines %s-%s planned concurrently", campaign.pk, low + 1, high)
    with transaction.atomic(), connection.cursor() as cursor:
        _index_probes_only(cursor)
        cursor.execute(f"{insert} ON CONFLICT (campaign_id, line_id) DO NOTHING", params)
        return cursor.rowcount


def _index_probes_only(cursor) -> None:
    """PostgreSQL, for this range's transaction only: no sequential scans.

    The anti-joins probe the request table the statement is inserting into.
    While its statistics still say it is empty (a first campaign, or the
    first ranges of a big one) the planner answers them with a nested loop
    over a sequential scan, which reads every row this very statement has
    already inserted, once per line: quadratic (100,000 lines took 15 s
    instead of 2.5 s). Every probe here has an index: (campaign, line) and
    (line, state) on requests, primary keys on lines, persons and stores."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL enable_seqscan = off")


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor: AbstractBaseUser | None) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state == CampaignState.PAUSED:
        return campaign
    if campaign.state != CampaignState.RUNNING:
        raise CampaignStateConflict(campaign, "paused")
    campaign.state = CampaignState.PAUSED
    campaign.save(update_fields=["state"])
    campaign_event_record(
        campaign=campaign,
        action=CampaignAction.PAUSE,
        from_state=CampaignState.RUNNING,
        actor=actor,
    )
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor: AbstractBaseUser | None) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state == CampaignState.RUNNING:
        return campaign
    if campaign.state != CampaignState.PAUSED:
        raise CampaignStateConflict(campaign, "resumed")
    campaign.state = CampaignState.RUNNING
    campaign.save(update_fields=["state"])
    campaign_event_record(
        campaign=campaign,
        action=CampaignAction.RESUME,
        from_state=CampaignState.PAUSED,
        actor=actor,
    )

    waiting = list(campaign.batches.filter(state=BatchState.QUEUED).values_list("pk", flat=True))
    transaction.on_commit(lambda: dispatch.batches_enqueue(waiting))
    return campaign


@transaction.atomic
def campaign_close(*, campaign: Campaign, actor: AbstractBaseUser | None) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state == CampaignState.FINISHED:
        return campaign
    if campaign.state == CampaignState.DRAFT:
        raise CampaignStateConflict(campaign, "closed")
    was = campaign.state
    campaign.state = CampaignState.FINISHED
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["state", "finished_at"])
    campaign.requests.filter(state=RequestState.PENDING).update(state=RequestState.CANCELLED)
    campaign_event_record(
        campaign=campaign, action=CampaignAction.CLOSE, from_state=was, actor=actor
    )
    return campaign


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    by_state = dict(campaign.requests.order_by().values_list("state").annotate(n=Count("pk")))

    last_minute = Delivery.objects.filter(
        request__campaign=campaign,
        state=DeliveryState.SENT,
        sent_at__gte=timezone.now() - dt.timedelta(seconds=60),
    ).count()
    return {
        "requests": sum(by_state.values()),
        "by_state": by_state,
        "deliveries": dispatch.delivery_progress(campaign),
        "send_rate_per_second": round(last_minute / 60, 2),
    }


# --- The subscriber's answer ---------------------------------------------------------

MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = dt.timedelta(hours=1)


class AnswerRefused(DomainError):
    code = "answer_refused"
    message = _("The details do not match our records for this line.")


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    message = _("Too many wrong answers. Try again in an hour, or visit one of our stores.")


class AuthorityUnavailable(DomainError):
    code = "authority_unavailable"
    message = _("We cannot confirm identities right now. Nothing was changed; try again later.")


class RequestClosed(DomainError):
    code = "request_closed"
    message = _("This request is closed: nothing more is needed.")


class PortraitReviewNeeded(DomainError):
    code = "portrait_review_required"
    message = _(
        "This portrait needs a second person's review, which a re-verification at the"
        " counter cannot wait for. Nothing was changed."
    )


class PortraitUnavailable(DomainError):
    code = "portrait_unavailable"
    message = _("We cannot compare portraits right now. Nothing was changed; try again later.")


def _portrait_gate(operator, identity, portrait: portrait_check.CleanPortrait | None):
    """The portrait check of an in-store re-verification (outside any database
    transaction): None without a portrait (policy ``off``), the PASS decision,
    or an error that leaves everything as it was: a mismatch (score below the
    refuse threshold, liveness failed) is 409 ``portrait_mismatch``; the review
    zone (between the thresholds, ``not_checked``, an exception, no reference)
    is 409 ``portrait_review_required``; an unreachable matcher, 503."""
    if portrait is None:
        return None
    checked = portrait_check.portrait_check(operator, identity, portrait)
    if checked.decision is portrait_check.Decision.REFUSE:
        logger.info("in-store re-verification: portrait refused (%s)", checked.cause)
        raise portrait_check.PortraitMismatch()
    if checked.decision is portrait_check.Decision.WAIT:
        raise PortraitUnavailable()
    if checked.decision is portrait_check.Decision.REVIEW:
        logger.info("in-store re-verification: portrait needs review (%s)", checked.cause)
        raise PortraitReviewNeeded()
    return checked


def _portrait_keep(operator, person, portrait, checked, now) -> None:
    """Store a passed portrait under the person's key (inside the caller's
    transaction), kept for the operator's retention of portraits."""
    if portrait is None or checked is None:
        return
    identity_services.portrait_record(
        person=person,
        image=portrait.image,
        liveness=portrait.liveness,
        reference=checked.reference,
        keep_until=portrait_check.keep_until(operator, now),
    )


def link_expired(request: ReverificationRequest, *, now: dt.datetime | None = None) -> bool:
    """A link works until TELEREG_LINK_GRACE_DAYS after the request's deadline."""
    today = timezone.localtime(now or timezone.now()).date()
    # Days between, not date + grace: a deadline stored near date.max (from
    # before deadlines were bounded) must not overflow.
    return (today - request.deadline).days > settings.TELEREG_LINK_GRACE_DAYS


def _count_failure(request_id: int, now: dt.datetime) -> None:
    with transaction.atomic():
        req = ReverificationRequest.objects.select_for_update().get(pk=request_id)
        if req.last_attempt_at and now - req.last_attempt_at > ATTEMPT_WINDOW:
            req.failed_attempts = 0
        req.failed_attempts += 1
        req.last_attempt_at = now
        req.save(update_fields=["failed_attempts", "last_attempt_at"])


def request_answer(
    *,
    request: ReverificationRequest,
    identity,
    consent,
    channel: str = "self_service",
    actor: AbstractBaseUser | None = None,
    store=None,
    now: dt.datetime | None = None,
    portrait: portrait_check.PortraitInput | None = None,
) -> ReverificationRequest:
    """A subscriber (or a clerk in store) answers a re-verification request.

    The identity must be the line's registered holder and confirmed by the
    authority; then the request is verified and a barred or suspended line is
    active again at once. Wrong answers are counted and throttled and change
    nothing else (the holder's status included); an unreachable authority
    changes nothing and costs no attempt. A matched answer that differs from
    a verified holder's name, birth date, sex or nationality is refused
    (IdentityMismatch) and changes nothing either.

    In store (``channel`` ``store``), the operator's portrait policy applies
    (registration.portrait_check): ``portrait`` is required with ``required``,
    cleaned before anything is asked, compared after the authority matched;
    a refused or undecided portrait changes nothing (_portrait_gate)."""

    now = now or timezone.now()
    request = ReverificationRequest.objects.select_related("person", "line", "operator").get(
        pk=request.pk
    )
    clean = (
        portrait_check.portrait_prepare_for_holder(request.operator, portrait)
        if channel == "store"
        else None
    )
    if request.state not in (RequestState.PENDING, RequestState.EXPIRED) or link_expired(
        request, now=now
    ):
        raise RequestClosed()
    recent = request.last_attempt_at and now - request.last_attempt_at <= ATTEMPT_WINDOW
    if recent and request.failed_attempts >= MAX_FAILED_ATTEMPTS:
        raise TooManyAttempts()
    risk.answer_channel_check(request=request, channel=channel)
    normalised = identity_services.identity_validate(operator=request.operator, identity=identity)
    if not line_holder_is(line=request.line, identity=normalised):
        _count_failure(request.pk, now)
        raise AnswerRefused()
    result = identity_services.authority_verify(
        operator=request.operator, identity=normalised, actor=actor, store=store, party="holder"
    )
    if not result.is_definitive:
        raise AuthorityUnavailable()
    if not result.is_match:
        # Anyone holding the link can type the holder's document number: a
        # wrong answer is an attempt on this request, not news about the
        # holder, whose status changes only when they verify.
        _count_failure(request.pk, now)
        raise AnswerRefused()
    checked = _portrait_gate(request.operator, normalised, clean)
    with transaction.atomic():
        person = identity_services.person_register(
            operator=request.operator,
            identity=normalised,
            consent=consent,
            channel=channel,
            actor=actor,
            store=store,
            verification=result,
        )
        _portrait_keep(request.operator, person, clean, checked, now)
        req = ReverificationRequest.objects.select_for_update().get(pk=request.pk)
        req.state = RequestState.VERIFIED
        req.verified_at = now
        req.save(update_fields=["state", "verified_at"])
        Line.objects.filter(
            pk=req.line_id, status__in=[LineStatus.BARRED_OUTGOING, LineStatus.SUSPENDED]
        ).update(status=LineStatus.ACTIVE, status_reason="reverified", status_changed_at=now)
        risk.request_verified(request_id=req.pk, now=now)
    return req


def line_stay_renew(
    *,
    line: Line,
    identity,
    consent,
    stay_until: dt.date | None,
    actor: AbstractBaseUser | None,
    store=None,
    now: dt.datetime | None = None,
    portrait: portrait_check.PortraitInput | None = None,
) -> Line:
    """A clerk gives a visitor's line a later end of stay, after checking the
    holder in person: the same rules as an answer (registered holder,
    confirmed by the authority, consent), then the line keeps the new date
    and, barred because its stay ended, is active again. A bad date is
    refused (400 on ``stay_until``) before anything is asked or written."""
    now = now or timezone.now()
    if reason := stays.stay_problem(line, stay_until, today=timezone.localtime(now).date()):
        raise InvalidInput(fields={"stay_until": [reason]})
    clean = portrait_check.portrait_prepare_for_holder(line.operator, portrait)
    normalised = identity_services.identity_validate(operator=line.operator, identity=identity)
    if not line_holder_is(line=line, identity=normalised):
        raise AnswerRefused()
    result = identity_services.authority_verify(
        operator=line.operator, identity=normalised, actor=actor, store=store, party="holder"
    )
    if not result.is_definitive:
        raise AuthorityUnavailable()
    if not result.is_match:
        raise AnswerRefused()
    if normalised.id_expiry is not None and stay_until > normalised.id_expiry:
        raise InvalidInput(
            fields={
                "stay_until": [gettext("The end of stay cannot be after the passport expires.")]
            }
        )
    checked = _portrait_gate(line.operator, normalised, clean)
    with transaction.atomic():
        person = identity_services.person_register(
            operator=line.operator,
            identity=normalised,
            consent=consent,
            channel="store",
            actor=actor,
            store=store,
            verification=result,
        )
        _portrait_keep(line.operator, person, clean, checked, now)
        locked = Line.objects.select_for_update().get(pk=line.pk)
        locked.stay_until = stay_until
        fields = ["stay_until", "updated_at"]
        if locked.status_reason == stays.STAY_ENDED and locked.status == LineStatus.BARRED_OUTGOING:
            locked.status = LineStatus.ACTIVE
            locked.status_reason = "reverified"
            locked.status_changed_at = now
            fields += ["status", "status_reason", "status_changed_at"]
        locked.save(update_fields=fields)
    return locked


@transaction.atomic
def request_extend(
    *,
    request: ReverificationRequest,
    deadline: dt.date,
    reason: str,
    actor: AbstractBaseUser | None,
) -> ReverificationRequest:
    """Grant a subscriber more time (illness, travel abroad). An expired request
    waits again and its line, barred for this request, is active again."""
    req = ReverificationRequest.objects.select_for_update().get(pk=request.pk)
    if req.state not in (RequestState.PENDING, RequestState.EXPIRED):
        raise RequestClosed()
    errors = {}
    if reason_text := deadline_check(deadline):
        errors["deadline"] = [reason_text]
    elif deadline <= req.deadline:
        errors["deadline"] = [
            gettext("The new deadline must be later than the current one and today.")
        ]
    if not isinstance(reason, str) or len(reason.strip()) < 3 or "\x00" in reason:
        errors["reason"] = [gettext("Say why the extension is granted.")]
    if errors:
        raise CampaignInvalid(fields=errors)
    was_expired = req.state == RequestState.EXPIRED
    was = req.state
    req.deadline = deadline
    req.state = RequestState.PENDING
    req.expired_at = None
    req.extension_reason = reason.strip()[:200]
    req.extended_by = actor
    req.save()
    request_extend_record(request=req, from_state=was, actor=actor)
    if was_expired:
        Line.objects.filter(
            pk=req.line_id,
            status__in=[LineStatus.BARRED_OUTGOING, LineStatus.SUSPENDED],
            status_reason="reverification_expired",
        ).update(
            status=LineStatus.ACTIVE, status_reason="extension", status_changed_at=timezone.now()
        )
    return req


def campaign_event_record(
    *,
    campaign: Campaign,
    action: str,
    from_state: str,
    actor: AbstractBaseUser | None,
    to_state: str | None = None,
    request: ReverificationRequest | None = None,
    note: str = "",
) -> CampaignEvent:
    """Record who changed a campaign (or one of its requests), from which state
    to which, in the caller's transaction: the change and its record commit
    together or not at all. ``to_state`` defaults to the campaign's state now;
    ``actor`` None is the system."""
    return CampaignEvent.objects.create(
        campaign=campaign,
        request=request,
        action=action,
        from_state=from_state,
        to_state=to_state if to_state is not None else campaign.state,
        actor=actor,
        actor_label=actor.get_username() if actor else "system",
        note=note[:300],
        at=timezone.now(),
    )


def request_extend_record(
    *, request: ReverificationRequest, from_state: str, actor: AbstractBaseUser | None
) -> CampaignEvent:
    """The event of an extension: on the request's campaign, naming the request
    by id and its new deadline (the reason, which may describe the person,
    stays on the request)."""
    return campaign_event_record(
        campaign=request.campaign,
        action=CampaignAction.EXTEND,
        from_state=from_state,
        to_state=request.state,
        request=request,
        actor=actor,
        note=gettext("request #%(id)s until %(deadline)s")
        % {"id": request.pk, "deadline": request.deadline.isoformat()},
    )


# --- Time: expiry, staged suspension ----------------------------------------------------


@dataclass(frozen=True)
class CycleResult:
    expired: int
    barred: int
    suspended: int
    batches: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()  # campaigns whose step failed (see Campaign.cycle_error)
    stays_ended: int = 0  # visitors' lines barred today (stay_ended)
    stay_reminders: int = 0
    documents_asked: int = 0  # requests opened for expiring documents

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CycleResult):
            return NotImplemented
        return (self.expired, self.barred, self.suspended) == (
            other.expired,
            other.barred,
            other.suspended,
        )

    __hash__ = None  # type: ignore[assignment]


EXPIRY_BARRED, EXPIRY_SUSPENDED = 1, 2


# --- Documents that expire: one standing campaign per operator ---------------------------


def standing_campaign(*, operator: Operator, today: dt.date) -> Campaign:
    """The operator's "document expiring" campaign, created running on first
    need (one per operator: a unique constraint; two cycles racing to create
    it end with the same row)."""
    found = Campaign.objects.filter(
        operator=operator, standing=StandingPurpose.DOCUMENT_EXPIRING
    ).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Campaign.objects.create(
                operator=operator,
                standing=StandingPurpose.DOCUMENT_EXPIRING,
                name=str(StandingPurpose.DOCUMENT_EXPIRING.label),
                criteria={"document_expiring_within_days": operator.document_notice_days},
                # Each request has its own deadline; the campaign's is far off.
                deadline=today + dt.timedelta(days=DEADLINE_HORIZON_DAYS),
                reminder_days=[
                    d
                    for d in default_campaign_reminders()
                    if d < operator.reverification_response_days
                ],
                channels=[settings.TELEREG_ALERT_CHANNEL],
                state=CampaignState.RUNNING,
                launched_at=timezone.now(),
            )
    except IntegrityError:
        return Campaign.objects.get(operator=operator, standing=StandingPurpose.DOCUMENT_EXPIRING)


def _range_batch(campaign: Campaign, *, kind: str, stage: int, ids: list[int]) -> list[int]:
    """One queued batch over the id range of ``ids`` (a standing campaign's
    requests of one day): its requests come and go day by day, so a batch
    over all of them would start where an earlier one did and be taken for
    it. Requests in the range already told are not told again (a delivery is
    unique per request, kind and stage)."""
    if not ids:
        return []
    batch, _created = DispatchBatch.objects.get_or_create(
        campaign=campaign,
        kind=kind,
        stage=stage,
        first_request_id=min(ids),
        defaults={"last_request_id": max(ids)},
    )
    return [batch.pk] if batch.state == BatchState.QUEUED else []


def _standing_reminder_batches(campaign: Campaign, today: dt.date) -> list[int]:
    """A standing campaign's reminders due today: each day's requests (one
    deadline, one range of ids) get the latest stage due before it."""
    stages = sorted(d for d in campaign.reminder_days if _is_int(d) and d >= 1)
    if not stages or campaign.state != CampaignState.RUNNING:
        return []
    waiting = ReverificationRequest.objects.filter(
        campaign_id=campaign.pk,
        state=RequestState.PENDING,
        deadline__gte=today,
        deadline__lte=today + dt.timedelta(days=stages[-1]),
    )
    batch_ids: list[int] = []
    for deadline, created_at in waiting.order_by().values_list("deadline", "created_at").distinct():
        left = (deadline - today).days
        stage = min(d for d in stages if left <= d)
        ids = list(
            waiting.filter(deadline=deadline, created_at=created_at).values_list("pk", flat=True)
        )
        batch_ids += _range_batch(campaign, kind=NoticeKind.REMINDER, stage=stage, ids=ids)
    return batch_ids


def documents_expiring_open(*, now: dt.datetime, today: dt.date) -> tuple[int, list[int]]:
    """Open a request in the operator's standing campaign for every open line
    whose holder's document expires within the operator's notice period (or
    has expired) and which has no request waiting anywhere; returns (opened,
    the notice batches to publish). Running it again opens nothing new: a
    line with a waiting request is left out, and (campaign, line) is unique.
    Each operator is its own transaction."""
    opened, batch_ids = 0, []
    for operator in Operator.objects.order_by("pk"):
        cutoff = today + dt.timedelta(days=operator.document_notice_days)
        due = (
            Line.objects.filter(
                operator=operator,
                holder__id_expires_on__lte=cutoff,
                holder__shredded_at__isnull=True,
            )
            .exclude(status=LineStatus.CLOSED)
            .exclude(
                Exists(
                    ReverificationRequest.objects.filter(
                        line=OuterRef("pk"),
                        state__in=[RequestState.PENDING, RequestState.EXPIRED],
                    )
                )
            )
        )
        if not due.exists():
            continue
        with transaction.atomic():
            campaign = standing_campaign(operator=operator, today=today)
            if campaign.state not in LIVE_STATES:
                continue  # closed by a compliance officer: the operator asks no more
            deadline = today + dt.timedelta(days=operator.reverification_response_days)
            rows = ReverificationRequest.objects.bulk_create(
                [
                    ReverificationRequest(
                        campaign=campaign,
                        line_id=line_id,
                        person_id=holder_id,
                        operator=operator,
                        deadline=deadline,
                        created_at=now,
                    )
                    for line_id, holder_id in due.values_list("pk", "holder_id").order_by("pk")
                ],
                ignore_conflicts=True,
            )
            new = list(
                ReverificationRequest.objects.filter(
                    campaign=campaign, created_at=now, state=RequestState.PENDING
                ).values_list("pk", flat=True)
            )
            del rows
            if new:
                batch_ids += _range_batch(campaign, kind=NoticeKind.NOTICE, stage=0, ids=new)
                opened += len(new)
                Campaign.objects.filter(pk=campaign.pk).update(
                    planned_count=campaign.requests.count()
                )
    return opened, batch_ids


def _reminder_batches(campaign: Campaign, today: dt.date) -> list[int]:
    """Batches for the campaign's reminder due today (only the latest due
    stage, so a cycle that missed days does not send two reminders at once)."""

    if campaign.standing:
        return _standing_reminder_batches(campaign, today)
    if campaign.state != CampaignState.RUNNING:
        return []
    left = (campaign.deadline - today).days
    # Days left against each stage, not deadline - stage: no stored value can
    # overflow a date.
    # A stage outside the bounds can only be a value stored before they
    # existed; it is skipped rather than allowed to fail the campaign's step.
    due = [
        d
        for d in campaign.reminder_days
        if _is_int(d) and 1 <= d <= REMINDER_DAYS_MAX and left <= d
    ]
    if not due or left < 0:
        return []
    return dispatch.batches_create(campaign=campaign, kind=NoticeKind.REMINDER, stage=min(due))


def _campaign_expire(campaign: Campaign, *, now: dt.datetime, today: dt.date) -> tuple[int, int]:
    """Expire the campaign's requests past their deadline and bar their lines;
    (expired, barred)."""
    due = ReverificationRequest.objects.filter(
        campaign_id=campaign.pk, state=RequestState.PENDING, deadline__lt=today
    )
    line_ids = list(due.values_list("line_id", flat=True))
    if not line_ids:
        return 0, 0
    expired = due.update(state=RequestState.EXPIRED, expired_at=now)
    barred = Line.objects.filter(pk__in=line_ids, status=LineStatus.ACTIVE).update(
        status=LineStatus.BARRED_OUTGOING,
        status_reason="reverification_expired",
        status_changed_at=now,
    )
    return expired, barred


def _cycle_failed(campaign_ids: list[int], *, step: str, exc: BaseException, now: dt.datetime):
    """Record a failed step on the campaigns it concerns: the step and the
    error's type only (an error's message may quote stored values)."""
    text = f"{step}: {type(exc).__name__}"[:200]
    try:
        Campaign.objects.filter(pk__in=campaign_ids).update(cycle_error=text, cycle_failed_at=now)
    except Exception:
        # Recording must not stop the other campaigns either; the log has it.
        logger.exception("cycle: could not record the failure of campaigns %s", campaign_ids)


def _guarded(step: str, run: Callable[[], Any]) -> Any:
    """A step of the cycle that concerns no one campaign (visitors' stays,
    expiring documents): its failure is logged (the error's type, never data)
    and the cycle goes on with the campaigns; None then."""
    try:
        return run()
    except Exception:
        logger.exception("cycle: the %s step failed", step)
        return None


def reverification_cycle(*, now: dt.datetime | None = None) -> CycleResult:
    """Reminders due today are queued; requests past their deadline expire and
    their lines are barred from outgoing service; lines barred longer than the
    operator's grace period are suspended. First, visitors' lines whose stay
    ended are barred and those near it reminded (reverification.stays), and
    lines whose holder's document is about to expire get a request in their
    operator's standing campaign (:func:`documents_expiring_open`), so that
    the campaign steps below take those requests along. Idempotent: running
    it twice at the same time changes nothing.

    Each campaign, then each operator's suspensions, is its own transaction:
    one that fails is rolled back alone, its error recorded on the campaign
    rows (``cycle_error``, ``cycle_failed_at``, cleared by the next run that
    succeeds) and logged, and the others go on."""

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    batch_ids: list[int] = []
    expired = barred = suspended = 0
    failed: set[int] = set()
    stay = _guarded("stays", lambda: stays.stays_cycle(now=now, today=today))
    documents = _guarded("documents", lambda: documents_expiring_open(now=now, today=today))
    documents_asked, document_batches = documents or (0, [])
    batch_ids += document_batches
    live = Campaign.objects.filter(state__in=[CampaignState.RUNNING, CampaignState.PAUSED])
    for campaign in live.order_by("pk"):
        step = "reminders"
        try:
            with transaction.atomic():
                campaign_batches = _reminder_batches(campaign, today)
                step = "expiry"
                done, bars = _campaign_expire(campaign, now=now, today=today)
                step = "expiry notices"
                if done and campaign.state == CampaignState.RUNNING and campaign.standing:
                    # Today's expired requests only (see _range_batch).
                    campaign_batches += _range_batch(
                        campaign,
                        kind=NoticeKind.EXPIRY,
                        stage=EXPIRY_BARRED,
                        ids=list(
                            campaign.requests.filter(expired_at=now).values_list("pk", flat=True)
                        ),
                    )
                elif done and campaign.state == CampaignState.RUNNING:
                    # The holder is told the line is barred (incoming calls still reach it).
                    campaign_batches += dispatch.batches_create(
                        campaign=campaign,
                        kind=NoticeKind.EXPIRY,
                        stage=EXPIRY_BARRED,
                        request_state=RequestState.EXPIRED,
                    )
        except Exception as exc:
            failed.add(campaign.pk)
            logger.exception("cycle: campaign %s failed at %s", campaign.pk, step)
            _cycle_failed([campaign.pk], step=step, exc=exc, now=now)
            continue
        batch_ids += campaign_batches
        expired += done
        barred += bars
    # Risk flags: a high flag past its 24 hours suspends its line; a medium
    # flag whose request expired above lapses (after the campaign steps, so
    # that today's expiries count today).
    flagged = _guarded("risk flags", lambda: risk.risk_cycle(now=now))
    suspended += flagged.suspended if flagged else 0
    suspended_operators: list[int] = []
    for operator in Operator.objects.order_by("pk"):
        try:
            with transaction.atomic():
                cutoff = days_before(now, operator.reverification_suspend_after_days)
                count = Line.objects.filter(
                    operator=operator,
                    status=LineStatus.BARRED_OUTGOING,
                    status_reason="reverification_expired",
                    status_changed_at__lte=cutoff,
                ).update(
                    status=LineStatus.SUSPENDED,
                    status_reason="reverification_expired",
                    status_changed_at=now,
                )
        except Exception as exc:
            logger.exception("cycle: suspensions of operator %s failed", operator.pk)
            ids = list(live.filter(operator=operator).values_list("pk", flat=True))
            failed.update(ids)
            _cycle_failed(ids, step="suspension", exc=exc, now=now)
            continue
        suspended += count
        if count:
            suspended_operators.append(operator.pk)
    # The holder is told the line is now suspended (second stage).
    for campaign in (
        Campaign.objects.filter(
            operator_id__in=suspended_operators,
            state=CampaignState.RUNNING,
            requests__state=RequestState.EXPIRED,
            requests__line__status=LineStatus.SUSPENDED,
        )
        .exclude(pk__in=failed)
        .distinct()
    ):
        try:
            with transaction.atomic():
                if campaign.standing:
                    batch_ids += _range_batch(
                        campaign,
                        kind=NoticeKind.EXPIRY,
                        stage=EXPIRY_SUSPENDED,
                        ids=list(
                            campaign.requests.filter(
                                state=RequestState.EXPIRED,
                                line__status=LineStatus.SUSPENDED,
                                line__status_changed_at=now,
                            ).values_list("pk", flat=True)
                        ),
                    )
                    continue
                batch_ids += dispatch.batches_create(
                    campaign=campaign,
                    kind=NoticeKind.EXPIRY,
                    stage=EXPIRY_SUSPENDED,
                    request_state=RequestState.EXPIRED,
                )
        except Exception as exc:
            failed.add(campaign.pk)
            logger.exception("cycle: suspension notices of campaign %s failed", campaign.pk)
            _cycle_failed([campaign.pk], step="suspension notices", exc=exc, now=now)
    # A campaign that went through this run clears the error of an earlier one.
    live.exclude(pk__in=failed).exclude(cycle_error="").update(cycle_error="", cycle_failed_at=None)
    if expired or suspended or failed:
        logger.info(
            "cycle: %s expired, %s barred, %s suspended, %s campaign(s) failed",
            expired,
            barred,
            suspended,
            len(failed),
        )
    return CycleResult(
        expired=expired,
        barred=barred,
        suspended=suspended,
        batches=tuple(batch_ids),
        failed=tuple(sorted(failed)),
        stays_ended=stay.barred if stay else 0,
        stay_reminders=stay.reminded if stay else 0,
        documents_asked=documents_asked,
    )
