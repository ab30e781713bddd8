"""The end of a line's life: closing (by its holder's ``line_close`` or by the
operator), the number's rest (quarantine) and its return to the inventory,
and legal holds that keep a line open and its holder's data whole.

One service closes a line, whichever side asks (``line_close``): the kind's
completion rule (``kind_rules.apply_close``) and the operator's API and
console all call it, so the effects are the same and happen together, in
one database transaction:

1. the line, locked, is checked (not closed already, not under a legal hold);
2. its services end, its holding and address end, its status becomes
   ``closed`` with ``closed_at`` and the reason;
3. what the apps above keep about it ends with it (``hooks.line_closed``:
   re-verification cancels its open requests and its disputes' pending
   actions), and transactions still waiting on it are rejected;
4. the holder's count of open lines is told to identity (the retention term
   starts when their last line closes);
5. the number rests (``quarantined``) until the operator's quarantine term
   ends; ``numbers_release_due`` (beat and ``manage.py release_numbers``)
   gives it back;
6. a :class:`LineClosure` records who and why, and its holder alert is
   written; the alert's message is published after the commit (a lost one
   is swept, as for every holder alert).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.api import InvalidInput
from config.celery import enqueue, task_named
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.organisations import organisation_lines_record

from . import hooks
from .errors import LineAlreadyClosed, LineOnLegalHold, NoLegalHold
from .models import (
    OPERATOR_CLOSE_REASONS,
    CloseReason,
    Disclosure,
    HolderAlert,
    LegalHold,
    Line,
    LineAddress,
    LineClosure,
    LineHolding,
    LineService,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Transaction,
    TransactionEvent,
    TransactionState,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.models import Operator

logger = logging.getLogger(__name__)

SEND_CLOSURE_ALERT = "registration.tasks.send_closure_alert"
NOTE_MAX_LENGTH = 300
# A transaction still waiting on a line that closes is rejected with this code.
LINE_CLOSED_CODE = "line_closed"


def quarantine_days_for(operator: Operator) -> int:
    """How long a closed line's number rests: the operator's term, or
    ``TELEREG_QUARANTINE_DAYS`` where the operator sets none."""
    if operator.quarantine_days is not None:
        return operator.quarantine_days
    return settings.TELEREG_QUARANTINE_DAYS


def _text_problem(value: str, *, required: bool, max_length: int = NOTE_MAX_LENGTH) -> str | None:
    """Why a free text (a note, a hold's reason) is refused, or None."""
    if required and not value.strip():
        return gettext("This field is required.")
    if len(value) > max_length:
        return gettext("At most %(count)d characters.") % {"count": max_length}
    if problem := identity_selectors.address_problem(value) if value else None:
        return str(problem)
    return None


def close_input_check(*, reason: str, note: str) -> None:
    """An operator's closing as typed: a reason of theirs and a clean note,
    or InvalidInput naming the field (nothing is written)."""
    errors: dict[str, list[str]] = {}
    if reason not in OPERATOR_CLOSE_REASONS:
        errors["reason"] = [
            gettext("Choose one of: %(reasons)s.")
            % {"reasons": ", ".join(str(r.value) for r in OPERATOR_CLOSE_REASONS)}
        ]
    if problem := _text_problem(note, required=False):
        errors["note"] = [problem]
    if errors:
        raise InvalidInput(fields=errors)


def line_hold_in_force(line: Line) -> LegalHold | None:
    return LegalHold.objects.filter(line=line, lifted_at__isnull=True).first()


def line_close(
    *,
    line: Line,
    reason: str,
    actor: AbstractBaseUser | None,
    note: str = "",
    tx: Transaction | None = None,
    now: dt.datetime | None = None,
) -> LineClosure:
    """Close a line with every effect of closing (see the module docstring),
    in one database transaction (inside the caller's, when there is one).

    Guarantees: a line already closed is left as it is and its closing
    returned (closing twice is harmless); a line under a legal hold raises
    LineOnLegalHold and nothing changes; an unknown reason or a bad note
    raises InvalidInput and nothing changes."""
    if reason not in CloseReason.values:
        raise InvalidInput(fields={"reason": [gettext("Not a reason for closing a line.")]})
    if problem := _text_problem(note, required=False):
        raise InvalidInput(fields={"note": [problem]})
    now = now or timezone.now()
    with transaction.atomic():
        line = Line.objects.select_for_update().select_related("operator").get(pk=line.pk)
        if line.status == LineStatus.CLOSED:
            closure = LineClosure.objects.filter(line=line).first()
            if closure is None:  # closed before closings were recorded
                raise LineAlreadyClosed()
            return closure
        if line_hold_in_force(line) is not None:
            raise LineOnLegalHold(fields={"line": [str(LineOnLegalHold.message)]})
        _end_line(line, reason, now)
        hooks.line_closed(line, now, actor)
        _reject_waiting(line, tx, now)
        identity_services.person_lines_record(
            person_id=line.holder_id,
            lines_held=_open_lines(line.holder_id),
            last_closed_at=now,
        )
        if line.organisation_id is not None:
            # Issue 15: the organisation's count (its retention clock), and
            # its end user holds one line fewer.
            organisation_lines_record(
                organisation_id=line.organisation_id,
                lines_held=Line.objects.filter(organisation_id=line.organisation_id)
                .exclude(status=LineStatus.CLOSED)
                .count(),
                last_closed_at=now,
            )
        available_at = _quarantine(line, now)
        closure = LineClosure.objects.create(
            line=line,
            reason=reason,
            note=note.strip(),
            transaction=tx,
            actor=actor,
            actor_label=actor.get_username() if actor else "system",
            closed_at=now,
            number_available_at=available_at,
        )
        HolderAlert.objects.create(closure=closure, created_at=now, enqueued_at=now)
        transaction.on_commit(lambda: enqueue(task_named(SEND_CLOSURE_ALERT), closure.pk))
    logger.info("line #%s closed (%s)", line.pk, reason)
    return closure


def _end_line(line: Line, reason: str, now: dt.datetime) -> None:
    """The line's services, holding and address end; the line is closed."""
    LineService.objects.filter(line=line, deactivated_at__isnull=True).update(deactivated_at=now)
    LineHolding.objects.filter(line=line, ended_at__isnull=True).update(ended_at=now)
    LineAddress.objects.filter(line=line, ended_at__isnull=True).update(ended_at=now)
    line.status = LineStatus.CLOSED
    line.status_reason = reason
    line.status_changed_at = now
    line.closed_at = now
    line.close_reason = reason
    line.save(
        update_fields=[
            "status",
            "status_reason",
            "status_changed_at",
            "closed_at",
            "close_reason",
            "updated_at",
        ]
    )


def _reject_waiting(line: Line, tx: Transaction | None, now: dt.datetime) -> None:
    """Transactions still waiting for the authority on this line would apply
    to a line that no longer exists: rejected, keeping nothing they held."""
    waiting = Transaction.objects.filter(line=line, state=TransactionState.PENDING_VERIFICATION)
    if tx is not None:
        waiting = waiting.exclude(pk=tx.pk)
    ids = list(waiting.values_list("pk", flat=True))
    if not ids:
        return
    TransactionEvent.objects.bulk_create(
        TransactionEvent(
            transaction_id=pk,
            from_state=TransactionState.PENDING_VERIFICATION,
            to_state=TransactionState.REJECTED,
            actor_label="system",
            note=LINE_CLOSED_CODE,
            at=now,
        )
        for pk in ids
    )
    Transaction.objects.filter(pk__in=ids).update(
        state=TransactionState.REJECTED,
        refusal_code=LINE_CLOSED_CODE,
        refusal_message=str(LineAlreadyClosed.message)[:300],
        next_verification_at=None,
        pending_address_enc=None,
        applicant_identity_enc=None,
        new_holder_identity_enc=None,
        updated_at=now,
    )


def _open_lines(person_id: int) -> int:
    return Line.objects.filter(holder_id=person_id).exclude(status=LineStatus.CLOSED).count()


def _quarantine(line: Line, now: dt.datetime) -> dt.datetime:
    """The line's number rests until the operator's quarantine term ends
    (a term of 0 days: available at the next release run)."""
    until = now + dt.timedelta(days=quarantine_days_for(line.operator))
    PhoneNumber.objects.filter(operator_id=line.operator_id, number=line.number).update(
        status=NumberStatus.QUARANTINED, reserved_for=None, quarantined_until=until
    )
    return until


# --- The number's return -------------------------------------------------------------------


def numbers_release_due(*, now: dt.datetime | None = None) -> int:
    """Numbers whose quarantine has ended become available again; returns how
    many. The one path for it: the beat task and ``manage.py release_numbers``
    call this. A conditional UPDATE on the status: a number nobody has
    quarantined is never touched, and two runs at once release each once."""
    with transaction.atomic():
        return PhoneNumber.objects.filter(
            status=NumberStatus.QUARANTINED, quarantined_until__lte=now or timezone.now()
        ).update(status=NumberStatus.AVAILABLE, quarantined_until=None)


# --- Legal holds ---------------------------------------------------------------------------


def legal_hold_set(
    *,
    line: Line,
    reason: str,
    actor: AbstractBaseUser,
    now: dt.datetime | None = None,
    disclosure: Disclosure | None = None,
) -> LegalHold:
    """Put a line under a legal hold (with a reason, recorded with its actor
    and time, and the disclosure request it was set from, if any): until
    lifted, the line cannot be closed and its holder's data cannot be
    shredded. A hold already in force is returned unchanged."""
    if problem := _text_problem(reason, required=True):
        raise InvalidInput(fields={"reason": [problem]})
    now = now or timezone.now()
    with transaction.atomic():
        line = Line.objects.select_for_update().get(pk=line.pk)
        held = line_hold_in_force(line)
        if held is not None:
            return held
        hold = LegalHold.objects.create(
            line=line, reason=reason.strip(), set_by=actor, set_at=now, disclosure=disclosure
        )
        _tell_identity(line.holder_id)
    return hold


def legal_hold_lift(
    *, line: Line, reason: str, actor: AbstractBaseUser, now: dt.datetime | None = None
) -> LegalHold:
    """Lift the line's hold in force (with a reason, recorded with its actor
    and time); NoLegalHold when there is none."""
    if problem := _text_problem(reason, required=True):
        raise InvalidInput(fields={"reason": [problem]})
    now = now or timezone.now()
    with transaction.atomic():
        line = Line.objects.select_for_update().get(pk=line.pk)
        hold = LegalHold.objects.select_for_update().filter(line=line, lifted_at__isnull=True)
        hold = hold.first()
        if hold is None:
            raise NoLegalHold()
        hold.lifted_by, hold.lifted_at, hold.lift_reason = actor, now, reason.strip()
        hold.save(update_fields=["lifted_by", "lifted_at", "lift_reason"])
        _tell_identity(line.holder_id)
    return hold


def _tell_identity(person_id: int) -> None:
    """Whether any line of the person is under a hold in force, for retention."""
    held = LegalHold.objects.filter(line__holder_id=person_id, lifted_at__isnull=True).exists()
    identity_services.person_retention_hold(person_id=person_id, held=held)
