"""The six business kinds: one service that takes a request, checks every rule
the kind demands, and completes, rejects or parks the transaction.

Order of work, and why:
1. Validate identity blocks and the consent (nothing stored on failure).
2. Ask the authority, outside any database transaction (never hold row locks
   while a remote service thinks).
3. In one atomic block: store persons (consent first), lock the rows whose
   invariants matter (the person, for the cap; the line; inventory rows with
   a conditional update or SKIP LOCKED), check the kind's rules, write.
A refusal rolls the block back and then records the rejected transaction
alone, without personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from config.celery import enqueue, task_named
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.authority import AuthorityResult, Outcome
from identity.errors import (
    ConsentRefused,
    IdentityInvalid,
    IdentityMismatch,
    PersonShredded,
    RevealNotAllowed,
)
from identity.models import ConsentChannel, Person, VerificationStatus
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.tenancy import staff_of

from . import hooks, kind_rules, kinds, numbers, portrait_check, representatives, sims
from .errors import (
    CapReached,
    HolderMismatch,
    IdentityMismatchRefused,
    IdentityNotVerified,
    LineNotActive,
    LineNotFound,
    LineWrongKind,
    NotCancellable,
    RegistrationRefused,
    StoreInactive,
    TransferToSelf,
)
from .models import (
    HolderAlert,
    Line,
    LineHolding,
    LineKind,
    LineStatus,
    PortraitOutcome,
    PortraitReview,
    Transaction,
    TransactionEvent,
    TransactionState,
)
from .selectors import line_cap, line_holder_is, lines_held_count

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.models import Operator, StaffMember

logger = logging.getLogger(__name__)
# The tasks that call these services, published by name (see config.celery.task_named).
VERIFY_PENDING = "registration.tasks.verify_pending"
SEND_HOLDER_ALERT = "registration.tasks.send_holder_alert"

VERIFY_BACKOFF_SECONDS = [30, 60, 120, 300, 600, 1800, 3600]


@dataclass
class TransactionRequest:
    """A parsed request of any kind (the API body or the store wizard)."""

    kind: str
    consent: ConsentInput
    applicant: IdentityData | None = None
    holder: IdentityData | None = None
    new_holder: IdentityData | None = None
    number: str | None = None
    line: str | None = None
    installation_address: str | None = None
    service: str | None = None
    iccid: str | None = None
    eid: str | None = None
    stay_until: dt.date | None = None
    channel: str = ConsentChannel.STORE
    # The portrait block (registration.portrait_check), for the consenting party.
    portrait: portrait_check.PortraitInput | None = None
    # Issue 15 (registration.representatives): an organisation's opening
    # (subscriber, handler, authorization), an agent (with an authorization),
    # a minor's guardian and their relation.
    subscriber: representatives.OrganisationInput | None = None
    handler: IdentityData | None = None
    agent: IdentityData | None = None
    guardian: IdentityData | None = None
    guardian_relation: str | None = None
    authorization: representatives.AuthorizationInput | None = None

    def __repr__(self) -> str:
        return f"TransactionRequest(kind={self.kind!r})"


@dataclass
class _Checked:
    identities: dict[str, IdentityData] = field(default_factory=dict)
    results: dict[str, AuthorityResult] = field(default_factory=dict)


def _reference(operator: Operator) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    suffix = "".join(secrets.choice(alphabet) for _ in range(6))
    return f"{operator.code.upper()[:6]}-{timezone.localdate():%y%m%d}-{suffix}"


def _event(tx: Transaction, to_state: str, actor: AbstractBaseUser | None, note: str = "") -> None:
    from_state = tx.state if tx.pk and tx.state != to_state else ""
    _event_row(tx, from_state, to_state, actor, note, timezone.now()).save(force_insert=True)


def _event_row(
    tx: Transaction,
    from_state: str,
    to_state: str,
    actor: AbstractBaseUser | None,
    note: str,
    at: dt.datetime,
) -> TransactionEvent:
    return TransactionEvent(
        transaction=tx,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        actor_label=actor.get_username() if actor else "system",
        note=note[:300],
        at=at,
    )


def _parties(kind: str) -> list[str]:
    return list(kinds.get(kind).parties)


def _consenting_party(kind: str) -> str:
    return kinds.get(kind).consenting


@sensitive_variables()
def _validate(operator: Operator, request: TransactionRequest) -> dict[str, IdentityData]:
    """Every identity block of the request, normalised; all errors at once."""
    errors: dict[str, list[str]] = {}
    identities: dict[str, IdentityData] = {}
    if not kinds.known(request.kind):
        raise IdentityInvalid({"kind": [gettext("No such business kind.")]})
    spec = kinds.get(request.kind)
    for party in spec.parties:
        identity = getattr(request, party)
        if identity is None:
            errors[party] = [gettext("This identity is required for this kind.")]
            continue
        try:
            identities[party] = identity_services.identity_validate(
                operator=operator,
                identity=identity,
                require_address=spec.identity_address_required
                and getattr(request, "subscriber", None) is None,
                # A minor with a guardian (registration.representatives).
                min_age=0
                if party == spec.consenting and getattr(request, "guardian", None) is not None
                else None,
            )
        except IdentityInvalid as exc:
            for name, reasons in exc.errors.items():
                errors[f"{party}.{name}"] = reasons
    if "installation_address" in spec.fields:
        if not (request.installation_address or "").strip():
            if "installation_address" in spec.required:
                errors["installation_address"] = [gettext("The installation address is required.")]
        elif problem := identity_selectors.address_problem(request.installation_address):
            errors["installation_address"] = [str(problem)]
    if "number" in spec.fields and request.number:
        try:
            request.number = numbers.to_e164(
                request.number, country=operator.country, kind=spec.line_kind
            )
        except numbers.InvalidNumber as exc:
            errors["number"] = [str(exc)]
    if "line" in spec.fields:
        if not request.line:
            errors["line"] = [gettext("The line's number is required.")]
        else:
            try:
                request.line = numbers.to_e164(request.line, country=operator.country)
            except numbers.InvalidNumber as exc:
                errors["line"] = [str(exc)]
    if "service" in spec.required and not request.service:
        errors["service"] = [gettext("The service code is required.")]
    if kinds.SIM_FIELDS & spec.fields:
        errors.update(sims.sim_errors(_sim_values(request), required=spec.sim_required))
    if request.stay_until is not None:
        if reason := _stay_problem(spec, identities.get(spec.consenting), request.stay_until):
            errors["stay_until"] = [reason]
    if errors:
        raise IdentityInvalid(errors)
    return identities


def _sim_values(request: TransactionRequest) -> dict[str, str | None]:
    return {name: getattr(request, name) for name in sims.SIM_FIELDS}


# The document a visitor's line is sold on; only its holders give a stay.
VISITOR_DOCUMENT = "foreign_passport"
STAY_HORIZON_DAYS = 3660  # when the passport gives no expiry


def _stay_problem(spec: kinds.KindSpec, party: IdentityData | None, stay: dt.date) -> str | None:
    """Why ``stay`` cannot be the last day of this visitor's line, or None:
    only an opening that takes it, for a holder of a foreign passport, a day
    after today and not after the passport expires."""
    if "stay_until" not in spec.fields:
        return gettext("This kind of transaction takes no end of stay.")
    if party is None:
        return None  # the identity's own error is told
    if party.id_type != VISITOR_DOCUMENT:
        return gettext("Only a holder of a foreign passport gives an end of stay.")
    today = timezone.localdate()
    if stay <= today:
        return gettext("The end of stay must be after today.")
    if party.id_expiry is not None and stay > party.id_expiry:
        return gettext("The end of stay cannot be after the passport expires.")
    if (stay - today).days > STAY_HORIZON_DAYS:
        return gettext("The end of stay must be within %(days)s days from today.") % {
            "days": STAY_HORIZON_DAYS
        }
    return None


def _verify(
    operator: Operator, identities: dict[str, IdentityData], actor, store
) -> dict[str, AuthorityResult]:
    """Ask the authority about each party (each check is in the access log)."""
    return {
        party: identity_services.authority_verify(
            operator=operator, identity=identity, actor=actor, store=store, party=party
        )
        for party, identity in identities.items()
    }


def _refuse_on_authority(results: dict[str, AuthorityResult]) -> None:
    for party, result in results.items():
        if result.is_definitive and not result.is_match:
            raise IdentityNotVerified(party=party, outcome=str(result.outcome))


def _lines_held(person: Person, kind: str) -> int:
    """Lines of a kind held by a person, as the cap counts them (selectors)."""
    return lines_held_count(person=person, kind=kind)


def _check_cap(operator: Operator, person: Person, kind: str) -> None:
    # The person row is locked already: person_register, earlier in this
    # transaction, read it FOR UPDATE or inserted it. Concurrent openings for
    # one document queue there, so the count they see includes each other's.
    # A person this transaction inserted holds nothing yet (nothing else can
    # name an uncommitted row), so there is nothing to count.
    cap = line_cap(operator=operator, kind=kind)
    held = 0 if getattr(person, "registered_now", False) else _lines_held(person, kind)
    if held >= cap:
        raise CapReached(count=held, cap=cap, kind=kind)


def _locked_line(operator: Operator, number: str, kind: str | None) -> Line:
    line = (
        Line.objects.select_for_update()
        .filter(operator=operator, number=number)
        .exclude(status=LineStatus.CLOSED)
        .first()
    )
    if line is None:
        raise LineNotFound(
            fields={"line": [gettext("No open line with that number at this operator.")]}
        )
    if kind is not None and line.kind != kind:
        raise LineWrongKind(
            fields={
                "line": [
                    gettext("This is a %(kind)s line.") % {"kind": line.get_kind_display().lower()}
                ]
            }
        )
    if line.status != LineStatus.ACTIVE:
        raise LineNotActive(
            fields={"line": [gettext("Barred or suspended: only re-verification.")]}
        )
    return line


def _staff_store(actor: AbstractBaseUser) -> tuple[StaffMember, object]:
    staff = staff_of(actor)
    if staff is None or staff.store is None:
        raise StoreInactive("Only staff of a store take transactions.")
    if not staff.store.active:
        raise StoreInactive()
    return staff, staff.store


@sensitive_variables()
def transaction_submit(*, actor: AbstractBaseUser, request: TransactionRequest) -> Transaction:
    """Take one business transaction. Returns it completed or waiting for the
    authority; raises IdentityInvalid (bad input: nothing stored), a consent
    error (nothing personal stored), or a RegistrationRefused (the rejected
    transaction is stored, without personal data, and the error carries it)."""
    staff, store = _staff_store(actor)
    operator = staff.operator
    # Issue 15: organisation, handler, agent, guardian (registration.representatives).
    extra = representatives.extra_prepare(operator, request)
    try:
        identities = _validate(operator, request)
    except IdentityInvalid as exc:
        raise extra.renamed(exc) from None
    portrait = portrait_check.portrait_prepare(operator, kinds.get(request.kind), request.portrait)
    consenting = identities[_consenting_party(request.kind)]
    if not request.consent.given:
        identity_services.consent_refusal_record(
            operator=operator,
            consent=request.consent,
            channel=request.channel,
            actor=actor,
            store=store,
        )
        raise ConsentRefused()
    notice = identity_services.consent_notice(operator=operator, consent=request.consent)
    results = _verify(operator, identities, actor, store)
    try:
        _refuse_on_authority(extra.named(results))
        representatives.extra_verify(operator, extra, actor, store)
        checked = None
        if portrait is not None:
            # Asked outside any database transaction, like the authority.
            checked = portrait_check.portrait_check(operator, consenting, portrait)
            if checked.decision is portrait_check.Decision.REFUSE:
                raise portrait_check.PortraitMismatch()
        with transaction.atomic():
            return _take(
                operator,
                store,
                actor,
                request,
                identities,
                consenting,
                results,
                notice,
                portrait=portrait,
                checked=checked,
                extra=extra,
            )
    except RegistrationRefused as refusal:
        refusal.transaction = _record_refusal(operator, store, actor, request, refusal)
        raise


def _record_refusal(operator, store, actor, request, refusal: RegistrationRefused) -> Transaction:
    with transaction.atomic():
        tx = Transaction.objects.create(
            reference=_reference(operator),
            kind=request.kind,
            state=TransactionState.REJECTED,
            operator=operator,
            store=store,
            staff=actor,
            line_kind=kinds.get(request.kind).line_kind or LineKind.MOBILE,
            number=(request.number or request.line or "")[:16],
            refusal_code=refusal.code,
            refusal_message=refusal.message[:300],
            notice_hash=request.consent.notice_hash[:64],
        )
        _event(tx, TransactionState.REJECTED, actor, refusal.code)
    logger.info("transaction %s refused: %s", tx.reference, refusal.code)
    return tx


@sensitive_variables()
def _take(
    operator,
    store,
    actor,
    request,
    identities,
    consenting,
    results,
    notice=None,
    *,
    portrait: portrait_check.CleanPortrait | None = None,
    checked: portrait_check.Checked | None = None,
    extra: representatives.Extra | None = None,
) -> Transaction:
    kind = request.kind
    authority_matched = all(result.is_match for result in results.values())
    at_once = authority_matched and (
        checked is None or checked.decision is portrait_check.Decision.PASS
    )
    try:
        # A transaction that waits changes no stored identity: what was given
        # is held on the transaction (_hold_identities) and applied only when
        # the authority has matched every party (transaction_verify_pending).
        person = identity_services.person_register(
            operator=operator,
            identity=consenting,
            consent=request.consent,
            channel=request.channel,
            actor=actor,
            store=store,
            verification=results[_consenting_party(kind)] if at_once else None,
            notice=notice,
        )
    except IdentityMismatch as exc:
        raise IdentityMismatchRefused(
            fields={
                f"{_consenting_party(kind)}.{name}": reasons for name, reasons in exc.fields.items()
            }
        ) from None
    consent = person.recorded_consent
    spec = kinds.get(kind)
    tx = Transaction(
        reference=_reference(operator),
        kind=kind,
        state=TransactionState.PENDING_VERIFICATION,
        operator=operator,
        store=store,
        staff=actor,
        consent=consent,
        notice_hash=request.consent.notice_hash,
        verification={party: str(result.outcome) for party, result in results.items()},
    )
    representatives.extra_take(tx, extra, person, request, actor, store)
    if portrait is not None:
        _portrait_attach(tx, person, portrait, checked)
    if kinds.SIM_FIELDS & spec.fields:
        sims.transaction_sim_set(tx, sims.sim_identity(_sim_values(request)))
    if spec.opens_line:
        tx.applicant = person
        tx.line_kind = spec.line_kind
        if "stay_until" in spec.fields:
            tx.stay_until = request.stay_until
        if spec.cap_applies and tx.organisation_id is None:
            _check_cap(operator, person, spec.line_kind)
        if spec.prepare is not None:
            spec.prepare(kinds.Prepared(tx, request, operator, None, person))
        if at_once:
            _open_at_once(tx, actor, request)
            return tx
        tx.save()
        tx.number = numbers.reserve(
            operator_id=operator.pk,
            kind=spec.line_kind,
            number=request.number,
            transaction_id=tx.pk,
        )
        if request.installation_address and "installation_address" in spec.fields:
            kind_rules.pending_address_seal(tx, person, request.installation_address)
    else:
        line = _locked_line(operator, request.line, spec.line_kind)
        tx.line = line
        tx.line_kind = line.kind
        tx.number = line.number
        if not line_holder_is(line=line, identity=identities[spec.holder_party]):
            raise HolderMismatch(
                fields={spec.holder_party: [gettext("Not the registered holder.")]}
            )
        if spec.transfers:
            if person.pk == line.holder_id:
                raise TransferToSelf(
                    fields={spec.consenting: [gettext("Already the registered holder.")]}
                )
            tx.applicant = line.holder
            tx.new_holder = person
        else:
            tx.applicant = person
        if spec.cap_applies and tx.organisation_id is None:
            _check_cap(operator, person, line.kind)
        if spec.prepare is not None:
            spec.prepare(kinds.Prepared(tx, request, operator, line, person))
        tx.save()
        if request.installation_address and "installation_address" in spec.fields:
            kind_rules.pending_address_seal(tx, line.holder, request.installation_address)
    _event(tx, TransactionState.PENDING_VERIFICATION, actor, "submitted")
    if at_once:
        _complete(tx, actor)
    elif authority_matched and tx.portrait_outcome == PortraitOutcome.REVIEW:
        _hold_identities(tx, identities)
        _to_review(tx, actor, checked.cause)
    else:
        _hold_identities(tx, identities)
        tx.next_verification_at = timezone.now() + dt.timedelta(seconds=VERIFY_BACKOFF_SECONDS[0])
        tx.save()
        transaction.on_commit(
            lambda: enqueue(task_named(VERIFY_PENDING), tx.pk, countdown=VERIFY_BACKOFF_SECONDS[0])
        )
    return tx


def _held_identity(tx: Transaction, party: str) -> tuple[Person | None, bytes | None]:
    """The person a party's held identity is sealed to, and the sealed blob."""
    if party == "new_holder":
        return tx.new_holder, tx.new_holder_identity_enc
    return tx.applicant, tx.applicant_identity_enc


