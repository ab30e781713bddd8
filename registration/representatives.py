"""Subscribers who are not one adult at the counter (issue 15): an
organisation opening a line through its handler, anyone represented by an
agent, a minor with a guardian. Hooks of ``services.transaction_submit``:

* :func:`extra_prepare` (before the kind's identities are validated) checks
  the organisation, the handler, the agent, the guardian and the
  authorization, all errors at once; for an organisation it makes the handler
  the kind's applicant (they consent for their own data, the authority checks
  them, and they answer for the line: ``Line.holder``);
* :func:`extra_verify` (outside the database transaction, like the
  authority's other checks) puts the agent and the guardian to the authority;
  either refused is refused as an applicant would be;
* :func:`extra_take` (inside the atomic block) records the organisation (its
  row locked: the organisation cap counts under that lock), the handler's
  authorization, the agent and the guardian (persons encrypted under their
  own keys) on the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from config.api import DomainError
from identity import documents
from identity import organisations as orgs
from identity import services as identity_services
from identity.errors import IdentityInvalid
from identity.organisations import AuthorizationData, OrganisationData
from identity.types import IdentityData

from . import kind_rules, kinds
from .errors import CapReached, IdentityNotVerified
from .models import Line, LineStatus, Transaction, TransactionState

if TYPE_CHECKING:
    from identity.authority import AuthorityResult
    from identity.models import Organisation, Person

RELATIONS = ("parent", "guardian")
SUBSCRIBER_TYPES = ("organisation",)


@dataclass
class OrganisationInput:
    """The ``subscriber`` block as given: ``{"type": "organisation", ...}``."""

    type: str = "organisation"
    name: str | None = None
    uscc: str | None = None
    address: str | None = None

    def __repr__(self) -> str:
        return f"OrganisationInput(type={self.type!r})"


@dataclass
class AuthorizationInput:
    reference: str | None = None
    valid_until: dt.date | None = None

    def __repr__(self) -> str:
        return "AuthorizationInput(<redacted>)"


class GuardianRequired(IdentityInvalid):
    """An applicant under the operator's minimum holder age, without a guardian."""

    code = "guardian_required"

    def __init__(self, *, min_age: int, errors: dict[str, list[str]] | None = None) -> None:
        reason = gettext(
            "The applicant is under the minimum holder age of %(age)d: a parent or "
            "guardian must be named, verified and give the consent."
        ) % {"age": min_age}
        super().__init__({**(errors or {}), "guardian": [reason]})
        self.message = reason
        self.min_age = min_age


class PartyUnavailable(DomainError):
    """The authority gave no answer for an agent or a guardian: their
    transaction cannot wait for it (only the subscriber's own check may)."""

    code = "authority_unavailable"
    message = _("The authority did not answer for the agent or guardian; try again in a moment.")


@dataclass
class Extra:
    """What a request brings beyond the kind's own parties."""

    organisation: OrganisationData | None = None
    authorization: AuthorizationData | None = None
    agent: IdentityData | None = None
    guardian: IdentityData | None = None
    relation: str = ""
    # The kind's party the handler stands for (its consenting one).
    party: str = "applicant"
    results: dict[str, AuthorityResult] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Extra(organisation={self.for_organisation}, parties={sorted(self.results)})"

    @property
    def for_organisation(self) -> bool:
        return self.organisation is not None

    def renamed(self, exc: IdentityInvalid) -> IdentityInvalid:
        """The kind's errors, with the applicant named ``handler`` in an
        organisation's opening (the body has no applicant)."""
        if not self.for_organisation:
            return exc
        return IdentityInvalid(
            {_rename(name, self.party): reasons for name, reasons in exc.errors.items()}
        )

    def named(self, results: dict[str, AuthorityResult]) -> dict[str, AuthorityResult]:
        if not self.for_organisation:
            return results
        return {_rename(party, self.party): result for party, result in results.items()}


def _rename(name: str, party: str = "applicant") -> str:
    if name == party:
        return "handler"
    if name.startswith(f"{party}."):
        return "handler." + name[len(party) + 1 :]
    return name


