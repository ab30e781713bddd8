""" "Lines under my ID": a person sees every line of an operator registered to
their document, after proving they hold one of them (a one-time code sent to
it), and reports those that are not theirs. Until the code is entered the
answer is the same whether or not the document is known."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from config import keyed
from config.api import DomainError, InvalidInput
from identity import lookups
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.models import AccessLogEntry, AccessPurpose, CorrectionRequest, Person
from notices import channels
from notices.messages import render_message
from operators.models import Operator, StaffMember, Store
from registration.models import LegalHold, Line, LineKind, LineStatus, PhoneNumber

from . import risk
from .models import (
    DISPUTE_REASON_TEXT_MAX,
    Campaign,
    CampaignState,
    Dispute,
    DisputeReason,
    DisputeState,
    MyLinesChallenge,
    RequestState,
    ReverificationRequest,
    RiskFlag,
    RiskFlagState,
)

CODE_TTL = dt.timedelta(minutes=10)
VERIFIED_TTL = dt.timedelta(minutes=30)  # after the code, the lines stay open this long
START_LIMIT_PER_HOUR = 10  # look-ups started per address and hour
MAX_CODE_ATTEMPTS = 5
DISPUTE_CAMPAIGN = "Disputed lines"
DECOY_SAMPLE = 32  # inventory numbers a decoy takes its shape from


class CodeRefused(DomainError):
    code = "code_refused"
    message = _("The code is not right, or it has expired. Ask for a new one.")


# Django's signing (salted_hmac) under salts of their own: a code sent before
# SECRET_KEY rotated still verifies while the old key is in SECRET_KEY_FALLBACKS.
CODE_SALT = "telereg.reverification.my-lines-code"
DECOY_SALT = "telereg.reverification.my-lines-decoy"


def _code_hash(challenge: MyLinesChallenge, code: str) -> str:
    """What is stored for a code: its keyed digest (64 hex), never the code."""
    return keyed.digest(CODE_SALT, f"{challenge.uid}:{code}")


def _code_matches(challenge: MyLinesChallenge, code: str) -> bool:
    """The stored digest against the code under every key in force; a code
    stored before this scheme (a plain HMAC under SECRET_KEY, alive 10 minutes
    at most) is accepted under the same keys."""
    stored = challenge.code_hash
    found = keyed.verifies(CODE_SALT, f"{challenge.uid}:{code}", stored)
    for secret in keyed.secrets_in_force():
        legacy = hmac.new(
            secret.encode(), f"my-lines:{challenge.uid}:{code}".encode(), hashlib.sha256
        ).hexdigest()
        found |= hmac.compare_digest(stored, legacy)
    return found


def challenge_start(
    *,
    operator: Operator,
    id_type: str,
    id_number: str,
    name: str,
    address: str = "",
    per_address: int = START_LIMIT_PER_HOUR,
) -> MyLinesChallenge:
    """Always returns a challenge; a code goes to one of the person's lines only
    when the document is known here and the name matches.

    Counted per address and per document (identity.lookups; LookupLimitReached
    past either), whether the document is known or not, and written to the
    access log (the person, when the document is known) before answering."""
    doc_index = identity_selectors.document_index(id_type=id_type, id_number=id_number)
    lookups.public_lookup_allow(address=address, doc_index=doc_index, per_address=per_address)
    person = Person.objects.filter(
        operator=operator,
        id_type=id_type,
        doc_index=doc_index,
        shredded_at__isnull=True,
    ).first()
    name_matched = False
    if person is not None:
        name_matched = identity_selectors.person_name_matches(person=person, name=name)
    lookups.lookup_record(
        operator=operator,
        actor=None,
        actor_label="subscriber (lines under my ID)",
        purpose=AccessPurpose.CUSTOMER_REQUEST,
        surface="my_lines",
        kind="document",
        person=person,
        extra={"name_matched": name_matched},
    )
    if not name_matched:
        person = None
    line = _code_line(person) if person is not None else None
    challenge = MyLinesChallenge.objects.create(
        operator=operator,
        person=person if line else None,
        expires_at=timezone.now() + CODE_TTL,
        sent_to_masked=(
            identity_selectors.phone_masked(line.number)
            if line is not None
            else _decoy_masked(operator=operator, doc_index=doc_index, name=name)
        ),
    )
    if line is not None:
        _code_send(challenge=challenge, line=line, person=person)
    return challenge


def _code_line(person: Person) -> Line | None:
    """The line the code goes to: a mobile line first (codes go by SMS), the
    oldest of its kind."""
    lines = Line.objects.filter(holder=person).exclude(status=LineStatus.CLOSED)
    return (
        lines.filter(kind=LineKind.MOBILE).order_by("registered_at").first()
        or lines.order_by("registered_at").first()
    )


def _code_send(*, challenge: MyLinesChallenge, line: Line, person: Person) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    MyLinesChallenge.objects.filter(pk=challenge.pk).update(code_hash=_code_hash(challenge, code))
    language = identity_selectors.person_language(person)
    channel = channels.get_channel(settings.TELEREG_CODE_CHANNEL)
    channel.send_many(
        [
            channels.Message(
                delivery=0,
                channel=channel.name,
                to=line.number,
                campaign=None,
                request=None,
                kind="code",
                language=language,
                text=render_message(
                    kind="code",
                    language=language,
                    context={"operator": challenge.operator.name, "code": code},
                ),
                link="",
            )
        ]
    )


def _decoy_masked(*, operator: Operator, doc_index: str, name: str) -> str:
    """A masked number for a document (or name) not known here, shaped like the
    operator's own mobile numbers, so that the code page reads the same whether
    or not the document holds lines (the page hedges: "if the document and name
    are registered here"). Keyed on the document and the name, so asking again
    shows the same number and a guessed name cannot be told apart by a change."""
    digest = salted_hmac(
        DECOY_SALT,
        f"{operator.pk}:{doc_index}:{' '.join(name.split()).casefold()}",
        algorithm="sha256",
    ).digest()
    numbers = list(
        PhoneNumber.objects.filter(operator=operator, kind=LineKind.MOBILE)
        .order_by("pk")
        .values_list("number", flat=True)[:DECOY_SAMPLE]
    )
    if not numbers:
        return "****"
    model = numbers[digest[0] % len(numbers)]
    tail = f"{int.from_bytes(digest[1:4], 'big') % 10**4:04d}"
    return identity_selectors.phone_masked(model[:-4] + tail)


def challenge_verify(*, challenge: MyLinesChallenge, code: str) -> list[Line]:
    """The person's open lines once the right code is entered (5 tries, 10 min)."""
    with transaction.atomic():
        challenge = MyLinesChallenge.objects.select_for_update().get(pk=challenge.pk)
        usable = (
            challenge.code_hash
            and challenge.expires_at > timezone.now()
            and challenge.failed_attempts < MAX_CODE_ATTEMPTS
        )
        right = usable and _code_matches(challenge, code.strip())
        if not right:
            challenge.failed_attempts += 1
            challenge.save(update_fields=["failed_attempts"])
        elif challenge.verified_at is None:
            challenge.verified_at = timezone.now()
            challenge.save(update_fields=["verified_at"])
    if not right:  # raised outside the block, so the counted attempt stays
        raise CodeRefused()
    return challenge_lines(challenge=challenge)


def challenge_verified(challenge: MyLinesChallenge | None) -> bool:
    """Whether the code was entered, recently enough to act on it: a page left
    open on a shared phone does not file reports or corrections for ever."""
    return (
        challenge is not None
        and challenge.person_id is not None
        and challenge.verified_at is not None
        and challenge.verified_at > timezone.now() - VERIFIED_TTL
    )


def challenge_lines(*, challenge: MyLinesChallenge) -> list[Line]:
    if not challenge_verified(challenge):
        return []
    return list(
        Line.objects.filter(holder_id=challenge.person_id).exclude(status=LineStatus.CLOSED)
    )


def masked_lines(lines: list[Line]) -> list[dict[str, object]]:
    """The person's lines as their page shows them: masked numbers, kind and
    status by their labels in the page's language, never a raw code; a line
    with an open risk flag says so (tier, deadline, whether it is disputed)."""
    flags = {
        flag.line_id: flag
        for flag in RiskFlag.objects.filter(
            line__in=[line.pk for line in lines], state=RiskFlagState.OPEN
        )
    }
    disputed = set(
        Dispute.objects.filter(
            risk_flag__in=list(flags.values()), state=DisputeState.OPEN
        ).values_list("risk_flag_id", flat=True)
    )
    return [
        {
            "uid": str(line.uid),
            "number": identity_selectors.phone_masked(line.number),
            "kind": line.get_kind_display(),
            "status": line.get_status_display(),
            "since": timezone.localdate(line.registered_at),
            "risk": (
                {
                    "tier": flag.tier,
                    "tier_label": flag.get_tier_display(),
                    "due_at": flag.due_at,
                    "disputed": flag.pk in disputed,
                }
                if (flag := flags.get(line.pk)) is not None
                else None
            ),
        }
        for line in lines
    ]


def challenge_line(*, challenge: MyLinesChallenge, line_uid: str) -> Line:
    """One of the lines the code was sent for; anything else (another person's
    line, a made-up id, no code entered yet) is refused the same way."""
    line = next((x for x in challenge_lines(challenge=challenge) if str(x.uid) == line_uid), None)
    if line is None:
        raise CodeRefused(_("Enter the code first."))
    return line


class DisputeInvalid(InvalidInput):
    message = _("Say why this line is not yours.")


def _free_text(value: str, *, field: str, limit: int) -> str:
    """A short text a person typed: trimmed, at most ``limit`` characters, no
    NUL or other control characters (refused, never cut or stored)."""
    text = value.strip()
    if len(text) > limit:
        raise InvalidInput(fields={field: [_("At most %(limit)s characters.") % {"limit": limit}]})
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InvalidInput(fields={field: [_("Text without control characters.")]})
    return text


def dispute_report(
    *, challenge: MyLinesChallenge, line_uid: str, reason: str, reason_text: str = ""
) -> Dispute:
    """Report a line as not mine, with a reason: recorded once per line while
    open (a second submit, a double click, answers the first report). The
    answer is due within the operator's review days."""
    line = challenge_line(challenge=challenge, line_uid=line_uid)
    if reason not in DisputeReason.values:
        raise DisputeInvalid(fields={"reason": [_("Choose one of the reasons.")]})
    text = _free_text(reason_text, field="reason_text", limit=DISPUTE_REASON_TEXT_MAX)
    review_by = timezone.localdate() + dt.timedelta(days=line.operator.review_days)
    try:
        with transaction.atomic():
            return Dispute.objects.create(
                operator=line.operator,
                line=line,
                person_id=challenge.person_id,
                reason=reason,
                reason_text=text,
                review_by=review_by,
            )
    except IntegrityError:
        return Dispute.objects.get(
            line=line, person_id=challenge.person_id, state=DisputeState.OPEN
        )


def risk_dispute_file(*, challenge: MyLinesChallenge, line_uid: str, reason_text: str) -> Dispute:
    """The subscriber disputes the open risk flag on one of their lines: a
    dispute (reason ``risk_flag``) for the compliance officers, who lift the
    flag or dismiss the dispute. Once per flag while open (a second submit
    answers the first); a line without an open flag is refused."""
    line = challenge_line(challenge=challenge, line_uid=line_uid)
    text = _free_text(reason_text, field="reason_text", limit=DISPUTE_REASON_TEXT_MAX)
    flag = RiskFlag.objects.filter(line=line, state=RiskFlagState.OPEN).first()
    if flag is None:
        raise InvalidInput(fields={"line": [_("This line has no open risk flag.")]})
    existing = Dispute.objects.filter(
        line=line, person_id=challenge.person_id, state=DisputeState.OPEN
    ).first()
    if existing is not None:
        return existing
    review_by = timezone.localdate() + dt.timedelta(days=line.operator.review_days)
    try:
        with transaction.atomic():
            return Dispute.objects.create(
                operator=line.operator,
                line=line,
                person_id=challenge.person_id,
                reason=DisputeReason.RISK_FLAG,
                reason_text=text,
                review_by=review_by,
                risk_flag=flag,
            )
    except IntegrityError:
        return Dispute.objects.get(
            line=line, person_id=challenge.person_id, state=DisputeState.OPEN
        )


@transaction.atomic
def risk_dispute_uphold(*, dispute: Dispute, actor, note: str) -> Dispute:
    """A compliance officer upholds a risk-flag dispute: the flag is lifted
    (its request cancelled, the line restored) and the dispute closed."""
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.state != DisputeState.OPEN or dispute.risk_flag_id is None:
        return dispute
    flag = RiskFlag.objects.get(pk=dispute.risk_flag_id)
    if flag.state == RiskFlagState.OPEN:
        risk.risk_flag_lift(flag=flag, actor=actor, reason=note)
    dispute.state = DisputeState.UPHELD
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.note = note[:300]
    dispute.save()
    return dispute


# --- Self-service correction ----------------------------------------------------------

CORRECTION_FIELD_LIMITS = {
    "name": 100,
    "date_of_birth": 10,
    "sex": 1,
    "id_expiry": 10,
    "nationality": 3,
    "address": 300,
}


class CorrectionEmpty(InvalidInput):
    message = _("Fill in at least one field you want corrected.")


@dataclasses.dataclass(frozen=True)
class CorrectionFiled:
    correction: CorrectionRequest
    review_by: dt.date
    created: bool


def correction_file(*, challenge: MyLinesChallenge, values: dict[str, str]) -> CorrectionFiled:
    """The person the code was sent for asks to correct their own data: it goes
    to the compliance queue like one filed in store (identity's
    correction_request_create validates it against the whole identity; nothing
    is stored when it is refused). One per code: a second submit answers the
    first request instead of filing another."""
    if not challenge_verified(challenge):
        raise CodeRefused(_("Enter the code first."))
    proposed = {
        field: _free_text(values.get(field, "") or "", field=field, limit=limit)
        for field, limit in CORRECTION_FIELD_LIMITS.items()
    }
    proposed = {field: value for field, value in proposed.items() if value}
    if not proposed:
        raise CorrectionEmpty(fields={"__all__": [CorrectionEmpty.message]})
    with transaction.atomic():
        challenge = MyLinesChallenge.objects.select_for_update().get(pk=challenge.pk)
        operator = Operator.objects.get(pk=challenge.operator_id)
        review_by = timezone.localdate() + dt.timedelta(days=operator.review_days)
        if challenge.correction_id is not None:
            return CorrectionFiled(challenge.correction, review_by, created=False)
        person = Person.objects.get(pk=challenge.person_id)
        correction = identity_services.correction_request_create(
            person=person, values=proposed, actor=None
        )
        challenge.correction = correction
        challenge.save(update_fields=["correction"])
    return CorrectionFiled(correction, review_by, created=True)


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, suspend: bool, actor, note: str = "") -> Dispute:
    """Dismiss, or suspend the line and open a re-verification of its holder."""
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.state != DisputeState.OPEN:
        return dispute
    now = timezone.now()
    if suspend:
        Line.objects.filter(pk=dispute.line_id).exclude(status=LineStatus.CLOSED).update(
            status=LineStatus.SUSPENDED, status_reason="disputed", status_changed_at=now
        )
        campaign, _ = Campaign.objects.get_or_create(
            operator=dispute.operator,
            name=DISPUTE_CAMPAIGN,
            state=CampaignState.RUNNING,
            defaults={
                "criteria": {},
                "deadline": timezone.localdate() + dt.timedelta(days=30),
                "channels": ["file"],
                "created_by": actor,
                "launched_at": now,
            },
        )
        line = Line.objects.get(pk=dispute.line_id)
        ReverificationRequest.objects.get_or_create(
            campaign=campaign,
            line=line,
            defaults={
                "person_id": line.holder_id,
                "operator": dispute.operator,
                "state": RequestState.PENDING,
                "deadline": campaign.deadline,
                "created_at": now,
            },
        )
    dispute.state = DisputeState.SUSPENDED if suspend else DisputeState.DISMISSED
    dispute.resolved_by = actor
    dispute.resolved_at = now
    dispute.note = note[:300]
    dispute.save()
    return dispute