def _hold_identities(tx: Transaction, identities: dict[str, IdentityData]) -> None:
    """Keep each party's identity, as given, on the waiting transaction (not
    saved): the applicant's, or in a transfer the current holder's, under
    ``tx.applicant``'s key; the new holder's under ``tx.new_holder``'s."""
    for party, identity in identities.items():
        person = tx.new_holder if party == "new_holder" else tx.applicant
        blob = identity_services.pending_identity_seal(
            person=person, context=tx.held_identity_context(party), identity=identity
        )
        if party == "new_holder":
            tx.new_holder_identity_enc = blob
        else:
            tx.applicant_identity_enc = blob


def _forget_held(tx: Transaction) -> None:
    """A transaction that ends keeps none of what it held (not saved)."""
    tx.next_verification_at = None
    tx.pending_address_enc = None
    tx.applicant_identity_enc = None
    tx.new_holder_identity_enc = None


def _open_at_once(tx: Transaction, actor: AbstractBaseUser, request: TransactionRequest) -> None:
    """An opening the authority confirmed for every party: the number goes
    straight to the line (no reservation in between) and the transaction is
    stored completed, with both its events, in as few statements as that
    takes. The result is what ``_complete`` makes of a waiting opening.
    Runs inside the caller's atomic block."""
    now = timezone.now()
    tx.number = numbers.take(operator_id=tx.operator_id, kind=tx.line_kind, number=request.number)
    line = kind_rules.open_line(tx, now)
    tx.state = TransactionState.COMPLETED
    tx.save(force_insert=True)
    TransactionEvent.objects.bulk_create(
        [
            _event_row(tx, "", TransactionState.PENDING_VERIFICATION, actor, "submitted", now),
            _event_row(
                tx,
                TransactionState.PENDING_VERIFICATION,
                TransactionState.COMPLETED,
                actor,
                "completed",
                now,
            ),
        ]
    )
    LineHolding.objects.create(line=line, holder=tx.applicant, started_at=now, transaction=tx)
    if request.installation_address and "installation_address" in kinds.get(tx.kind).fields:
        kind_rules.store_address(
            line, tx, " ".join(request.installation_address.split()), now, first=True
        )
    sims.sim_install(line=line, tx=tx, now=now, change=False)
    if kinds.get(tx.kind).alerts_holder:
        _alert_holder(tx)