def _birth(identity: IdentityData | None) -> dt.date | None:
    if identity is None:
        return None
    born = identity.date_of_birth
    if isinstance(born, dt.date):
        return born
    try:
        return dt.date.fromisoformat(str(born))
    except (TypeError, ValueError):
        return None


def _same_document(a: IdentityData | None, b: IdentityData | None) -> bool:
    if a is None or b is None or a.id_type != b.id_type:
        return False
    try:
        return documents.normalise_document(a.id_type, a.id_number) == documents.normalise_document(
            b.id_type, b.id_number
        )
    except Exception:  # noqa: BLE001 - a malformed number is told by its own validation
        return False


def needs_extra(request) -> bool:
    return any(
        getattr(request, name, None) is not None
        for name in ("subscriber", "handler", "agent", "guardian", "authorization")
    )


@sensitive_variables()
def extra_prepare(operator, request) -> Extra:
    """Check what the request brings beyond its kind's parties; raise
    IdentityInvalid (every field at once) or GuardianRequired. For an
    organisation's opening, the handler becomes the request's applicant."""
    extra = Extra()
    if not kinds.known(request.kind):
        return extra  # told by the kind's own validation
    spec = kinds.get(request.kind)
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    subscriber = getattr(request, "subscriber", None)
    handler = getattr(request, "handler", None)
    if subscriber is not None:
        if subscriber.type not in SUBSCRIBER_TYPES:
            errors["subscriber.type"] = [gettext("One of: organisation.")]
        elif not (spec.opens_line or spec.transfers):
            errors["subscriber"] = [
                gettext("Only an opening or a transfer takes an organisation as subscriber.")
            ]
        else:
            try:
                extra.organisation = orgs.organisation_validate(
                    name=subscriber.name, uscc=subscriber.uscc, address=subscriber.address
                )
            except IdentityInvalid as exc:
                errors.update({f"subscriber.{k}": v for k, v in exc.errors.items()})
        extra.party = spec.consenting
        if getattr(request, spec.consenting, None) is not None:
            errors[spec.consenting] = [
                gettext("An organisation's opening names its handler, not an applicant.")
            ]
        if handler is None:
            errors["handler"] = [gettext("The handler's identity is required.")]
        if request.agent is not None:
            errors["agent"] = [gettext("An organisation acts through its handler, not an agent.")]
        if request.guardian is not None:
            errors["guardian"] = [gettext("An organisation has no guardian.")]
        if extra.organisation is None and not errors:
            errors["subscriber"] = [gettext("The organisation is required.")]
        # The handler is the consenting party the kind knows (the applicant
        # of an opening, the new holder of a transfer): validated, checked by
        # the authority, consenting and answering for the line as one.
        setattr(request, spec.consenting, handler)
        # Its address is asked only of a person holding the line in their name.
    elif handler is not None:
        errors["handler"] = [gettext("A handler acts only for an organisation (subscriber).")]
    wants_authorization = subscriber is not None or request.agent is not None
    authorization = getattr(request, "authorization", None)
    if authorization is not None and not wants_authorization:
        errors["authorization"] = [gettext("Only a handler or an agent brings an authorization.")]
    elif wants_authorization:
        if authorization is None:
            errors["authorization"] = [gettext("The authorization is required.")]
        else:
            try:
                extra.authorization = orgs.authorization_validate(
                    reference=authorization.reference,
                    valid_until=authorization.valid_until,
                    today=today,
                )
            except IdentityInvalid as exc:
                errors.update({f"authorization.{k}": v for k, v in exc.errors.items()})
    consenting = getattr(request, spec.consenting, None)
    for party in ("agent", "guardian"):
        identity = getattr(request, party, None)
        if identity is None:
            continue
        try:
            setattr(
                extra,
                party,
                identity_services.identity_validate(operator=operator, identity=identity),
            )
        except IdentityInvalid as exc:
            errors.update({f"{party}.{k}": v for k, v in exc.errors.items()})
        if _same_document(identity, consenting):
            errors[party] = [
                gettext("The agent cannot be the subscriber.")
                if party == "agent"
                else gettext("The guardian cannot be the applicant.")
            ]
    if request.guardian is not None:
        relation = getattr(request, "guardian_relation", None) or ""
        if relation not in RELATIONS:
            errors["guardian.relation"] = [gettext("One of: parent, guardian.")]
        extra.relation = relation
    born = _birth(consenting) if subscriber is None else None
    minor = born is not None and documents.age_on(born, today) < operator.min_holder_age
    if minor and request.guardian is None:
        raise GuardianRequired(min_age=operator.min_holder_age, errors=errors)
    if not minor and request.guardian is not None and born is not None:
        errors["guardian"] = [
            gettext("Only an applicant under the minimum holder age of %(age)d has a guardian.")
            % {"age": operator.min_holder_age}
        ]
    if errors:
        raise IdentityInvalid(errors)
    return extra


