"""Reads of lines, numbers, services and transactions, scoped and masked."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q, QuerySet

from identity import organisations
from identity import selectors as identity_selectors
from identity.models import Person
from identity.types import IdentityData
from operators.models import Operator, Store
from operators.sqlrows import ModelColumns, per_connection
from operators.tenancy import Scope, scope_for, scoped, staff_of

from . import kinds
from .errors import LineNotFound
from .models import (
    HolderAlertMessage,
    Line,
    LineKind,
    LineService,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Service,
    SimCard,
    Transaction,
    TransactionState,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from operators.tenancy import AnyUser


def line_list(*, user: AnyUser) -> QuerySet[Line]:
    return scoped(Line.objects.select_related("holder", "store", "operator"), user)


# Where the look-up by number leaves the line's SIM in use (a SimCard or
# None) for line_sim, read in the same statement as the line.
SIM_IN_USE = "_sim_in_use"
_UNREAD = object()


class _LinesByNumber:
    """``line_list(user=user).filter(number=number).order_by("number")`` as
    SQL written once per connection (operators.sqlrows): the look-up by number
    is the hottest read of the API. Tenancy as :func:`operators.tenancy.scoped`
    applies it to lines: platform admins see every operator's, staff their
    operator's (lines name no store path: clerks look up any line of theirs)."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        line = self.line = ModelColumns(connection, Line, "l")
        holder = self.holder = ModelColumns(connection, Person, "p")
        store = self.store = ModelColumns(connection, Store, "st")
        sim = self.sim = ModelColumns(connection, SimCard, "sim")
        self.connection = connection
        select = (
            f"SELECT {line.select}, {holder.select}, {store.select}, {sim.select}"  # noqa: S608
            f" FROM {line.table}"
            f" INNER JOIN {holder.table} ON {line.column('holder')} = {holder.column('id')}"
            f" INNER JOIN {store.table} ON {line.column('store')} = {store.column('id')}"
            # The SIM in use, if any (one per line: a partial unique index).
            f" LEFT JOIN {sim.table} ON {sim.column('line')} = {line.column('id')}"
            f" AND {sim.column('replaced_at')} IS NULL"
            f" WHERE {line.column('number')} = %s"
        )
        self.select, self.order = select, f" ORDER BY {line.column('number')}"
        self.statements: dict[str, str] = {}
        self.holder_field = Line._meta.get_field("holder")
        self.store_field = Line._meta.get_field("store")
        self.operator_field = Line._meta.get_field("operator")

    def fetch(self, number: str, scope: Scope, operator=None) -> list[Line]:
        condition, params = self.line.scope_sql(scope)
        sql = self.statements.get(condition)
        if sql is None:
            sql = self.statements[condition] = self.select + condition + self.order
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [number, *params])
            rows = cursor.fetchall()
        lines = []
        for row in rows:
            line = self.line.build(row, 0)
            self.holder_field.set_cached_value(line, self.holder.build(row, self.line.width))
            start = self.line.width + self.holder.width
            self.store_field.set_cached_value(line, self.store.build(row, start))
            line.__dict__[SIM_IN_USE] = self.sim.build(row, start + self.store.width)
            if operator is not None:
                self.operator_field.set_cached_value(line, operator)
            lines.append(line)
        return lines


_lines_by_number = per_connection(_LinesByNumber)


def lines_by_number(*, user: AnyUser, number: str) -> list[Line]:
    """The lines (open or closed) with this E.164 number that ``user`` may see,
    with holder and store: what ``line_list(user=user).filter(number=number)``
    returns, in one precompiled statement."""
    query = _lines_by_number(connections[DEFAULT_DB_ALIAS])
    scope = scope_for(user, Line)
    if scope.nothing:
        return []
    operator = None if scope.everything else staff_of(user).operator
    return query.fetch(number, scope, operator)


def line_current(*, user: AnyUser, number: str) -> Line | None:
    """What a number names for ``user``: its open line, or, while the number
    has not been given to another line, the line that last closed with it
    (readable with status ``closed``); None when neither is theirs to see."""
    lines = line_list(user=user).filter(number=number)
    open_line = lines.exclude(status=LineStatus.CLOSED).first()
    if open_line is not None:
        return open_line
    return lines.filter(status=LineStatus.CLOSED).order_by("-closed_at", "-pk").first()