def _alert_holder(tx: Transaction) -> None:
    """The alert's row is written with the transaction, its message published
    after the commit: a lost message leaves the row for the sweep."""
    now = timezone.now()
    HolderAlert.objects.bulk_create(
        [HolderAlert(transaction=tx, created_at=now, enqueued_at=now)], ignore_conflicts=True
    )
    transaction.on_commit(lambda: enqueue(task_named(SEND_HOLDER_ALERT), tx.pk))


@sensitive_variables()
def _complete(tx: Transaction, actor: AbstractBaseUser | None) -> None:
    """Apply the transaction's effect. Runs inside the caller's atomic block."""
    now = timezone.now()
    spec = kinds.get(tx.kind)
    if spec.apply is not None:
        spec.apply(tx, now)
    _event(tx, TransactionState.COMPLETED, actor, "completed")
    tx.state = TransactionState.COMPLETED
    _forget_held(tx)
    tx.save()
    if spec.alerts_holder:
        _alert_holder(tx)


def _forget_unverified_party(tx: Transaction, actor: AbstractBaseUser | None) -> None:
    """A waiting transaction that ends without completing leaves no identity
    behind that only it brought: its consenting party, when never verified
    and named by nothing else that lives (no line, past or present, no other
    waiting or completed transaction, no re-verification request), is
    crypto-shredded. A person who existed for any other reason is left
    exactly as they were. Runs inside the caller's atomic block."""
    person_id = (
        tx.new_holder_id if kinds.get(tx.kind).consenting == "new_holder" else tx.applicant_id
    )
    if person_id is None:
        return
    person = Person.objects.select_for_update().get(pk=person_id)
    if person.is_shredded or person.verification_status != VerificationStatus.NEVER:
        return
    others = (
        Transaction.objects.filter(Q(applicant_id=person_id) | Q(new_holder_id=person_id))
        .exclude(pk=tx.pk)
        .exclude(state__in=[TransactionState.REJECTED, TransactionState.CANCELLED])
    )
    if (
        others.exists()
        or Line.objects.filter(holder_id=person_id).exists()
        or LineHolding.objects.filter(holder_id=person_id).exists()
        or hooks.person_referenced(person_id)
    ):
        return
    identity_services.person_shred(
        person=person, actor=actor, reason=f"transaction {tx.reference} ended unverified"
    )


