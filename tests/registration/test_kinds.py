"""Business kinds are a registry: a kind registered by one KindSpec (and its
rule functions) is taken by the service, the API, the store wizard and the
holder alerts, with no other place to change."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registration import kind_rules, kinds
from registration.errors import HolderMismatch, RegistrationRefused
from registration.models import (
    HolderAlert,
    Line,
    LineAddress,
    LineHolding,
    LineKind,
    LineService,
    Transaction,
    TransactionState,
)
from registration.selectors import alerted_person_id, kinds_that_alert, line_holder_is
from tests.registration.conftest import api_block
from tests.registration.test_pages import (  # noqa: F401 - notices, stock: the pages' fixtures
    block,
    completed,
    install_landline,
    notices,
    stock,
    take,
    url,
)

pytestmark = pytest.mark.django_db


class ServiceNotActive(RegistrationRefused):
    code = "service_not_active"
    message = "This service is not active on the line."


def _prepare_service_remove(prepared: kinds.Prepared) -> None:
    active = (
        LineService.objects.filter(
            line=prepared.line,
            service__code=prepared.request.service,
            deactivated_at__isnull=True,
        )
        .select_related("service")
        .first()
    )
    if active is None:
        raise ServiceNotActive(fields={"service": ["Not active on this line."]})
    prepared.tx.service = active.service


def _apply_service_remove(tx: Transaction, now) -> None:
    LineService.objects.filter(
        line_id=tx.line_id, service=tx.service, deactivated_at__isnull=True
    ).update(deactivated_at=now)


LANDLINE_NOTE = kinds.KindSpec(
    kind="landline_note",
    label=_("Landline note"),
    fields=frozenset({"line"}),
    required=frozenset({"line"}),
    line_effect=kinds.LineEffect.NONE,
    line_kind=LineKind.LANDLINE,
    alerts_holder=False,
)
SERVICE_REMOVE = kinds.KindSpec(
    kind="service_remove",
    label=_("Removed service item"),
    fields=frozenset({"line", "service"}),
    required=frozenset({"line", "service"}),
    prepare=_prepare_service_remove,
    apply=_apply_service_remove,
)


@pytest.fixture
def note_kind():
    """The fake kind ``landline_note``, registered for one test only."""
    kinds.register(LANDLINE_NOTE)
    yield LANDLINE_NOTE
    kinds.unregister(LANDLINE_NOTE.kind)


@pytest.fixture
def remove_kind():
    kinds.register(SERVICE_REMOVE)
    yield SERVICE_REMOVE
    kinds.unregister(SERVICE_REMOVE.kind)


@pytest.fixture
def landline(submit, citizen, inventory):
    identity = citizen()
    tx = submit(
        "landline_install", applicant=identity, installation_address="北京市朝阳区安装路1号"
    )
    return tx.line, identity


def _line_state(line: Line) -> tuple:
    line.refresh_from_db()
    return (
        line.holder_id,
        line.status,
        bytes(line.installation_address_enc),
        LineHolding.objects.filter(line=line).count(),
        LineAddress.objects.filter(line=line).count(),
        LineService.objects.filter(line=line).count(),
    )


def test_a_kind_registered_by_one_spec_is_recorded_and_changes_nothing(note_kind, landline, submit):
    line, holder = landline
    before = _line_state(line)
    alerts = HolderAlert.objects.count()
    tx = submit("landline_note", applicant=holder, line=line.number)
    assert tx.state == TransactionState.COMPLETED
    assert tx.kind == "landline_note"
    assert tx.line_id == line.pk
    assert tx.applicant_id == line.holder_id
    assert [e.to_state for e in tx.events.order_by("pk")] == ["pending_verification", "completed"]
    assert _line_state(line) == before
    # Its spec says holders are not alerted: no alert row, and none would be sent.
    assert HolderAlert.objects.count() == alerts
    assert "landline_note" not in kinds_that_alert()
    assert alerted_person_id(tx) is None


def test_a_registered_kind_takes_the_holder_match_from_its_spec(
    note_kind, landline, submit, citizen
):
    line, _ = landline
    with pytest.raises(HolderMismatch) as info:
        submit("landline_note", applicant=citizen(), line=line.number)
    assert info.value.fields == {"applicant": ["Not the registered holder."]}
    rejected = info.value.transaction
    assert rejected.kind == "landline_note"
    assert rejected.state == TransactionState.REJECTED


def test_a_registered_kind_requires_the_fields_its_spec_names(note_kind, submit, citizen):
    from identity.errors import IdentityInvalid

    with pytest.raises(IdentityInvalid) as info:
        submit("landline_note", applicant=citizen())
    assert set(info.value.errors) == {"line"}
    assert not Transaction.objects.exists()


def test_a_registered_kinds_rule_functions_check_and_apply(
    remove_kind, open_mobile, submit, catalog
):
    tx, holder = open_mobile()
    number = tx.line.number
    with pytest.raises(ServiceNotActive):
        submit("service_remove", line=number, applicant=holder, service="intl_roaming")
    submit("service_add", line=number, applicant=holder, service="intl_roaming")
    removed = submit("service_remove", line=number, applicant=holder, service="intl_roaming")
    assert removed.state == TransactionState.COMPLETED
    row = LineService.objects.get(line=tx.line, service__code="intl_roaming")
    assert row.deactivated_at is not None
    assert row.deactivated_at <= timezone.now()
    # Alerted, as its spec says (the default): the holder's alert row is written.
    assert HolderAlert.objects.filter(transaction=removed).exists()


def _post(client, body):
    return client.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )


def test_the_api_takes_a_registered_kind_and_refuses_it_once_unregistered(
    landline, alpha_clerk, api_client_for, consent
):
    line, holder = landline
    api = api_client_for(alpha_clerk)
    body = {
        "kind": "landline_note",
        "applicant": api_block(holder),
        "line": line.number,
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    unknown = _post(api, body)
    assert unknown.status_code == 400
    assert "kind" in unknown.json()["error"]["fields"]
    kinds.register(LANDLINE_NOTE)
    try:
        taken = _post(api, body)
    finally:
        kinds.unregister(LANDLINE_NOTE.kind)
    assert taken.status_code == 201, taken.json()
    assert taken.json()["kind"] == "landline_note"
    assert taken.json()["state"] == "completed"
    again = _post(api, body)
    assert again.status_code == 400
    assert Transaction.objects.filter(kind="landline_note").count() == 1


def test_the_store_wizard_offers_a_registered_kind_with_its_own_fields(
    note_kind, alpha_clerk, web_client_for
):
    client = web_client_for(alpha_clerk)
    index = client.get(reverse("registration:index"))
    assert index.status_code == 200
    assert "Landline note" in index.content.decode()
    identity = client.get(reverse("registration:identity", kwargs={"kind": "landline_note"}))
    assert identity.status_code == 200
    assert 'name="applicant-id_number"' in identity.content.decode()
    assert 'name="holder-id_number"' not in identity.content.decode()


def test_the_store_wizard_knows_no_kind_that_is_not_registered(alpha_clerk, web_client_for):
    client = web_client_for(alpha_clerk)
    page = client.get(reverse("registration:identity", kwargs={"kind": "landline_note"}))
    assert page.status_code == 404


def test_a_kind_cannot_be_registered_twice(note_kind):
    with pytest.raises(ValueError, match="registered already"):
        kinds.register(LANDLINE_NOTE)


def test_holder_selector_answers_by_document_for_every_surface(landline, citizen):
    line, holder = landline
    assert line_holder_is(line=line, identity=holder)
    assert not line_holder_is(line=line, identity=citizen())
    # A document number that cannot even be normalised is nobody's.
    assert not line_holder_is(line=line, identity=dataclasses.replace(holder, id_number="x"))


def test_the_service_refuses_an_unknown_kind_as_bad_input(submit, citizen):
    from identity.errors import IdentityInvalid

    with pytest.raises(IdentityInvalid) as info:
        submit("landline_note", applicant=citizen(), line="+861062345600")
    assert info.value.errors == {"kind": ["No such business kind."]}
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    "broken",
    [
        {"kind": "x" * 25},
        {"consenting": "new_holder"},
        {"fields": frozenset(), "required": frozenset()},
        {"holder_party": "holder"},
        {"fields": frozenset({"line", "colour"}), "required": frozenset({"line"})},
        {"steps": ("identity", "payment")},
    ],
)
def test_an_inconsistent_spec_is_refused_at_registration(broken):
    spec = dataclasses.replace(LANDLINE_NOTE, **{"kind": "broken_kind", **broken})
    with pytest.raises(ValueError, match=r"."):
        kinds.register(spec)
    assert not kinds.known(spec.kind)


# --- The store wizard, walked page by page -------------------------------------------------

QUICK_OPEN = kinds.KindSpec(
    kind="mobile_quick_open",
    label=_("Mobile opening, any number"),
    holder_party=None,
    fields=frozenset(),
    required=frozenset(),
    line_effect=kinds.LineEffect.OPENS,
    line_kind=LineKind.MOBILE,
    cap_applies=True,
    identity_address_required=True,
    apply=kind_rules.apply_open,
    steps=("identity", "notice", "confirm"),
)


@pytest.fixture
def quick_open_kind():
    kinds.register(QUICK_OPEN)
    yield QUICK_OPEN
    kinds.unregister(QUICK_OPEN.kind)


@pytest.fixture
def counter(alpha_clerk, web_client_for, notices, stock):  # noqa: F811 - the pages' fixtures
    """The store pages, signed in as alpha's clerk, with a notice and numbers."""
    return web_client_for(alpha_clerk)


