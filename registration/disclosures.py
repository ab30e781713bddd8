"""Disclosure requests of law enforcement and courts: filed, decided by a
second person, released once.

The order of work, and why:

1. a compliance officer files the request (``disclosure_file``): the
   authority, its type, the legal basis, the case and document references,
   the numbers (each one of the operator's lines, pinned as the line it
   names now) and the fields asked (only ``name``, ``id_number``,
   ``address``, ``lines``). Nothing personal is decrypted;
2. another compliance officer or an operator admin approves or refuses it
   (``disclosure_approve`` / ``disclosure_refuse``); the filer is refused
   (``DisclosureFourEyes``), and so is the database (a check constraint);
3. once approved, the filer or another compliance officer releases it
   (``disclosure_release``): the row is claimed under its lock (approved →
   released, at most once: a check constraint holds ``release_count <= 1``),
   one access-log entry per person is written through
   ``identity.services.person_disclose`` (purpose ``law_enforcement``, the
   request's id in the detail), and only then are the asked fields opened,
   all in one database transaction, so a failure releases nothing and
   leaves the request approved.

A legal hold can be set from the request on every line it names
(``disclosure_holds_set``): closing and retention then wait for it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from config.api import InvalidInput
from identity import selectors as identity_selectors
from identity import services as identity_services
from operators.tenancy import can, is_platform_admin, scoped, staff_of
from operators.timezones import zone_of

from . import closing
from .errors import (
    DisclosureDecided,
    DisclosureFourEyes,
    DisclosureNotAllowed,
    DisclosureNotApproved,
    DisclosureRefused,
    DisclosureReleased,
)
from .models import (
    DISCLOSURE_FIELDS,
    AuthorityType,
    Disclosure,
    DisclosureLine,
    DisclosureState,
    LegalHold,
    Line,
    LineStatus,
)
from .numbers import InvalidNumber, to_e164

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.models import Operator

MAX_NUMBERS = 100
TEXT_LIMITS = {
    "authority": 200,
    "legal_basis": 300,
    "case_reference": 100,
    "document_reference": 200,
}
REASON_MAX_LENGTH = 300
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# The stored fields a request may open (``lines`` is the registration's own).
_PERSON_FIELDS = ("name", "id_number", "address")


@dataclass(frozen=True)
class DisclosureInput:
    authority: str
    legal_basis: str
    case_reference: str
    numbers: list[str]
    fields: list[str]
    authority_type: str = AuthorityType.OTHER
    document_reference: str = ""

    def __repr__(self) -> str:  # the numbers are personal data
        return f"DisclosureInput(numbers={len(self.numbers)}, fields={self.fields})"


@dataclass(frozen=True)
class Released:
    """What a release hands over: one record per number asked, in order."""

    disclosure: Disclosure
    records: list[dict[str, Any]] = field(repr=False)


def _text_problem(value: str, *, required: bool, max_length: int) -> str | None:
    if required and not value.strip():
        return gettext("This field is required.")
    if len(value) > max_length:
        return gettext("At most %(count)d characters.") % {"count": max_length}
    if value and (problem := identity_selectors.address_problem(value)):
        return str(problem)
    return None


def _lines_named(operator: Operator, numbers: list[str]) -> tuple[list[Line], list[str]]:
    """The operator's line for each number (its open line, else the line that
    last closed with it), and the reasons the others are refused, by position
    (never quoting the number: it is personal data)."""
    problems: list[str] = []
    if not numbers:
        return [], [gettext("Name at least one number.")]
    if len(numbers) > MAX_NUMBERS:
        return [], [gettext("At most %(count)d numbers.") % {"count": MAX_NUMBERS}]
    canonical: list[str] = []
    for position, raw in enumerate(numbers, start=1):
        if not isinstance(raw, str) or not _E164.fullmatch(raw):
            problems.append(
                gettext("Number %(n)d: write it in E.164 (e.g. +8613800138000).") % {"n": position}
            )
            continue
        try:
            number = to_e164(raw, country=operator.country)
        except InvalidNumber as exc:
            problems.append(
                gettext("Number %(n)d: %(reason)s.") % {"n": position, "reason": str(exc)}
            )
            continue
        if number in canonical:
            problems.append(gettext("Number %(n)d: named twice.") % {"n": position})
            continue
        canonical.append(number)
    if problems:
        return [], problems
    found: dict[str, Line] = {}
    candidates = Line.objects.filter(operator=operator, number__in=canonical).order_by(
        "number", "-closed_at", "-pk"
    )
    for line in candidates:
        current = found.get(line.number)
        if current is None or (
            current.status == LineStatus.CLOSED and line.status != LineStatus.CLOSED
        ):
            found[line.number] = line
    for position, number in enumerate(canonical, start=1):
        if number not in found:
            problems.append(gettext("Number %(n)d: not a line of this operator.") % {"n": position})
    return [found[n] for n in canonical if n in found], problems


def disclosure_input_check(*, operator: Operator, data: DisclosureInput) -> list[Line]:
    """The request as typed, checked whole: the lines it names, or
    InvalidInput naming each field that is wrong (nothing is written)."""
    errors: dict[str, list[str]] = {}
    for name, limit in TEXT_LIMITS.items():
        value = getattr(data, name)
        if not isinstance(value, str):
            errors[name] = [gettext("Not a text.")]
        elif problem := _text_problem(
            value, required=name != "document_reference", max_length=limit
        ):
            errors[name] = [problem]
    if data.authority_type not in AuthorityType.values:
        errors["authority_type"] = [
            gettext("Choose one of: %(types)s.") % {"types": ", ".join(AuthorityType.values)}
        ]
    fields = list(data.fields or [])
    if not fields:
        errors["fields"] = [gettext("Ask for at least one field.")]
    elif any(not isinstance(f, str) or f not in DISCLOSURE_FIELDS for f in fields):
        errors["fields"] = [
            gettext("Only these fields may be asked for: %(fields)s.")
            % {"fields": ", ".join(DISCLOSURE_FIELDS)}
        ]
    elif len(set(fields)) != len(fields):
        errors["fields"] = [gettext("A field is named twice.")]
    lines, problems = _lines_named(operator, list(data.numbers or []))
    if problems:
        errors["numbers"] = problems
    if errors:
        raise InvalidInput(fields=errors)
    return lines


def _staff_operator_id(actor: AbstractBaseUser) -> int | None:
    staff = staff_of(actor)
    return staff.operator_id if staff is not None else None


def disclosure_file(
    *, actor: AbstractBaseUser, data: DisclosureInput, now: dt.datetime | None = None
) -> Disclosure:
    """File a request for the actor's operator (compliance officers only; a
    platform admin belongs to no operator and files none). Guarantees: the
    whole input is checked first, and the request and its numbers are stored
    together or not at all; nothing personal is decrypted."""
    staff = staff_of(actor)
    if staff is None or not can(actor, "disclosure.file"):
        raise DisclosureNotAllowed()
    lines = disclosure_input_check(operator=staff.operator, data=data)
    now = now or timezone.now()
    with transaction.atomic():
        disclosure = Disclosure.objects.create(
            operator=staff.operator,
            authority=data.authority.strip(),
            authority_type=data.authority_type,
            legal_basis=data.legal_basis.strip(),
            case_reference=data.case_reference.strip(),
            document_reference=data.document_reference.strip(),
            fields=[f for f in DISCLOSURE_FIELDS if f in data.fields],
            filed_by=actor,
            filed_at=now,
        )
        DisclosureLine.objects.bulk_create(
            DisclosureLine(disclosure=disclosure, line=line, position=position)
            for position, line in enumerate(lines, start=1)
        )
    return disclosure


def _locked(disclosure: Disclosure, actor: AbstractBaseUser) -> Disclosure:
    """The request under its row lock, if it is of the actor's operator."""
    locked = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
    if not is_platform_admin(actor) and _staff_operator_id(actor) != locked.operator_id:
        raise DisclosureNotAllowed()
    return locked