def _reject(tx: Transaction, code: str, message: str, actor=None) -> None:
    _forget_portrait(tx)
    _forget_unverified_party(tx, actor)
    numbers.release_reservation(transaction_id=tx.pk)
    _event(tx, TransactionState.REJECTED, actor, code)
    tx.state = TransactionState.REJECTED
    tx.refusal_code = code
    tx.refusal_message = str(message)[:300]
    _forget_held(tx)
    tx.save()


@transaction.atomic
def transaction_cancel(*, tx: Transaction, actor: AbstractBaseUser) -> Transaction:
    """Cancel a transaction still waiting for the authority; its reserved
    number goes back to the inventory, and a never-verified identity that only
    it brought is erased. Cancelling twice is harmless."""
    tx = Transaction.objects.select_for_update().get(pk=tx.pk)
    if tx.state == TransactionState.CANCELLED:
        return tx
    if tx.state != TransactionState.PENDING_VERIFICATION:
        raise NotCancellable()
    _forget_portrait(tx)
    _forget_unverified_party(tx, actor)
    numbers.release_reservation(transaction_id=tx.pk)
    _event(tx, TransactionState.CANCELLED, actor, "cancelled")
    tx.state = TransactionState.CANCELLED
    _forget_held(tx)
    tx.save()
    return tx