def line_masked_holder(line: Line) -> dict[str, str | None]:
    """The holder as line surfaces show them: masked name and document only
    (nothing else is decrypted); an organisation's line shows the
    organisation (``{"type": "organisation", "name", "uscc"}``, masked)."""
    if line.organisation_id is not None:
        return organisations.organisation_masked(line.organisation)
    return identity_selectors.person_masked(line.holder, fields=("name", "id_number"))


def line_masked_address(line: Line) -> str | None:
    return identity_selectors.value_masked(
        line.holder,
        context=line.address_subject,
        field="installation_address",
        blob=line.installation_address_enc,
    )


def transaction_party_masked(tx: Transaction) -> dict[str, str | None] | None:
    """A waiting transaction's consenting party as the clerk typed them,
    masked: never the stored person's data, which the applicant has not been
    verified to own. None when the transaction holds no identity (it ended,
    or was parked before identities were held on transactions)."""
    if tx.new_holder_id is not None:
        person, blob, party = tx.new_holder, tx.new_holder_identity_enc, "new_holder"
    else:
        person, blob, party = tx.applicant, tx.applicant_identity_enc, "applicant"
    if person is None or blob is None:
        return None
    return identity_selectors.held_identity_masked(
        person=person,
        context=tx.held_identity_context(party),
        blob=bytes(blob),
        fields=("name", "id_number"),
    )


def numbers_available(*, user: AnyUser, kind: str, pattern: str = "") -> QuerySet[PhoneNumber]:
    qs = scoped(PhoneNumber.objects.all(), user).filter(kind=kind, status=NumberStatus.AVAILABLE)
    digits = "".join(ch for ch in pattern if ch.isdigit())
    if digits:
        qs = qs.filter(number__contains=digits)
    return qs.order_by("number")


def service_list(*, user: AnyUser) -> QuerySet[Service]:
    return scoped(Service.objects.filter(active=True), user)


def transaction_list(*, user: AnyUser) -> QuerySet[Transaction]:
    return scoped(
        Transaction.objects.select_related("line__holder", "store", "staff", "service"), user
    )