# --- The subscriber's own access history ----------------------------------------------

HISTORY_LIMIT = 100  # newest entries shown; the page says how many there are in all
RELEASED_LABEL = _("Released to an authority under a legal basis")


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One access as the subscriber reads it: when, why, which role and
    store. Never the staff member's name or username, never the fields' values."""

    at: dt.datetime
    purpose: str  # the code (``data-purpose``)
    purpose_label: str
    role: str
    store: str
    date_only: bool = False


@dataclasses.dataclass(frozen=True)
class History:
    entries: list[HistoryEntry]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.entries), 0)


def _disclosures_visible_after(person_id: int, operator: Operator, now: dt.datetime):
    """The latest release time the subscriber may see now, or None while a
    legal hold is in force on one of their lines (releases stay hidden)."""
    if LegalHold.objects.filter(line__holder_id=person_id, lifted_at__isnull=True).exists():
        return None
    return now - dt.timedelta(days=operator.disclosure_notice_delay_days)


def access_history(*, challenge: MyLinesChallenge, limit: int = HISTORY_LIMIT) -> History:
    """Every access-log entry about the person the code was sent for, newest
    first (at most ``limit``): purpose, role and store, no staff names. A
    release to an authority (purpose ``law_enforcement``) shows only as
    such, with its date, once the operator's delay allows and while no legal
    hold is in force on one of the person's lines.

    Reading it is not itself logged: it shows no personal data, only the
    log's own metadata, and the look-up that opened this session is already
    in the log (purpose ``customer_request``)."""
    if not challenge_verified(challenge):
        return History([], 0)
    operator = Operator.objects.get(pk=challenge.operator_id)
    now = timezone.now()
    entries = AccessLogEntry.objects.filter(
        operator_id=challenge.operator_id, person_id=challenge.person_id
    )
    released_until = _disclosures_visible_after(challenge.person_id, operator, now)
    if released_until is None:
        entries = entries.exclude(purpose=AccessPurpose.LAW_ENFORCEMENT)
    else:
        entries = entries.exclude(
            purpose=AccessPurpose.LAW_ENFORCEMENT, created_at__gt=released_until
        )
    total = entries.count()
    rows = list(
        entries.order_by("-created_at", "-id").values(
            "created_at", "purpose", "actor_id", "store_id"
        )[:limit]
    )
    actor_ids = {row["actor_id"] for row in rows if row["actor_id"]}
    staff = {
        s.user_id: s
        for s in StaffMember.objects.filter(user_id__in=actor_ids).select_related("store")
    }
    store_ids = {row["store_id"] for row in rows if row["store_id"]}
    stores = dict(Store.objects.filter(pk__in=store_ids).values_list("pk", "name"))
    labels = dict(AccessPurpose.choices)
    result = []
    for row in rows:
        if row["purpose"] == AccessPurpose.LAW_ENFORCEMENT:
            result.append(
                HistoryEntry(
                    at=row["created_at"],
                    purpose=row["purpose"],
                    purpose_label=str(RELEASED_LABEL),
                    role="",
                    store="",
                    date_only=True,
                )
            )
            continue
        member = staff.get(row["actor_id"])
        if member is not None:
            role = str(member.get_role_display())
        elif row["actor_id"] is None and row["purpose"] == AccessPurpose.CUSTOMER_REQUEST:
            role = str(_("You (your own request)"))
        elif row["actor_id"] is None:
            role = str(_("Automatic process"))
        else:
            role = str(_("Operator staff"))
        store = stores.get(row["store_id"]) or (
            member.store.name if member is not None and member.store_id else ""
        )
        if not store and member is not None:
            store = str(_("Head office"))
        result.append(
            HistoryEntry(
                at=row["created_at"],
                purpose=row["purpose"],
                purpose_label=str(labels.get(row["purpose"], row["purpose"])),
                role=role,
                store=store,
            )
        )
    return History(result, total)


@dataclasses.dataclass(frozen=True)
class CorrectionShown:
    fields: list[str]
    status: str  # the code
    status_label: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


def corrections_of(*, challenge: MyLinesChallenge, limit: int = 10) -> list[CorrectionShown]:
    """The person's correction requests and their state (pending, approved,
    refused), newest first: which fields were asked, never their values."""
    if not challenge_verified(challenge):
        return []
    labels = dict(CORRECTION_FIELD_LABELS)
    return [
        CorrectionShown(
            fields=[str(labels.get(name, name)) for name in sorted(c.proposed)],
            status=c.status,
            status_label=str(c.get_status_display()),
            created_at=c.created_at,
            decided_at=c.decided_at,
        )
        for c in CorrectionRequest.objects.filter(person_id=challenge.person_id).order_by(
            "-created_at"
        )[:limit]
    ]


CORRECTION_FIELD_LABELS = (
    ("name", _("Name")),
    ("date_of_birth", _("Date of birth")),
    ("sex", _("Sex")),
    ("id_expiry", _("Valid until")),
    ("nationality", _("Nationality")),
    ("address", _("Address")),
)