@sensitive_variables()
def _party_identity(tx: Transaction, party: str) -> IdentityData:
    """The identity to put to the authority for a party: the one given on
    the transaction (for a transfer's holder too: the holder's identity as
    given, not the stored one, or a document number alone would pass)."""
    person, blob = _held_identity(tx, party)
    if blob is not None:
        return identity_services.pending_identity_open(
            person=person, context=tx.held_identity_context(party), blob=blob
        )
    # Parked before identities were held on transactions: the stored identity.
    person = tx.new_holder if party == "new_holder" else tx.applicant
    return identity_services.person_identity_values(person=person)


@sensitive_variables()
def transaction_verify_pending(*, transaction_id: int) -> str:
    """Ask the authority again about a waiting transaction and complete or
    reject it. Idempotent: a transaction no longer waiting is left alone.
    Returns the state afterwards."""

    tx = Transaction.objects.select_related("applicant", "new_holder", "operator").get(
        pk=transaction_id
    )
    if tx.state != TransactionState.PENDING_VERIFICATION:
        return tx.state
    outcomes = dict(tx.verification)
    checked = None
    try:
        for party, outcome in tx.verification.items():
            if outcome == Outcome.MATCH:
                continue
            result = identity_services.authority_recheck(identity=_party_identity(tx, party))
            outcomes[party] = str(result.outcome)
        if tx.portrait_outcome == PortraitOutcome.WAITING and tx.portrait_id is not None:
            checked = _portrait_recheck(tx)
    except PersonShredded as erased:
        # Erased while waiting (retention): nothing is left to verify or apply,
        # and retrying would fail for ever.
        with transaction.atomic():
            tx = Transaction.objects.select_for_update().get(pk=transaction_id)
            if tx.state == TransactionState.PENDING_VERIFICATION:
                _reject(tx, erased.code, erased.message)
            return tx.state
    with transaction.atomic():
        tx = Transaction.objects.select_for_update().get(pk=transaction_id)
        if tx.state != TransactionState.PENDING_VERIFICATION:
            return tx.state
        tx.verification = outcomes
        tx.verification_attempts += 1
        refused = [
            (p, o) for p, o in outcomes.items() if o not in (Outcome.MATCH, Outcome.UNAVAILABLE)
        ]
        if checked is not None and tx.portrait_outcome == PortraitOutcome.WAITING:
            _portrait_checked(tx, checked)
        if refused:
            # The person on file is not the one the authority refused: the
            # identity given on this transaction was. Nothing of theirs changes.
            party, outcome = refused[0]
            error = IdentityNotVerified(party=party, outcome=outcome)
            _reject(tx, error.code, error.message)
        elif tx.portrait_outcome == PortraitOutcome.REFUSED:
            error = portrait_check.PortraitMismatch()
            _reject(tx, error.code, str(error.message))
        elif (
            all(o == Outcome.MATCH for o in outcomes.values())
            and tx.portrait_outcome == PortraitOutcome.REVIEW
        ):
            _to_review(tx, None, _review_cause(tx))
        elif (
            all(o == Outcome.MATCH for o in outcomes.values())
            and tx.portrait_outcome != PortraitOutcome.WAITING
        ):
            try:
                _apply_matched_identity(tx)
            except IdentityMismatch:
                error = IdentityMismatchRefused()
                _reject(tx, error.code, error.message)
            except PersonShredded as erased:
                _reject(tx, erased.code, erased.message)
            else:
                _complete(tx, None)
        else:
            delay = VERIFY_BACKOFF_SECONDS[
                min(tx.verification_attempts, len(VERIFY_BACKOFF_SECONDS) - 1)
            ]
            tx.next_verification_at = timezone.now() + dt.timedelta(seconds=delay)
            tx.save()
        return tx.state


