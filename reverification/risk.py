"""Risk flags: a line flagged by an anti-fraud centre (a ``risk_feed``
partner), a compliance officer or a velocity rule is re-verified at once.

- High: outgoing service is barred at once (``barred_outgoing``, reason
  ``risk``) and a request is opened in the operator's standing "risk: high"
  campaign, due 24 hours later, that only an in-store re-verification answers
  (its notice and its link page say to visit a store with the document; the
  link's form is not offered, and :func:`answer_channel_check` refuses a
  self-service answer). Missing the 24 hours suspends the line (reason
  ``risk``) in the daily cycle (:func:`risk_cycle`).
- Medium: a normal request in the standing "risk: medium" campaign with the
  operator's response days; the campaign cycle's usual expiry bars, then
  suspends, the line.

Passing (``campaigns.request_answer``) restores the line and clears the flag.
One open flag per line (a unique partial index): a medium flag is superseded
by a high one; any other second flag is refused (``risk_flag_open``). The
subscriber may dispute an open flag from /my-lines/ (a :class:`Dispute` with
reason ``risk_flag`` for the compliance officers), who may lift it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import unicodedata
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from config.api import DomainError, InvalidInput
from identity.models import Person
from operators.models import Operator
from registration.models import Line, LineStatus

from . import dispatch
from .models import (
    RISK_REASON_MAX,
    Campaign,
    CampaignState,
    DispatchBatch,
    NoticeKind,
    RequestState,
    ReverificationRequest,
    RiskFlag,
    RiskFlagState,
    RiskTier,
    StandingPurpose,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

RISK = "risk"  # the line's status reason while barred or suspended for a flag
HIGH_DEADLINE = dt.timedelta(hours=24)
CAMPAIGN_OF_TIER = {
    RiskTier.HIGH: StandingPurpose.RISK_HIGH,
    RiskTier.MEDIUM: StandingPurpose.RISK_MEDIUM,
}
TIER_RANK = {RiskTier.MEDIUM: 1, RiskTier.HIGH: 2}

# The high tier's notice: a format string kept on the campaign per language
# (dispatch.campaign_text fills {operator} {number} {deadline} {link}).
HIGH_NOTICE = gettext_lazy(
    "{operator}: outgoing calls on your line {number} are barred for a security check. "
    "Visit one of our stores with your identity document within 24 hours to keep the line; "
    "otherwise it is suspended. Details: {link}"
)


class RiskFlagOpen(DomainError):
    code = "risk_flag_open"
    message = gettext_lazy("This line already has an open risk flag of this tier or higher.")


class RiskLineClosed(DomainError):
    code = "line_closed"
    message = gettext_lazy("This line is closed.")


class InStoreOnly(DomainError):
    code = "in_store_only"
    message = gettext_lazy(
        "This line can only be re-verified in store: visit one of our stores with your "
        "identity document."
    )


class RiskFlagClosed(DomainError):
    code = "risk_flag_closed"
    message = gettext_lazy("This risk flag is no longer open.")


def reason_clean(value: object, *, field: str = "reason") -> str:
    """A flag's (or a lift's) reason: 3 to 300 characters, no control characters."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) < 3:
        raise InvalidInput(fields={field: [gettext("Say why (at least 3 characters).")]})
    if len(text) > RISK_REASON_MAX:
        raise InvalidInput(
            fields={field: [gettext("At most %(limit)s characters.") % {"limit": RISK_REASON_MAX}]}
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise InvalidInput(fields={field: [gettext("Text without control characters.")]})
    return text


def tier_clean(value: object) -> str:
    if value not in RiskTier.values:
        raise InvalidInput(fields={"tier": [gettext('One of "high", "medium".')]})
    return str(value)


def risk_campaign(*, operator: Operator, tier: str, now: dt.datetime) -> Campaign:
    """The operator's standing campaign of a tier, created running on first use
    (one per operator and purpose: a unique constraint; two racing creators end
    with the same row)."""
    purpose = CAMPAIGN_OF_TIER[tier]
    found = Campaign.objects.filter(operator=operator, standing=purpose).first()
    if found is not None:
        return found
    texts = {}
    if tier == RiskTier.HIGH:
        for language in ("zh-hans", "en"):
            with translation.override(language):
                texts[language] = str(HIGH_NOTICE)
    try:
        with transaction.atomic():
            return Campaign.objects.create(
                operator=operator,
                standing=purpose,
                name=str(purpose.label),
                criteria={},
                deadline=timezone.localdate(now) + dt.timedelta(days=730),
                reminder_days=[],
                channels=[settings.TELEREG_ALERT_CHANNEL],
                notice_text_zh=texts.get("zh-hans", ""),
                notice_text_en=texts.get("en", ""),
                state=CampaignState.RUNNING,
                launched_at=now,
            )
    except IntegrityError:
        return Campaign.objects.get(operator=operator, standing=purpose)


def in_store_only(request: ReverificationRequest) -> bool:
    """Whether only an in-store re-verification answers this request."""
    return (
        Campaign.objects.filter(pk=request.campaign_id, standing=StandingPurpose.RISK_HIGH)
        .values_list("pk", flat=True)
        .exists()
    )


def answer_channel_check(*, request: ReverificationRequest, channel: str) -> None:
    """Refuse a self-service answer to a request only a store may answer."""
    if channel != "store" and in_store_only(request):
        raise InStoreOnly()


@dataclasses.dataclass(frozen=True)
class Raised:
    flag: RiskFlag
    request: ReverificationRequest
    superseded: RiskFlag | None = None


def _open_request(
    *, campaign: Campaign, line: Line, deadline: dt.date, now: dt.datetime
) -> ReverificationRequest:
    """The line's request in the tier's campaign, opened (again) for this flag:
    (campaign, line) is unique, so a line flagged a second time, after an
    earlier flag was settled, has its request re-opened with the new
    deadline (the earlier flag keeps its own outcome)."""
    req, created = ReverificationRequest.objects.select_for_update().get_or_create(
        campaign=campaign,
        line=line,
        defaults={
            "person_id": line.holder_id,
            "operator_id": line.operator_id,
            "deadline": deadline,
            "created_at": now,
        },
    )
    if not created:
        req.person_id = line.holder_id
        req.state = RequestState.PENDING
        req.deadline = deadline
        req.created_at = now
        req.verified_at = None
        req.expired_at = None
        req.failed_attempts = 0
        req.last_attempt_at = None
        req.save()
    return req


def risk_flag_raise(
    *,
    line: Line,
    tier: str,
    reason: str,
    source: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    now: dt.datetime | None = None,
) -> Raised:
    """Flag a line. High bars it at once and opens an in-store request due in
    24 hours; medium opens a normal request due in the operator's response
    days. Both send the holder a notice (after commit). Refused: a bad tier or
    reason (InvalidInput, nothing stored), a closed line, an open flag of this
    tier or higher (RiskFlagOpen)."""
    tier = tier_clean(tier)
    reason = reason_clean(reason)
    now = now or timezone.now()
    with transaction.atomic():
        # The holder's row first, as an opening locks it (its cap check): the
        # same order everywhere, so a flag raised while the holder's next line
        # opens waits for it instead of deadlocking with it.
        holder_id = Line.objects.filter(pk=line.pk).values_list("holder_id", flat=True).first()
        if holder_id is not None:
            list(Person.objects.select_for_update().filter(pk=holder_id).values_list("pk"))
        line = (
            Line.objects.select_for_update(of=("self",)).select_related("operator").get(pk=line.pk)
        )
        if line.status == LineStatus.CLOSED or line.holder_id is None:
            raise RiskLineClosed()
        superseded = None
        current = (
            RiskFlag.objects.select_for_update().filter(line=line, state=RiskFlagState.OPEN).first()
        )
        if current is not None:
            if TIER_RANK[current.tier] >= TIER_RANK[tier]:
                raise RiskFlagOpen()
            superseded = _settle(current, RiskFlagState.SUPERSEDED, now=now, actor=actor)
            if current.request_id:
                ReverificationRequest.objects.filter(
                    pk=current.request_id, state__in=[RequestState.PENDING, RequestState.EXPIRED]
                ).update(state=RequestState.CANCELLED)
        operator = line.operator
        if tier == RiskTier.HIGH:
            due_at = now + HIGH_DEADLINE
            deadline = timezone.localtime(due_at).date()
        else:
            deadline = timezone.localdate(now) + dt.timedelta(
                days=operator.reverification_response_days
            )
            due_at = now + dt.timedelta(days=operator.reverification_response_days)
        campaign = risk_campaign(operator=operator, tier=tier, now=now)
        req = _open_request(campaign=campaign, line=line, deadline=deadline, now=now)
        flag = RiskFlag.objects.create(
            operator=operator,
            line=line,
            tier=tier,
            reason=reason,
            source=source,
            raised_by=actor,
            raised_by_label=(actor_label or (actor.get_username() if actor else "system"))[:150],
            request=req,
            due_at=due_at,
            created_at=now,
        )
        if tier == RiskTier.HIGH and line.status == LineStatus.ACTIVE:
            Line.objects.filter(pk=line.pk).update(
                status=LineStatus.BARRED_OUTGOING, status_reason=RISK, status_changed_at=now
            )
        batch_ids = _notice_batch(campaign, req)
        transaction.on_commit(lambda: dispatch.batches_enqueue(batch_ids))
    logger.info("risk flag %s (%s) raised on line %s by %s", flag.pk, tier, line.pk, source)
    return Raised(flag=flag, request=req, superseded=superseded)


def _notice_batch(campaign: Campaign, req: ReverificationRequest) -> list[int]:
    """A notice batch for this one request (a re-opened request is told again:
    its deliveries are unique per request, kind and stage, so a batch of a
    later stage number would be needed; the stage is the flag count)."""
    stage = RiskFlag.objects.filter(request=req).count()
    batch, _created = DispatchBatch.objects.get_or_create(
        campaign=campaign,
        kind=NoticeKind.NOTICE,
        stage=stage,
        first_request_id=req.pk,
        defaults={"last_request_id": req.pk},
    )
    return [batch.pk]


def _settle(
    flag: RiskFlag, state: str, *, now: dt.datetime, actor=None, note: str = ""
) -> RiskFlag:
    flag.state = state
    flag.resolved_at = now
    flag.resolved_by = actor
    flag.resolution_note = note[:300]
    flag.save(update_fields=["state", "resolved_at", "resolved_by", "resolution_note"])
    return flag


def request_verified(*, request_id: int, now: dt.datetime) -> int:
    """The request was answered: its open flags are cleared (the caller has
    restored the line). Runs in the answer's transaction."""
    return RiskFlag.objects.filter(request_id=request_id, state=RiskFlagState.OPEN).update(
        state=RiskFlagState.CLEARED, resolved_at=now
    )


@transaction.atomic
def risk_flag_lift(*, flag: RiskFlag, actor: AbstractBaseUser, reason: str) -> RiskFlag:
    """A compliance officer lifts an open flag (a dispute upheld, a mistaken
    feed): its request is cancelled and a line barred or suspended for it is
    active again."""
    reason = reason_clean(reason)
    flag = RiskFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.state != RiskFlagState.OPEN:
        raise RiskFlagClosed()
    now = timezone.now()
    _settle(flag, RiskFlagState.LIFTED, now=now, actor=actor, note=reason)
    if flag.request_id:
        ReverificationRequest.objects.filter(
            pk=flag.request_id, state__in=[RequestState.PENDING, RequestState.EXPIRED]
        ).update(state=RequestState.CANCELLED)
    Line.objects.filter(
        pk=flag.line_id,
        status__in=[LineStatus.BARRED_OUTGOING, LineStatus.SUSPENDED],
        status_reason__in=[RISK, "reverification_expired"],
    ).update(status=LineStatus.ACTIVE, status_reason="risk_lifted", status_changed_at=now)
    return flag


@dataclasses.dataclass(frozen=True)
class RiskCycleResult:
    suspended: int
    lapsed: int


def risk_cycle(*, now: dt.datetime) -> RiskCycleResult:
    """The daily cycle's risk step: a high flag past its 24 hours with its
    request unanswered expires the request and suspends the line (reason
    ``risk``); a medium flag whose request the campaign cycle expired lapses
    (the campaign cycle bars, then suspends, its line). Idempotent."""
    suspended = lapsed = 0
    with transaction.atomic():
        due = list(
            RiskFlag.objects.select_for_update(skip_locked=True).filter(
                state=RiskFlagState.OPEN, tier=RiskTier.HIGH, due_at__lte=now
            )
        )
        for flag in due:
            ReverificationRequest.objects.filter(
                pk=flag.request_id, state=RequestState.PENDING
            ).update(state=RequestState.EXPIRED, expired_at=now)
            suspended += (
                Line.objects.filter(pk=flag.line_id)
                .exclude(status=LineStatus.CLOSED)
                .update(status=LineStatus.SUSPENDED, status_reason=RISK, status_changed_at=now)
            )
            _settle(flag, RiskFlagState.LAPSED, now=now)
            lapsed += 1
        lapsed += RiskFlag.objects.filter(
            state=RiskFlagState.OPEN,
            tier=RiskTier.MEDIUM,
            request__state=RequestState.EXPIRED,
        ).update(state=RiskFlagState.LAPSED, resolved_at=now)
    return RiskCycleResult(suspended=suspended, lapsed=lapsed)


def line_risk_flag(line: Line) -> RiskFlag | None:
    """The line's open flag, if any."""
    return RiskFlag.objects.filter(line=line, state=RiskFlagState.OPEN).first()