def _decide(
    *,
    disclosure: Disclosure,
    actor: AbstractBaseUser,
    state: str,
    reason: str,
    now: dt.datetime | None,
) -> Disclosure:
    if not can(actor, "disclosure.decide"):
        raise DisclosureNotAllowed()
    if problem := _text_problem(reason, required=False, max_length=REASON_MAX_LENGTH):
        raise InvalidInput(fields={"reason": [problem]})
    with transaction.atomic():
        locked = _locked(disclosure, actor)
        if locked.filed_by_id == actor.pk:
            raise DisclosureFourEyes()
        if locked.state != DisclosureState.PENDING_APPROVAL:
            raise DisclosureDecided()
        locked.state = state
        locked.decided_by = actor
        locked.decided_at = now or timezone.now()
        written = ["state", "decided_by", "decided_at"]
        if state == DisclosureState.REFUSED:
            locked.refusal_reason = reason.strip()
            written.append("refusal_reason")
        locked.save(update_fields=written)
    return locked


def disclosure_approve(
    *, disclosure: Disclosure, actor: AbstractBaseUser, now: dt.datetime | None = None
) -> Disclosure:
    """Approve a pending request: a compliance officer or operator admin of its
    operator who did not file it (DisclosureFourEyes otherwise); a request
    decided already raises DisclosureDecided and nothing changes."""
    return _decide(
        disclosure=disclosure, actor=actor, state=DisclosureState.APPROVED, reason="", now=now
    )