@sensitive_variables()
def _apply_matched_identity(tx: Transaction) -> None:
    """The consenting party's identity, as given and now matched by the
    authority, becomes their stored identity (versioned, the clerk who took
    it as the actor); raises IdentityMismatch, writing nothing, when it
    differs from an identity already verified. Runs inside the caller's
    atomic block."""
    party = _consenting_party(tx.kind)
    person, blob = _held_identity(tx, party)
    if person is None or blob is None:
        return
    identity = identity_services.pending_identity_open(
        person=person, context=tx.held_identity_context(party), blob=blob
    )
    person = Person.objects.select_for_update().get(pk=person.pk)
    identity_services.person_identity_apply(
        person=person, identity=identity, actor=tx.staff, reason=f"transaction {tx.reference}"
    )


# A claimed check holds the transaction this long (authority calls for two
# parties with their timeouts, and then some); a worker killed mid-check
# leaves it due again after that.
VERIFY_LEASE = dt.timedelta(minutes=2)
# A message may run this much before its due time (clocks of two hosts).
VERIFY_EARLY = dt.timedelta(seconds=5)


def pending_claim(*, transaction_id: int, now: dt.datetime | None = None) -> bool:
    """Claim a waiting transaction's due check (a conditional UPDATE moving
    its next check a lease ahead): of two messages for one check (the sweep's,
    a redelivery) only one asks the authority, and the other does nothing."""
    now = now or timezone.now()
    return bool(
        Transaction.objects.filter(
            pk=transaction_id,
            state=TransactionState.PENDING_VERIFICATION,
            next_verification_at__lte=now + VERIFY_EARLY,
        ).update(next_verification_at=now + VERIFY_LEASE)
    )