class _PersonLines:
    """A person by operator and blind index, with their open lines and each
    line's store, in one statement written once per connection
    (operators.sqlrows): ``Person.objects.filter(operator=..., doc_index=...)``
    and ``scoped(Line.objects.select_related("store"), user).filter(
    holder=person).exclude(status="closed").order_by("number")``."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        person = self.person = ModelColumns(connection, Person, "p")
        line = self.line = ModelColumns(connection, Line, "l")
        store = self.store = ModelColumns(connection, Store, "st")
        self.connection = connection

        def statement(line_condition: str) -> str:
            # The line condition is the tenancy scope's (scope_sql): its
            # parameters come between the status's and the person's.
            return (
                f"SELECT {person.select}, {line.select}, {store.select}"  # noqa: S608
                f" FROM {person.table} LEFT OUTER JOIN {line.table}"
                f" ON {line.column('holder')} = {person.column('id')}"
                f" AND NOT ({line.column('status')} = %s){line_condition}"
                f" LEFT OUTER JOIN {store.table} ON {line.column('store')} = {store.column('id')}"
                f" WHERE {person.column('operator')} = %s AND {person.column('doc_index')} = %s"
                f" ORDER BY {line.column('number')}"
            )

        self.statement = statement
        self.statements: dict[str, str] = {}
        self.store_field = Line._meta.get_field("store")

    def fetch(
        self, *, operator_id: int, doc_index: str, scope: Scope
    ) -> tuple[Person | None, list[Line]]:
        condition, scope_params = self.line.scope_sql(scope)
        sql = self.statements.get(condition)
        if sql is None:
            sql = self.statements[condition] = self.statement(condition)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [LineStatus.CLOSED, *scope_params, operator_id, doc_index])
            rows = cursor.fetchall()
        if not rows:
            return None, []
        person = self.person.build(rows[0], 0)
        lines = []
        for row in rows:
            line = self.line.build(row, self.person.width)
            if line is not None:
                start = self.person.width + self.line.width
                self.store_field.set_cached_value(line, self.store.build(row, start))
                lines.append(line)
        return person, lines


_person_lines = per_connection(_PersonLines)


def lookup_operator(*, user: AnyUser):
    """The operator whose persons ``user`` looks up (a platform admin's through
    their staff profile, even an inactive one), or None."""
    staff = staff_of(user)
    if staff is not None:
        return staff.operator
    return getattr(getattr(user, "staff", None), "operator", None)


def person_lines(*, user: AnyUser, id_type: str, id_number: str):
    """A person found by document through the blind index (never a scan), with
    the open lines they hold, within the caller's operator: ``(person, lines)``
    or ``(None, [])``. Masked on the way out, like every default view."""
    staff = staff_of(user)
    staff_operator = (
        staff.operator
        if staff is not None
        # A platform admin may have no active profile (or an inactive one).
        else getattr(getattr(user, "staff", None), "operator", None)
    )
    if staff_operator is None:
        return None, []
    doc_index = identity_selectors.document_index(id_type=id_type, id_number=id_number)
    # The lines as operators.tenancy.scoped shows them: platform admins every
    # operator's, staff their operator's.
    scope = scope_for(user, Line)
    if scope.nothing:
        # Sees no line at all.
        person = Person.objects.filter(operator=staff_operator, doc_index=doc_index).first()
        return person, []
    return _person_lines(connections[DEFAULT_DB_ALIAS]).fetch(
        operator_id=staff_operator.pk, doc_index=doc_index, scope=scope
    )


def line_holder_is(*, line: Line, identity: IdentityData) -> bool:
    """Whether the identity given (its document) is the registered holder of
    the line: the one test every business kind, the re-verification answer
    (link and in store), /my-lines/ and the console use."""
    holder = line.holder
    return identity_selectors.document_matches(
        id_type=holder.id_type,
        doc_index=holder.doc_index,
        identity_type=identity.id_type,
        identity_number=identity.id_number,
    )


def kinds_that_alert() -> list[str]:
    """The business kinds whose completion tells the holder on their other lines."""
    return kinds.kinds_that_alert()


def alerted_person_id(tx: Transaction) -> int | None:
    """Whom a completed transaction's holder alert is for: its consenting
    party (the new holder of a transfer, the applicant otherwise), or None for
    a kind that alerts nobody."""
    if tx.kind not in kinds_that_alert():
        return None
    return tx.new_holder_id if kinds.get(tx.kind).consenting == "new_holder" else tx.applicant_id


def holder_alert_messages(tx: Transaction) -> list[dict[str, object]]:
    """The messages of a transaction's holder alert, one per line told, the
    numbers masked: for the console."""
    rows = (
        HolderAlertMessage.objects.filter(alert__transaction=tx)
        .select_related("line")
        .order_by("pk")
    )
    return [
        {
            "number": identity_selectors.phone_masked(row.line.number),
            "channel": row.channel,
            "state": row.get_state_display(),
            "error": row.error,
            "sent_at": row.sent_at,
        }
        for row in rows
    ]


# --- The receipt, its public check, the transactions list and the line's history -------------


def transaction_holder_masked(tx: Transaction) -> dict[str, str | None] | None:
    """The person the transaction is about, masked: while it waits, the
    identity as typed on it; then the line's holder when the line is theirs,
    otherwise the transaction's own party (a line may have moved on since)."""
    if tx.state == TransactionState.PENDING_VERIFICATION:
        # Not verified yet: what the clerk typed, never the person on file.
        return transaction_party_masked(tx)
    person_id = tx.new_holder_id or tx.applicant_id
    if tx.line is not None and tx.line.holder_id == person_id:
        return line_masked_holder(tx.line)
    person = tx.new_holder or tx.applicant
    if person is None:
        return None
    return identity_selectors.person_masked(person, fields=("name", "id_number"))


def _held_party_masked(tx: Transaction, party: str) -> dict[str, str | None] | None:
    """A waiting transaction's party as typed, masked: ``party`` names the
    identity block (``holder`` of a transfer is sealed on the applicant's
    column, under the applicant's key, bound to the party's own name)."""
    person, blob = (
        (tx.new_holder, tx.new_holder_identity_enc)
        if party == "new_holder"
        else (tx.applicant, tx.applicant_identity_enc)
    )
    if person is None:
        return None
    if blob is None:
        return identity_selectors.person_masked(person, fields=("name", "id_number"))
    return identity_selectors.held_identity_masked(
        person=person,
        context=tx.held_identity_context(party),
        blob=bytes(blob),
        fields=("name", "id_number"),
    )


