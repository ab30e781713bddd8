"""Organisations' lines beyond their opening (issue 15): the end user the
handler names (``POST /api/v1/lines/{number}/user/``), the masked parties a
receipt and an alert show (organisation, handler, agent, guardian), and the
lines with and without a recorded user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from identity import organisations as orgs
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.errors import ConsentRefused, IdentityInvalid
from identity.models import ConsentChannel
from operators.tenancy import scoped, staff_of

from .errors import CapReached, IdentityNotVerified, LineNotFound, StoreInactive
from .models import Line, LineStatus, LineUser, Transaction
from .representatives import PartyUnavailable
from .selectors import line_cap, line_holder_is, lines_held_count

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from identity.services import ConsentInput
    from identity.types import IdentityData


class NotOrganisationLine(LineNotFound):
    code = "not_organisation_line"
    message = _("This line is not an organisation's: it has no end user to record.")


@sensitive_variables()
def line_user_record(
    *,
    actor: AbstractBaseUser,
    number: str,
    handler: IdentityData,
    user: IdentityData,
    consent: ConsentInput,
    channel: str = ConsentChannel.API,
) -> Line:
    """The organisation's current handler names the verified person who uses
    one of its lines, with that person's consent. The line then counts toward
    the user's own cap (409 ``cap_reached`` when it is full). Raises
    IdentityInvalid (fields ``handler.*``, ``user.*``), LineNotFound,
    HandlerReplaced (not the organisation's current handler, 403),
    IdentityNotVerified (either refused by the authority), PartyUnavailable."""
    staff = staff_of(actor)
    if staff is None or staff.store is None or not staff.store.active:
        raise StoreInactive()
    operator, store = staff.operator, staff.store
    errors: dict[str, list[str]] = {}
    checked = {}
    for party, identity in (("handler", handler), ("user", user)):
        try:
            checked[party] = identity_services.identity_validate(
                operator=operator, identity=identity
            )
        except IdentityInvalid as exc:
            errors.update({f"{party}.{k}": v for k, v in exc.errors.items()})
    if errors:
        raise IdentityInvalid(errors)
    if not consent.given:
        identity_services.consent_refusal_record(
            operator=operator, consent=consent, channel=channel, actor=actor, store=store
        )
        raise ConsentRefused()
    notice = identity_services.consent_notice(operator=operator, consent=consent)
    results = {}
    for party, identity in checked.items():
        result = identity_services.authority_verify(
            operator=operator, identity=identity, actor=actor, store=store, party=party
        )
        if result.is_definitive and not result.is_match:
            raise IdentityNotVerified(party=party, outcome=str(result.outcome))
        if not result.is_match:
            raise PartyUnavailable()
        results[party] = result
    with transaction.atomic():
        line = (
            Line.objects.select_for_update(of=("self",))
            .select_related("holder", "organisation__operator")
            .filter(operator=operator, number=number)
            .exclude(status=LineStatus.CLOSED)
            .first()
        )
        if line is None:
            raise LineNotFound(
                fields={"number": [gettext("No open line with that number at this operator.")]}
            )
        if line.organisation_id is None:
            raise NotOrganisationLine()
        if not line_holder_is(line=line, identity=checked["handler"]):
            raise orgs.HandlerReplaced()
        orgs.handler_check(org=line.organisation, handler=line.holder)
        person = identity_services.person_register(
            operator=operator,
            identity=checked["user"],
            consent=consent,
            channel=channel,
            actor=actor,
            store=store,
            verification=results["user"],
            notice=notice,
        )
        if line.user_id == person.pk:
            return line
        # The user's row is locked (person_register): their count holds.
        held = 0 if person.registered_now else lines_held_count(person=person, kind=line.kind)
        cap = line_cap(operator=operator, kind=line.kind)
        if held >= cap:
            raise CapReached(count=held, cap=cap, kind=line.kind)
        now = timezone.now()
        LineUser.objects.filter(line=line, ended_at__isnull=True).update(ended_at=now)
        LineUser.objects.create(
            line=line,
            user=person,
            handler=line.holder,
            consent=person.recorded_consent,
            staff=actor,
            started_at=now,
        )
        line.user = person
        line.save(update_fields=["user", "updated_at"])
    return line


def organisation_lines(*, user, with_user: bool | None = None) -> QuerySet[Line]:
    """Open organisation lines the user may see; ``with_user``: only those
    with (True) or without (False) a recorded end user."""
    qs = scoped(Line.objects.filter(organisation__isnull=False), user).exclude(
        status=LineStatus.CLOSED
    )
    if with_user is not None:
        qs = qs.filter(user__isnull=not with_user)
    return qs.select_related("organisation", "holder", "user", "store")


def _person(person, label: str, element_id: str) -> dict[str, object]:
    masked = identity_selectors.person_masked(person, fields=("name", "id_number"))
    return {
        "label": label,
        "name": masked["name"],
        "id_number": masked["id_number"],
        "element_id": element_id,
    }


def transaction_extra_parties(tx: Transaction) -> list[dict[str, object]]:
    """Who else took part in a transaction, masked, for its receipt: the
    organisation and its handler, the agent, the guardian (and relation)."""
    out: list[dict[str, object]] = []
    if tx.organisation_id is not None:
        org = orgs.organisation_masked(tx.organisation)
        out.append(
            {
                "label": gettext("Organisation"),
                "name": org["name"],
                "id_number": org["uscc"],
                "element_id": "organisation",
            }
        )
    if tx.handler_id is not None:
        out.append(_person(tx.handler, gettext("Handler"), "handler"))
    if tx.agent_id is not None:
        out.append(_person(tx.agent, gettext("Agent"), "agent"))
    if tx.guardian_id is not None:
        relation = {"parent": gettext("parent"), "guardian": gettext("guardian")}.get(
            tx.guardian_relation, tx.guardian_relation
        )
        party = _person(tx.guardian, gettext("Guardian"), "guardian")
        party["label"] = f"{party['label']} ({relation})"
        out.append(party)
    return out


def agent_masked_name(tx: Transaction) -> str:
    """The agent's masked name for the holder's alert ("" when none acted)."""
    if tx.agent_id is None:
        return ""
    return identity_selectors.person_masked(tx.agent, fields=("name",))["name"] or ""


def alert_extra_person_ids(tx: Transaction) -> list[int]:
    """Whose lines hear of the transaction besides the holder's: a minor's
    guardian, on their own lines."""
    return [tx.guardian_id] if tx.guardian_id is not None else []