def test_the_wizard_takes_a_registered_kind_through_its_pages(note_kind, counter, citizen):
    holder = citizen()
    line = install_landline(counter, holder).line
    before = _line_state(line)
    tx = completed(take(counter, "landline_note", {"line": line.number}, applicant=holder))
    assert tx.kind == "landline_note"
    assert tx.state == TransactionState.COMPLETED
    assert _line_state(line) == before


def test_the_wizard_shows_only_the_steps_a_kind_names(quick_open_kind, counter, citizen):
    kind = "mobile_quick_open"
    response = counter.post(url("identity", kind), block("applicant", citizen()))
    assert response.status_code == 302
    notice_hash = counter.get(url("notice", kind)).context["notices"][0].content_hash
    response = counter.post(
        url("notice", kind), {"notice": notice_hash, "consent": "on", "action": "consent"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("confirm", kind)
    # No details step: its page sends the clerk on, and the steps shown skip it.
    assert counter.get(url("details", kind))["Location"] == url("confirm", kind)
    confirm = counter.get(url("confirm", kind))
    assert [step["name"] for step in confirm.context["steps"]] == ["identity", "notice", "confirm"]
    tx = completed(counter.post(url("confirm", kind)))
    assert tx.kind == kind
    assert tx.state == TransactionState.COMPLETED
    assert tx.line.kind == LineKind.MOBILE
    assert tx.line.holder_id == tx.applicant_id