@sensitive_variables()
def transaction_identity_reveal(
    *, tx: Transaction, actor: AbstractBaseUser, reason: str, party: str | None = None
) -> dict[str, str | None]:
    """What the clerk typed on their own waiting transaction, in clear (with
    a reason, in the access log): the identity as given, never the stored
    person's, whose data the applicant has not been verified to own. Only the
    staff member who took the transaction, while it waits; ``party`` defaults
    to the consenting one."""
    party = party or _consenting_party(tx.kind)
    if party not in _parties(tx.kind):
        raise RevealNotAllowed(
            fields={
                "party": [
                    gettext("This kind has the parties: %(parties)s.")
                    % {"parties": ", ".join(_parties(tx.kind))}
                ]
            }
        )
    tx = Transaction.objects.select_related("applicant", "new_holder", "operator").get(pk=tx.pk)
    staff = staff_of(actor)
    person, blob = _held_identity(tx, party)
    if (
        staff is None
        or staff.operator_id != tx.operator_id
        or tx.staff_id != actor.pk
        or tx.state != TransactionState.PENDING_VERIFICATION
        or person is None
        or blob is None
    ):
        raise RevealNotAllowed()
    return identity_services.pending_identity_reveal(
        person=person,
        actor=actor,
        reason=reason,
        context=tx.held_identity_context(party),
        blob=blob,
        store=staff.store,
    )


def pending_due(
    *, now: dt.datetime | None = None, overdue_seconds: int = 0, limit: int = 500
) -> list[int]:
    """Waiting transactions whose check is past its due time by more than
    ``overdue_seconds`` (the sweep passes TELEREG_INTERACTIVE_OVERDUE_SECONDS):
    their message was lost. Each is made due ``now`` (so it is not swept again
    before another such delay) and returned for the sweep to publish again."""
    now = now or timezone.now()
    late = Transaction.objects.filter(
        state=TransactionState.PENDING_VERIFICATION,
        next_verification_at__lt=now - dt.timedelta(seconds=overdue_seconds),
    )
    with transaction.atomic():
        ids = list(
            late.select_for_update(skip_locked=True)
            .order_by("next_verification_at")
            .values_list("pk", flat=True)[:limit]
        )
        late.filter(pk__in=ids).update(next_verification_at=now)
    return ids