def disclosure_refuse(
    *,
    disclosure: Disclosure,
    actor: AbstractBaseUser,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Disclosure:
    """Refuse a pending request (optionally with a reason), under the same
    four-eyes rule as approving; it can never be released afterwards."""
    return _decide(
        disclosure=disclosure,
        actor=actor,
        state=DisclosureState.REFUSED,
        reason=reason,
        now=now,
    )


def _open_lines_of(holder_id: int, operator_id: int) -> list[str]:
    return list(
        Line.objects.filter(operator_id=operator_id, holder_id=holder_id)
        .exclude(status=LineStatus.CLOSED)
        .order_by("number")
        .values_list("number", flat=True)
    )


def disclosure_release(
    *, disclosure: Disclosure, actor: AbstractBaseUser, now: dt.datetime | None = None
) -> Released:
    """Release an approved request, once: exactly the asked fields for exactly
    its numbers, with one access-log entry per person (purpose
    ``law_enforcement``, ``{"disclosure": id}``). The filer or another
    compliance officer of its operator. A second release raises
    DisclosureReleased, a refused or pending one DisclosureRefused or
    DisclosureNotApproved; in every refusal nothing is logged or opened."""
    if not can(actor, "disclosure.release"):
        raise DisclosureNotAllowed()
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(disclosure, actor)
        if locked.state == DisclosureState.RELEASED:
            raise DisclosureReleased()
        if locked.state == DisclosureState.REFUSED:
            raise DisclosureRefused()
        if locked.state != DisclosureState.APPROVED:
            raise DisclosureNotApproved()
        locked.state = DisclosureState.RELEASED
        locked.released_by = actor
        locked.released_at = now
        locked.release_count = 1
        locked.save(update_fields=["state", "released_by", "released_at", "release_count"])
        asked = locked.fields
        person_fields = [f for f in _PERSON_FIELDS if f in asked]
        also = ["lines"] if "lines" in asked else []
        reason = f"disclosure #{locked.pk}, case {locked.case_reference}"[:REASON_MAX_LENGTH]
        named = list(
            DisclosureLine.objects.filter(disclosure=locked)
            .select_related("line__holder__operator")
            .order_by("position")
        )
        opened: dict[int, dict[str, Any]] = {}
        for item in named:
            holder = item.line.holder
            if holder.pk in opened:
                continue  # one entry per person, however many of their numbers
            values: dict[str, Any] = identity_services.person_disclose(
                person=holder,
                actor=actor,
                reason=reason,
                disclosure_id=locked.pk,
                fields=person_fields,
                also_logged=also,
            )
            if also:
                values["lines"] = _open_lines_of(holder.pk, locked.operator_id)
            opened[holder.pk] = values
        records = [{"number": item.line.number, **opened[item.line.holder_id]} for item in named]
    return Released(disclosure=locked, records=records)


def disclosure_holds_set(
    *, disclosure: Disclosure, actor: AbstractBaseUser, now: dt.datetime | None = None
) -> list[LegalHold]:
    """Put every line the request names under a legal hold linked to it (a
    line already held keeps its hold). Compliance officers; not on a refused
    request. All lines or none."""
    if not can(actor, "line.legal_hold"):
        raise DisclosureNotAllowed()
    with transaction.atomic():
        locked = _locked(disclosure, actor)
        if locked.state == DisclosureState.REFUSED:
            raise DisclosureRefused()
        reason = gettext("Disclosure request #%(id)s (case %(case)s)") % {
            "id": locked.pk,
            "case": locked.case_reference,
        }
        return [
            closing.legal_hold_set(
                line=item.line,
                reason=reason[: closing.NOTE_MAX_LENGTH],
                actor=actor,
                now=now,
                disclosure=locked,
            )
            for item in DisclosureLine.objects.filter(disclosure=locked)
            .select_related("line")
            .order_by("position")
        ]


# --- Reads -----------------------------------------------------------------------------------


def disclosure_list(*, user: AbstractBaseUser) -> QuerySet[Disclosure]:
    """The requests ``user`` may see (their operator's), newest first, with
    how many numbers each names. Empty without ``disclosure.view``."""
    if not can(user, "disclosure.view"):
        return Disclosure.objects.none()
    return scoped(
        Disclosure.objects.select_related("operator", "filed_by", "decided_by", "released_by"),
        user,
    ).annotate(number_count=Count("lines"))


def disclosure_numbers_masked(disclosure: Disclosure) -> list[str]:
    """The numbers a request names, masked (as staff see numbers)."""
    return [
        identity_selectors.phone_masked(number)
        for number in DisclosureLine.objects.filter(disclosure=disclosure)
        .order_by("position")
        .values_list("line__number", flat=True)
    ]


def disclosure_holds(disclosure: Disclosure) -> QuerySet[LegalHold]:
    return LegalHold.objects.filter(disclosure=disclosure)


OUTCOMES = ("requested", "approved", "refused", "released")


def _year_bounds(operator: Operator, year: int) -> tuple[dt.datetime, dt.datetime]:
    zone = zone_of(operator)
    return (
        dt.datetime(year, 1, 1, tzinfo=zone),
        dt.datetime(year + 1, 1, 1, tzinfo=zone),
    )


def disclosure_counts(
    *, operator: Operator, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, int]]:
    """Requests filed, approved, refused and released in [start, end), by
    type of authority (every type listed, zeros included), in one aggregate
    query. An approved request later released counts as approved and as
    released."""

    def within(name: str) -> Q:
        return Q(**{f"{name}__gte": start, f"{name}__lt": end})

    rows = (
        Disclosure.objects.filter(operator=operator)
        .values("authority_type")
        .annotate(
            requested=Count("pk", filter=within("filed_at")),
            approved=Count(
                "pk",
                filter=within("decided_at")
                & Q(state__in=[DisclosureState.APPROVED, DisclosureState.RELEASED]),
            ),
            refused=Count("pk", filter=within("decided_at") & Q(state=DisclosureState.REFUSED)),
            released=Count("pk", filter=within("released_at")),
        )
        .order_by("authority_type")
    )
    counts = {kind: dict.fromkeys(OUTCOMES, 0) for kind in AuthorityType.values}
    for row in rows:
        counts[row["authority_type"]] = {name: row[name] for name in OUTCOMES}
    return counts


def disclosure_transparency(*, operator: Operator, year: int) -> dict[str, Any]:
    """The yearly transparency counts of an operator (its calendar year, in its
    time zone): totals and by type of authority. Counts only."""
    start, end = _year_bounds(operator, year)
    by_type = disclosure_counts(operator=operator, start=start, end=end)
    totals = {name: sum(row[name] for row in by_type.values()) for name in OUTCOMES}
    return {
        "operator": operator.code,
        "year": year,
        "time_zone": str(zone_of(operator)),
        **totals,
        "by_authority_type": by_type,
    }