@sensitive_variables()
def extra_verify(operator, extra: Extra, actor, store) -> None:
    """The agent and the guardian, put to the authority (each check in the
    access log). A definitive refusal is refused as an applicant's would be
    (IdentityNotVerified, the rejected transaction recorded by the caller);
    no answer is PartyUnavailable (nothing stored)."""
    for party in ("agent", "guardian"):
        identity = getattr(extra, party)
        if identity is None:
            continue
        result = identity_services.authority_verify(
            operator=operator, identity=identity, actor=actor, store=store, party=party
        )
        if result.is_definitive and not result.is_match:
            raise IdentityNotVerified(party=party, outcome=str(result.outcome))
        if not result.is_match:
            raise PartyUnavailable()
        extra.results[party] = result


def organisation_lines_held(org: Organisation) -> int:
    """Open lines of an organisation, plus its openings still waiting (they
    will become lines): what its cap is checked against."""
    lines = Line.objects.filter(organisation=org).exclude(status=LineStatus.CLOSED).count()
    pending = Transaction.objects.filter(
        organisation=org,
        kind__in=kinds.kinds_that_open(),
        state__in=[TransactionState.PENDING_VERIFICATION, TransactionState.PENDING_REVIEW],
    ).count()
    return lines + pending


@sensitive_variables()
def extra_take(tx: Transaction, extra: Extra | None, person: Person, request, actor, store) -> None:
    """Record the organisation, handler, agent and guardian on ``tx`` (not
    saved). Runs inside the caller's atomic block, before the kind's rules."""
    if extra is None:
        return
    operator = tx.operator
    if extra.for_organisation:
        org = orgs.organisation_register(operator=operator, data=extra.organisation)
        previous = orgs.handler_current(org)
        orgs.handler_authorize(
            org=org, handler=person, authorization=extra.authorization, actor=actor
        )
        if previous is not None and previous.handler_id != person.pk:
            _handover(org, previous.handler_id, person)
        held, cap = organisation_lines_held(org), orgs.organisation_cap(org)
        if held >= cap:
            raise CapReached(count=held, cap=cap, kind=kinds.get(tx.kind).line_kind)
        tx.organisation = org
        tx.handler = person
    if extra.authorization is not None:
        tx.authorization_reference = extra.authorization.reference
        tx.authorization_valid_until = extra.authorization.valid_until
    for party in ("agent", "guardian"):
        identity = getattr(extra, party)
        if identity is None:
            continue
        registered = identity_services.person_register(
            operator=operator,
            identity=identity,
            consent=request.consent,
            channel=request.channel,
            actor=actor,
            store=store,
            verification=extra.results.get(party),
        )
        setattr(tx, party, registered)
    if extra.guardian is not None:
        tx.guardian_relation = extra.relation


def _handover(org: Organisation, old_handler_id: int, new_handler: Person) -> None:
    """A new handler answers for the organisation's open lines from now on;
    the old one holds them no more (their own count of lines is told to
    identity, for retention)."""
    Line.objects.filter(organisation=org).exclude(status=LineStatus.CLOSED).update(
        holder=new_handler, updated_at=timezone.now()
    )
    kind_rules.update_person_lines(old_handler_id, None)
    kind_rules.update_person_lines(new_handler.pk, None)


def organisation_line_filter(person) -> Q:
    """Lines that count toward a person's own cap: held in their own name
    (not as an organisation's handler), or used by them as an end user."""
    return Q(holder=person, organisation__isnull=True) | Q(user=person)