# --- The portrait check (registration.portrait_check, registration.reviews) ---------------

_OUTCOME_OF = {
    portrait_check.Decision.PASS: PortraitOutcome.PASSED,
    portrait_check.Decision.REVIEW: PortraitOutcome.REVIEW,
    portrait_check.Decision.WAIT: PortraitOutcome.WAITING,
    portrait_check.Decision.REFUSE: PortraitOutcome.REFUSED,
}


@sensitive_variables()
def _portrait_attach(
    tx: Transaction,
    person: Person,
    portrait: portrait_check.CleanPortrait,
    checked: portrait_check.Checked,
) -> None:
    """Store the portrait under the consenting person's key and note the
    check's outcome on the transaction (not saved)."""
    now = timezone.now()
    tx.portrait = identity_services.portrait_record(
        person=person,
        image=portrait.image,
        liveness=portrait.liveness,
        reason=portrait.reason,
        reference=checked.reference,
        keep_until=portrait_check.keep_until(tx.operator, now),
    )
    tx.portrait_liveness = portrait.liveness
    tx.portrait_score = checked.score
    tx.portrait_outcome = _OUTCOME_OF[checked.decision]


@sensitive_variables()
def _portrait_recheck(tx: Transaction) -> portrait_check.Checked:
    """Ask the matcher again about a portrait that waited for it (outside any
    database transaction)."""
    image = identity_services.portrait_image_open(portrait=tx.portrait)
    clean = portrait_check.CleanPortrait(image=image, liveness=tx.portrait_liveness)
    party = _consenting_party(tx.kind)
    return portrait_check.portrait_check(tx.operator, _party_identity(tx, party), clean)


def _portrait_checked(tx: Transaction, checked: portrait_check.Checked) -> None:
    """Record the matcher's late answer on the transaction (not saved)."""
    tx.portrait_outcome = _OUTCOME_OF[checked.decision]
    tx.portrait_score = checked.score
    if checked.reference is not None:
        identity_services.portrait_reference_set(portrait=tx.portrait, reference=checked.reference)


def _review_cause(tx: Transaction) -> str:
    if tx.portrait is None or tx.portrait.exception:
        return "exception"
    if tx.portrait_score is None:
        return "no_reference"
    if tx.portrait_liveness != "passed":
        return "liveness_not_checked"
    return "score"


def _to_review(tx: Transaction, actor, cause: str) -> None:
    """The transaction waits for a second person's decision on its portrait;
    its number stays held until the review's time limit. Runs inside the
    caller's atomic block."""
    now = timezone.now()
    _event(tx, TransactionState.PENDING_REVIEW, actor, "portrait_review")
    tx.state = TransactionState.PENDING_REVIEW
    tx.next_verification_at = None
    tx.save()
    PortraitReview.objects.create(
        transaction=tx,
        operator_id=tx.operator_id,
        store_id=tx.store_id,
        cause=cause,
        due_at=portrait_check.review_due(tx.operator, now),
    )


def _forget_portrait(tx: Transaction) -> None:
    """A transaction that ends without completing keeps no image."""
    if tx.portrait_id is not None:
        identity_services.portrait_erase(portrait=tx.portrait)


@sensitive_variables()
def review_complete(tx: Transaction, actor) -> None:
    """An approved portrait: the identity held becomes the stored one and the
    transaction completes (or is rejected as a waiting one would be). Runs
    inside the caller's atomic block, the transaction locked."""
    tx.portrait_outcome = PortraitOutcome.APPROVED
    try:
        _apply_matched_identity(tx)
    except IdentityMismatch:
        error = IdentityMismatchRefused()
        _reject(tx, error.code, error.message, actor)
    except PersonShredded as erased:
        _reject(tx, erased.code, erased.message, actor)
    else:
        _complete(tx, actor)


def review_reject(tx: Transaction, code: str, message: str, actor=None) -> None:
    """A refused or expired review: rejected, its number released, its image
    erased. Runs inside the caller's atomic block, the transaction locked."""
    tx.portrait_outcome = PortraitOutcome.REFUSED
    _reject(tx, code, message, actor)
