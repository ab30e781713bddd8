"""The rule functions of the business kinds (registration.kinds names them in
each KindSpec): what a kind checks while it is taken (``prepare_*``) and what
its completion changes (``apply_*``), where kinds truly differ. Each runs
inside the caller's atomic block; the line effects they share are here too."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from identity import services as identity_services
from identity.models import Person
from identity.organisations import organisation_lines_record

from . import closing, hooks, numbers, sims
from .errors import LineOnLegalHold, ServiceAlreadyActive, ServiceNotApplicable, ServiceNotFound
from .models import (
    CloseReason,
    Line,
    LineAddress,
    LineHolding,
    LineKind,
    LineService,
    LineStatus,
    LineUser,
    Service,
    Transaction,
)

if TYPE_CHECKING:
    from .kinds import Prepared

ADDRESS_FIELD = "installation_address"


# --- Take-time rules -----------------------------------------------------------------------


def prepare_service(prepared: Prepared) -> None:
    """An added service: in the operator's active catalog, for this kind of
    line, not already active on it."""
    line = prepared.line
    service = Service.objects.filter(
        operator=prepared.operator, code=prepared.request.service, active=True
    ).first()
    if service is None:
        raise ServiceNotFound()
    if line.kind not in service.line_kinds:
        raise ServiceNotApplicable(
            fields={
                "service": [
                    gettext("Not for %(kind)s lines.") % {"kind": line.get_kind_display().lower()}
                ]
            }
        )
    if LineService.objects.filter(line=line, service=service, deactivated_at__isnull=True).exists():
        raise ServiceAlreadyActive(fields={"service": [gettext("Already active on this line.")]})
    prepared.tx.service = service


def prepare_close(prepared: Prepared) -> None:
    """A holder's closing is refused at the counter while the line is under
    a legal hold (the rejected transaction records why)."""
    if closing.line_hold_in_force(prepared.line) is not None:
        raise LineOnLegalHold(fields={"line": [str(LineOnLegalHold.message)]})


# --- Completion rules ----------------------------------------------------------------------


def apply_open(tx: Transaction, now: dt.datetime) -> None:
    """A waiting opening completes: its reserved number becomes the line."""
    line = open_line(tx, now)
    numbers.assign(number=tx.number, transaction_id=tx.pk)
    LineHolding.objects.create(line=line, holder=tx.applicant, started_at=now, transaction=tx)
    if tx.pending_address_enc is not None:
        set_address(line, tx, now)
    # The line's first SIM: not a SIM change.
    sims.sim_install(line=line, tx=tx, now=now, change=False)


@sensitive_variables()
def apply_transfer(tx: Transaction, now: dt.datetime) -> None:
    """The new holder holds the line from now on (a landline's address moves
    to their key); both persons' counts of open lines follow."""
    line = Line.objects.select_for_update().get(pk=tx.line_id)
    old = line.holder
    LineHolding.objects.filter(line=line, ended_at__isnull=True).update(ended_at=now)
    LineHolding.objects.create(line=line, holder=tx.new_holder, started_at=now, transaction=tx)
    if line.kind == LineKind.LANDLINE:
        current = LineAddress.objects.filter(line=line, ended_at__isnull=True).first()
        if current is not None:
            # The address moves to the new holder's key; the old copy ends.
            value = identity_services.value_open(
                person=old,
                context=line.address_subject,
                field=ADDRESS_FIELD,
                blob=current.address_enc,
            )
            line.holder = tx.new_holder
            blob = identity_services.value_seal(
                person=tx.new_holder, context=line.address_subject, field=ADDRESS_FIELD, value=value
            )
            LineAddress.objects.filter(pk=current.pk).update(ended_at=now)
            LineAddress.objects.create(
                line=line, holder=tx.new_holder, address_enc=blob, started_at=now, transaction=tx
            )
            line.installation_address_enc = blob
    line.holder = tx.new_holder
    organisation_id = line.organisation_id
    if organisation_id is not None:
        # Issue 15: an organisation's line, transferred by its handler, is
        # the new holder's (a person's own, or another organisation's); its
        # end user's record ends.
        line.user = None
        LineUser.objects.filter(line=line, ended_at__isnull=True).update(ended_at=now)
    # A transfer to an organisation (its handler as the new holder) makes it
    # the organisation's line.
    line.organisation_id = tx.organisation_id
    line.save()
    for org_id in {organisation_id, tx.organisation_id} - {None}:
        organisation_lines_record(
            organisation_id=org_id,
            lines_held=Line.objects.filter(organisation_id=org_id)
            .exclude(status=LineStatus.CLOSED)
            .count(),
            last_closed_at=now if org_id == organisation_id else None,
        )
    for person_id in {old.pk, tx.new_holder_id}:
        update_person_lines(person_id, now if person_id == old.pk else None)