def transaction_parties_masked(tx: Transaction) -> list[dict[str, str | None]]:
    """Every party the receipt names, masked, each with its ``party`` code
    (applicant; holder and new_holder for a transfer). A rejected transaction
    names nobody: it holds no personal data. While a transaction waits, each
    party is shown as typed (held on the transaction), never the stored person."""
    if tx.state == TransactionState.REJECTED:
        return []
    transfers = kinds.known(tx.kind) and kinds.get(tx.kind).transfers
    if not transfers:
        holder = transaction_holder_masked(tx)
        return [{"party": "applicant", **holder}] if holder else []
    pending = tx.state == TransactionState.PENDING_VERIFICATION
    parties = []
    for party, person in (("holder", tx.applicant), ("new_holder", tx.new_holder)):
        if person is None:
            continue
        masked = (
            _held_party_masked(tx, party)
            if pending
            else identity_selectors.person_masked(person, fields=("name", "id_number"))
        )
        if masked:
            parties.append({"party": party, **masked})
    return parties


def line_services_active(line: Line) -> list[LineService]:
    """The added services active on a line now, by name."""
    return list(
        LineService.objects.filter(line=line, deactivated_at__isnull=True)
        .select_related("service")
        .order_by("service__name")
    )


def transaction_services(tx: Transaction) -> list[Service]:
    """What a receipt lists as services: the one an added-service transaction
    took, then the others active on its line (each once)."""
    shown: list[Service] = [tx.service] if tx.service is not None else []
    if tx.line is not None and tx.state == TransactionState.COMPLETED:
        shown += [
            row.service for row in line_services_active(tx.line) if row.service_id != tx.service_id
        ]
    return shown


def receipt_public(*, uid: uuid.UUID) -> dict[str, object] | None:
    """A receipt as its public check shows it (no sign-in: the caller holds a
    signed token naming ``uid``): masked number, masked holder name, and what
    is not personal. None when no such transaction exists."""
    tx = (
        Transaction.objects.select_related(
            "operator", "store", "line__holder", "applicant", "new_holder"
        )
        .filter(uid=uid)
        .first()
    )
    if tx is None:
        return None
    holder = transaction_holder_masked(tx) if tx.state != TransactionState.REJECTED else None
    return {
        "reference": tx.reference,
        "kind_label": kinds.label(tx.kind),
        "state": tx.state,
        "state_label": tx.get_state_display(),
        "created_at": tx.created_at,
        "operator": tx.operator.name,
        "store": tx.store.name,
        "number": identity_selectors.phone_masked(tx.number) if tx.number else "",
        "holder_name": holder["name"] if holder else "",
    }


@dataclass(frozen=True)
class TransactionFilter:
    """What the transactions list is narrowed to (all optional)."""

    kind: str = ""
    state: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    reference: str = ""


def transaction_search(*, user: AnyUser, criteria: TransactionFilter) -> QuerySet[Transaction]:
    """The transactions ``user`` may see (as :func:`transaction_list`), newest
    first, narrowed by kind, state, the day they were taken (in the current
    time zone) and a part of the reference."""
    qs = transaction_list(user=user)
    if criteria.kind:
        qs = qs.filter(kind=criteria.kind)
    if criteria.state:
        qs = qs.filter(state=criteria.state)
    if criteria.date_from:
        qs = qs.filter(created_at__date__gte=criteria.date_from)
    if criteria.date_to:
        qs = qs.filter(created_at__date__lte=criteria.date_to)
    if criteria.reference:
        qs = qs.filter(reference__icontains=criteria.reference)
    return qs.order_by("-created_at", "-pk")


def line_history(*, user: AnyUser, line: Line) -> list[dict[str, object]]:
    """The transactions on a line, newest first, as the look-up shows them:
    kind, day, store and state, nobody's data. Every transaction of the line
    (the line is the operator's, whichever store took it); ``uid`` only where
    ``user`` may open its receipt, so a clerk never gets a link to another
    store's."""
    rows = (
        Transaction.objects.filter(line=line, operator_id=line.operator_id)
        .select_related("store")
        .order_by("-created_at", "-pk")
    )
    openable = set(transaction_list(user=user).filter(line=line).values_list("uid", flat=True))
    return [
        {
            # Another store's reference is not the clerk's to follow up.
            "reference": tx.reference if tx.uid in openable else "",
            "uid": tx.uid if tx.uid in openable else None,
            "kind_label": kinds.label(tx.kind),
            "state": tx.state,
            "state_label": tx.get_state_display(),
            "created_at": tx.created_at,
            "store": tx.store,
        }
        for tx in rows
    ]


def lines_held_count(*, person: Person, kind: str) -> int:
    """Open lines of a kind held by a person, plus openings and transfers to
    them still waiting for the authority (they will become lines): each kind
    the cap applies to, counted on its consenting party. What the per-person
    cap is checked against, at the counter's identity step and at submit."""
    # An organisation's lines count toward its own cap, not its handler's;
    # one whose end user is this person counts toward theirs (issue 15).
    lines = (
        Line.objects.filter(Q(holder=person, organisation__isnull=True) | Q(user=person), kind=kind)
        .exclude(status=LineStatus.CLOSED)
        .count()
    )
    capped: dict[str, list[str]] = {}
    for spec in kinds.all_specs():
        if spec.cap_applies:
            capped.setdefault(spec.consenting, []).append(spec.kind)
    towards = Q(pk__in=[])
    for party, party_kinds in sorted(capped.items()):
        towards |= Q(**{party: person, "kind__in": party_kinds})
    pending = Transaction.objects.filter(
        towards,
        line_kind=kind,
        state=TransactionState.PENDING_VERIFICATION,
        organisation__isnull=True,
    ).count()
    return lines + pending


def line_cap(*, operator: Operator, kind: str) -> int:
    """How many lines of a kind one person may hold at this operator."""
    return operator.mobile_line_cap if kind == LineKind.MOBILE else operator.landline_line_cap


# --- SIMs ------------------------------------------------------------------------------


def sim_last_changed_at(line: Line) -> dt.datetime | None:
    """When the line's SIM last changed (a ``sim_replace`` completed), or
    None when it never did: the SIM given at the line's opening is not a
    change. What the partner SIM-swap API answers from (no personal data)."""
    return (
        SimCard.objects.filter(line=line, changed_at__isnull=False)
        .order_by("-changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )


def number_sim_last_changed_at(*, operator: Operator, number: str) -> dt.datetime | None:
    """When the SIM of the operator's line with ``number`` (its latest line:
    a recycled number answers for its new holder) last changed, or None when
    it never did. Raises LineNotFound when no line of this operator ever had
    the number, so one operator's partner learns nothing of another's."""
    line = (
        Line.objects.filter(operator=operator, number=number)
        .order_by("-registered_at", "-pk")
        .first()
    )
    if line is None:
        raise LineNotFound()
    return sim_last_changed_at(line)


def line_sim(line: Line) -> dict[str, object] | None:
    """The line's SIM in use as surfaces show it (kind, last 4 digits, when it
    last changed), or None when no SIM was ever recorded for the line. The
    SIM in use is the latest installed, so its ``changed_at`` is the line's
    last SIM change (None: its first SIM, from the opening). Read with the
    line by the look-up by number (``lines_by_number``), else one query."""
    sim = line.__dict__.get(SIM_IN_USE, _UNREAD)
    if sim is _UNREAD:
        sim = SimCard.objects.filter(line=line, replaced_at__isnull=True).first()
    if sim is None:
        return None
    return {"kind": sim.kind, "last4": sim.last4, "changed_at": sim.changed_at}


def recent_sim_changes(*, user: AnyUser, since: dt.datetime) -> QuerySet[SimCard]:
    """SIM changes (replacements, not openings) since a time, of the lines
    the staff member may see, newest first."""
    return (
        scoped(SimCard.objects.all(), user)
        .filter(changed_at__gte=since)
        .select_related("line", "transaction__store")
        .order_by("-changed_at")
    )