def apply_relocate(tx: Transaction, now: dt.datetime) -> None:
    line = Line.objects.select_for_update().get(pk=tx.line_id)
    set_address(line, tx, now)


def apply_close(tx: Transaction, now: dt.datetime) -> None:
    """The holder's closing completes: the one closing service, at the
    holder's request, by the clerk who took it."""
    closure = closing.line_close(
        line=tx.line, reason=CloseReason.HOLDER_REQUEST, actor=tx.staff, tx=tx, now=now
    )
    tx.line = closure.line  # as closed, for the caller's answer


def apply_sim_replace(tx: Transaction, now: dt.datetime) -> None:
    """The new SIM replaces the one in use: a SIM change (``changed_at``)."""
    sims.sim_install(line=tx.line, tx=tx, now=now, change=True)


def apply_service(tx: Transaction, now: dt.datetime) -> None:
    LineService.objects.create(
        line_id=tx.line_id, service=tx.service, activated_at=now, transaction=tx
    )


# --- Line effects the kinds share ----------------------------------------------------------


@sensitive_variables()
def pending_address_seal(tx: Transaction, holder: Person, address: str) -> None:
    """The installation address given, held on the waiting transaction under
    the holder's key (not saved)."""
    tx.pending_address_enc = identity_services.value_seal(
        person=holder,
        context=f"transaction:{tx.uid}",
        field=ADDRESS_FIELD,
        value=" ".join(address.split()),
    )


@sensitive_variables()
def set_address(line: Line, tx: Transaction, now: dt.datetime) -> None:
    value = identity_services.value_open(
        person=line.holder,
        context=f"transaction:{tx.uid}",
        field=ADDRESS_FIELD,
        blob=tx.pending_address_enc,
    )
    store_address(line, tx, value, now)


@sensitive_variables()
def store_address(
    line: Line, tx: Transaction, value: str, now: dt.datetime, *, first: bool = False
) -> None:
    """The line's installation address from now on, sealed to its holder and
    the line; the previous one ends (``first``: a new line has none)."""
    holder = line.holder
    blob = identity_services.value_seal(
        person=holder, context=line.address_subject, field=ADDRESS_FIELD, value=value
    )
    if not first:
        LineAddress.objects.filter(line=line, ended_at__isnull=True).update(ended_at=now)
    LineAddress.objects.create(
        line=line, holder=holder, address_enc=blob, started_at=now, transaction=tx
    )
    line.installation_address_enc = blob
    line.save()


def open_line(tx: Transaction, now: dt.datetime) -> Line:
    """The new line of an opening, and its holder's count of open lines. A
    number an earlier line closed with is recycled: the line says since when
    (``recycled_at``), for its receipt and the partners' recycling check."""
    used_before = Line.objects.filter(
        operator_id=tx.operator_id, number=tx.number, status=LineStatus.CLOSED
    ).exists()
    line = Line.objects.create(
        number=tx.number,
        kind=tx.line_kind,
        operator=tx.operator,
        holder=tx.applicant,
        status=LineStatus.ACTIVE,
        store=tx.store,
        recycled_at=now if used_before else None,
        stay_until=tx.stay_until,
        organisation_id=tx.organisation_id,
    )
    # Velocity rules and the like, above registration, after the commit; robust:
    # their failure never turns a committed opening into an error.
    transaction.on_commit(lambda: hooks.line_opened(line.pk), robust=True)
    if tx.organisation_id is not None:
        organisation_lines_record(
            organisation_id=tx.organisation_id,
            lines_held=Line.objects.filter(organisation_id=tx.organisation_id)
            .exclude(status=LineStatus.CLOSED)
            .count(),
        )
    Person.objects.filter(pk=tx.applicant_id).update(
        lines_held=Coalesce(
            Subquery(
                Line.objects.filter(holder_id=OuterRef("pk"))
                .exclude(status=LineStatus.CLOSED)
                .order_by()
                .values("holder_id")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            Value(0),
        )
    )
    tx.line = line
    return line


def open_lines(person_id: int) -> int:
    return Line.objects.filter(holder_id=person_id).exclude(status=LineStatus.CLOSED).count()


def update_person_lines(person_id: int, closed_at: dt.datetime | None) -> None:
    """Tell identity the person's count of open lines and, when a line of
    theirs has just ended (``closed_at``) and it was their last, when: the
    retention term runs from then."""
    identity_services.person_lines_record(
        person_id=person_id, lines_held=open_lines(person_id), last_closed_at=closed_at
    )
