"""Registration in the console: tenancy, the permission matrix, masking, line
search, and the inventory and catalog admins."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.urls import reverse
from django.utils import timezone

from identity import services as identity_services
from identity import vault
from identity.services import ConsentInput
from identity.synthetic import synthetic_identity
from operators import selectors as operator_selectors
from operators import services as operator_services
from operators.roles import Role
from registration.models import (
    Line,
    LineAddress,
    LineHolding,
    LineKind,
    LineService,
    NumberStatus,
    PhoneNumber,
    Service,
    Transaction,
    TransactionEvent,
    TransactionKind,
    TransactionState,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = "北京市朝阳区建国路88号3单元502"
NOTICE_PARTS = {
    "purpose": "Register the real user of each line.",
    "manner": "Entered in store from the identity document.",
    "scope": "Name, birth date, sex, document, address.",
    "retention": "While a line is held and two years after.",
    "query_and_correction": "In any store or online.",
    "consequences_of_refusal": "No line can be opened.",
}


@pytest.fixture
def make_line(make_staff):
    """A line held by a freshly registered synthetic person, written directly
    (transaction, event, holding, number), as the services would leave it."""
    rng = random.Random(1)  # noqa: S311 - synthetic test data only
    notices: dict[int, str] = {}
    clerks: dict[int, object] = {}

    def make(operator, number, *, kind=LineKind.MOBILE, address=None, service=None):
        if operator.pk not in notices:
            draft = identity_services.notice_draft_create(
                operator=operator, language="en", parts=NOTICE_PARTS
            )
            notices[operator.pk] = identity_services.notice_publish(
                notice=draft, actor=None
            ).content_hash
            clerks[operator.pk] = make_staff(operator, Role.CLERK)
        clerk = clerks[operator.pk]
        identity = synthetic_identity(rng=rng, today=timezone.localdate())
        person = identity_services.person_register(
            operator=operator,
            identity=identity,
            consent=ConsentInput(notice_hash=notices[operator.pk], given=True),
            channel="store",
            actor=clerk.user,
            store=clerk.store,
        )
        now = timezone.now()
        tx = Transaction.objects.create(
            reference=f"{operator.code.upper()}-{number[-6:]}",
            kind=TransactionKind.LANDLINE_INSTALL if address else TransactionKind.MOBILE_OPEN,
            state=TransactionState.COMPLETED,
            operator=operator,
            store=clerk.store,
            staff=clerk.user,
            line_kind=kind,
            number=number,
            applicant=person,
        )
        TransactionEvent.objects.create(
            transaction=tx,
            to_state=TransactionState.PENDING_VERIFICATION,
            actor=clerk.user,
            actor_label=clerk.user.username,
            note="submitted",
            at=now - dt.timedelta(minutes=1),
        )
        TransactionEvent.objects.create(
            transaction=tx,
            from_state=TransactionState.PENDING_VERIFICATION,
            to_state=TransactionState.COMPLETED,
            actor=clerk.user,
            actor_label=clerk.user.username,
            note="completed",
            at=now,
        )
        line = Line.objects.create(
            number=number, kind=kind, operator=operator, holder=person, store=clerk.store
        )
        tx.line = line
        tx.save()
        PhoneNumber.objects.create(
            operator=operator, number=number, kind=kind, status=NumberStatus.ASSIGNED
        )
        LineHolding.objects.create(line=line, holder=person, started_at=now, transaction=tx)
        if address:
            blob = vault.seal_value(
                person, context=line.address_subject, field="installation_address", value=address
            )
            LineAddress.objects.create(
                line=line, holder=person, address_enc=blob, started_at=now, transaction=tx
            )
            line.installation_address_enc = blob
            line.save()
        if service:
            LineService.objects.create(line=line, service=service, activated_at=now, transaction=tx)
        return line, identity

    return make


@pytest.fixture
def alpha_admin(alpha, make_staff):
    return make_staff(alpha, Role.OPERATOR_ADMIN)


@pytest.fixture
def alpha_officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def two_tenants(alpha, beta, make_line):
    """One line (with its transaction and number) and one service per operator."""
    alpha_line, _ = make_line(alpha, "+8613800000001")
    beta_line, _ = make_line(beta, "+8613900000001")
    return {
        "alpha": {
            "line": alpha_line,
            "transaction": alpha_line.transactions.get(),
            "number": PhoneNumber.objects.get(number=alpha_line.number),
            "service": Service.objects.create(
                operator=alpha, code="data_pack", name="Alpha data", line_kinds=["mobile"]
            ),
        },
        "beta": {
            "line": beta_line,
            "transaction": beta_line.transactions.get(),
            "number": PhoneNumber.objects.get(number=beta_line.number),
            "service": Service.objects.create(
                operator=beta, code="data_pack", name="Beta data", line_kinds=["mobile"]
            ),
        },
    }


MODELS = ["line", "transaction", "phonenumber", "service"]
OBJECT_KEY = {"phonenumber": "number"}


def _changelist(model: str) -> str:
    return reverse(f"console:registration_{model}_changelist")


def _change(model: str, pk: int) -> str:
    return reverse(f"console:registration_{model}_change", args=[pk])


@pytest.mark.parametrize("model", MODELS)
def test_alpha_admin_gets_404_for_beta_objects_and_never_lists_them(
    two_tenants, alpha_admin, web_client_for, model
):
    client = web_client_for(alpha_admin)
    mine = two_tenants["alpha"][OBJECT_KEY.get(model, model)]
    theirs = two_tenants["beta"][OBJECT_KEY.get(model, model)]
    assert client.get(_change(model, mine.pk)).status_code == 200
    assert client.get(_change(model, theirs.pk)).status_code == 404
    listed = list(client.get(_changelist(model)).context["cl"].result_list)
    assert listed == [mine]


@pytest.mark.parametrize("model", MODELS)
def test_clerk_and_store_manager_get_403_from_registration_console_pages(
    two_tenants, alpha, make_staff, web_client_for, model
):
    for role in (Role.CLERK, Role.STORE_MANAGER):
        client = web_client_for(make_staff(alpha, role))
        obj = two_tenants["alpha"][OBJECT_KEY.get(model, model)]
        assert client.get(_changelist(model)).status_code == 403
        assert client.get(_change(model, obj.pk)).status_code == 403


def test_transaction_store_filter_offers_only_own_stores(two_tenants, alpha_admin, web_client_for):
    body = web_client_for(alpha_admin).get(_changelist("transaction")).content.decode()
    assert two_tenants["alpha"]["transaction"].store.name in body
    assert two_tenants["beta"]["transaction"].store.name not in body


def test_transaction_page_shows_its_state_history_read_only_and_no_clear_data(
    alpha, make_line, alpha_officer, web_client_for
):
    line, identity = make_line(alpha, "+8613800000007")
    tx = line.transactions.get()
    response = web_client_for(alpha_officer).get(_change("transaction", tx.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert "submitted" in body
    assert "completed" in body
    assert 'name="_save"' not in body
    assert identity.name not in body
    assert identity.id_number not in body
    assert identity.name[0] in body  # the masked holder name keeps its first character


def test_transaction_search_is_by_reference_only(alpha, make_line, alpha_admin, web_client_for):
    line, _ = make_line(alpha, "+8613800000008")
    make_line(alpha, "+8613800000009")
    client = web_client_for(alpha_admin)
    url = _changelist("transaction")
    found = client.get(url, {"q": line.transactions.get().reference}).context["cl"].result_list
    assert list(found) == [line.transactions.get()]
    by_number = client.get(url, {"q": line.number})
    assert by_number.status_code == 302  # a number is never kept in a URL
    assert line.number[3:] not in by_number["Location"]


def test_transaction_list_filters_by_state(alpha, make_line, alpha_admin, web_client_for):
    line, _ = make_line(alpha, "+8613800000010")
    Transaction.objects.filter(line=line).update(
        state=TransactionState.REJECTED,
        refusal_code="cap_reached",
        refusal_message="The per-person cap of mobile lines is reached.",
    )
    make_line(alpha, "+8613800000011")
    client = web_client_for(alpha_admin)
    response = client.get(_changelist("transaction"), {"state": TransactionState.REJECTED})
    assert [tx.line for tx in response.context["cl"].result_list] == [line]
    # The refusal as the clerk read it, not its code (issue 12: no raw codes).
    assert "The per-person cap of mobile lines is reached." in response.content.decode()
    assert "cap_reached" not in response.content.decode()
    today = timezone.localdate()
    by_day = client.get(
        _changelist("transaction"),
        {
            "created_at__year": today.year,
            "created_at__month": today.month,
            "created_at__day": today.day,
        },
    )
    assert len(by_day.context["cl"].result_list) == 2


def test_platform_admin_sees_every_operators_lines_with_their_operator(two_tenants, web_client_for):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    operator_services.undertaking_accept(
        user=root, undertaking=operator_selectors.undertaking_current()
    )
    response = web_client_for(root).get(_changelist("line"))
    assert len(response.context["cl"].result_list) == 2
    body = response.content.decode()
    assert "Alpha Telecom" in body
    assert "Beta Mobile" in body


def test_line_list_and_page_show_holder_and_address_masked_with_history(
    alpha, make_line, alpha_officer, web_client_for
):
    service = Service.objects.create(
        operator=alpha, code="call_forwarding", name="Call forwarding", line_kinds=["landline"]
    )
    line, identity = make_line(
        alpha, "+861062340001", kind=LineKind.LANDLINE, address=ADDRESS, service=service
    )
    client = web_client_for(alpha_officer)
    listing = client.get(_changelist("line")).content.decode()
    page = client.get(_change("line", line.pk)).content.decode()
    for body in (listing, page):
        assert identity.name not in body
        assert identity.id_number not in body
        assert identity.name[0] + "*" in body
    assert ADDRESS not in page
    assert "北京市朝阳区***" in page
    assert "holder history" in page.lower()
    assert "address history" in page.lower()
    assert str(line.holder.uid) in page
    assert "Call forwarding" in page
    assert line.transactions.get().reference in page


def test_line_find_posts_an_exact_number_in_international_or_national_format(
    alpha, make_line, alpha_admin, web_client_for
):
    line, _ = make_line(alpha, "+8613800000021")
    make_line(alpha, "+8613800000022")
    client = web_client_for(alpha_admin)
    url = reverse("console:registration_line_find")
    change = reverse("console:registration_line_change", args=[line.pk])
    for term in ("+8613800000021", "138 0000 0021", "13800000021"):
        response = client.post(url, {"number": term, "purpose": "customer_request"})
        assert response.status_code == 302
        assert response["Location"] == change
    for term in ("1380000002", "+86138", "nobody"):
        response = client.post(url, {"number": term, "purpose": "customer_request"})
        assert response.status_code in (200, 400)
        assert "13800000021" not in response.content.decode()


def test_line_find_does_not_find_another_operators_line(two_tenants, alpha_admin, web_client_for):
    beta_number = two_tenants["beta"]["line"].number
    response = web_client_for(alpha_admin).post(
        reverse("console:registration_line_find"),
        {"number": beta_number, "purpose": "customer_request"},
    )
    assert response.status_code == 200
    assert 'id="not-found"' in response.content.decode()
    assert beta_number[3:] not in response.content.decode()


def test_line_find_is_counted_and_logged_with_the_holder(
    settings, alpha, make_line, alpha_admin, web_client_for
):
    from identity.models import AccessLogEntry

    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 1
    line, _ = make_line(alpha, "+8613800000031")
    client = web_client_for(alpha_admin)
    url = reverse("console:registration_line_find")
    body = {"number": line.number, "purpose": "law_enforcement"}
    assert client.post(url, body).status_code == 302
    entry = AccessLogEntry.objects.get(detail__surface="console.line.find")
    assert entry.person == line.holder
    assert entry.purpose == "law_enforcement"
    assert entry.detail["lookup"] == "line_number"
    refused = client.post(url, body)
    assert refused.status_code == 429
    assert line.number[3:] not in refused.content.decode()


@pytest.fixture
def alpha_inventory(alpha, make_line):
    """Alpha numbers: two available, one quarantined, one assigned to a line."""
    make_line(alpha, "+8613800000100")
    for n, status in ((101, "available"), (102, "available"), (103, "quarantined")):
        PhoneNumber.objects.create(
            operator=alpha, number=f"+86138000001{n % 100:02d}", kind="mobile", status=status
        )
    return PhoneNumber.objects.filter(operator=alpha)


def _action(client, action: str, numbers) -> object:
    return client.post(
        _changelist("phonenumber"),
        {"action": action, "_selected_action": [n.pk for n in numbers]},
        follow=True,
    )


def _status_by_number() -> dict[str, str]:
    return dict(PhoneNumber.objects.values_list("number", "status"))


def test_operator_admin_quarantines_selected_numbers_skipping_assigned_ones(
    alpha_inventory, alpha_admin, web_client_for, settings
):
    settings.TELEREG_QUARANTINE_DAYS = 30
    response = _action(web_client_for(alpha_admin), "quarantine_selected", alpha_inventory)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "Quarantined 2 number(s) for 30 days" in message
    assert "skipped 2" in message
    assert _status_by_number() == {
        "+8613800000100": "assigned",
        "+8613800000101": "quarantined",
        "+8613800000102": "quarantined",
        "+8613800000103": "quarantined",
    }


def test_operator_admin_releases_quarantined_numbers_only(
    alpha_inventory, alpha_admin, web_client_for
):
    response = _action(web_client_for(alpha_admin), "release_selected", alpha_inventory)
    message = " ".join(str(m) for m in response.context["messages"])
    assert "Released 1 number(s) from quarantine" in message
    assert "skipped 3" in message
    assert _status_by_number() == {
        "+8613800000100": "assigned",
        "+8613800000101": "available",
        "+8613800000102": "available",
        "+8613800000103": "available",
    }


def test_inventory_actions_never_reach_another_operators_numbers(
    two_tenants, alpha_admin, web_client_for
):
    beta_number = two_tenants["beta"]["number"]
    PhoneNumber.objects.filter(pk=beta_number.pk).update(status="available")
    _action(web_client_for(alpha_admin), "quarantine_selected", [beta_number])
    assert PhoneNumber.objects.get(pk=beta_number.pk).status == "available"


def test_compliance_officer_reads_inventory_but_cannot_run_inventory_actions(
    alpha_inventory, alpha_officer, web_client_for
):
    client = web_client_for(alpha_officer)
    response = client.get(_changelist("phonenumber"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 4
    assert "quarantine_selected" not in response.content.decode()
    before = _status_by_number()
    _action(client, "quarantine_selected", alpha_inventory)
    _action(client, "release_selected", alpha_inventory)
    assert _status_by_number() == before


def test_inventory_finds_a_whole_number_by_post_and_digits_by_search(
    alpha_inventory, alpha_officer, web_client_for
):
    client = web_client_for(alpha_officer)
    url = _changelist("phonenumber")
    exact = client.post(
        reverse("console:registration_phonenumber_find"),
        {"number": "138 0000 0101", "purpose": "customer_request"},
    )
    wanted = PhoneNumber.objects.get(number="+8613800000101")
    assert exact["Location"] == reverse("console:registration_phonenumber_change", args=[wanted.pk])
    assert client.get(url, {"q": "138 0000 0101"}).status_code == 302  # not by GET
    partial = client.get(url, {"q": "0010"}).context["cl"].result_list
    assert len(partial) == 4


def test_operator_admin_adds_a_service_with_line_kind_checkboxes_for_own_operator(
    alpha, beta, alpha_admin, web_client_for
):
    client = web_client_for(alpha_admin)
    add = reverse("console:registration_service_add")
    page = client.get(add).content.decode()
    assert 'type="checkbox" name="line_kinds" value="landline"' in page
    assert 'name="operator"' not in page
    response = client.post(
        add,
        {
            "code": "call_forwarding",
            "name": "Call forwarding",
            "line_kinds": ["landline", "mobile"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    service = Service.objects.get(code="call_forwarding")
    assert service.operator == alpha
    assert service.line_kinds == ["mobile", "landline"]


def test_a_service_code_is_refused_twice_in_one_catalog_but_free_for_other_operators(
    alpha, beta, alpha_admin, web_client_for
):
    Service.objects.create(operator=beta, code="data_pack", name="Beta", line_kinds=["mobile"])
    client = web_client_for(alpha_admin)
    add = reverse("console:registration_service_add")
    form = {"code": "data_pack", "name": "Data pack", "line_kinds": ["mobile"]}
    assert client.post(add, form).status_code == 302
    again = client.post(add, form)
    assert again.status_code == 200
    assert "already has a service with this code" in again.content.decode()
    assert Service.objects.filter(operator=alpha).count() == 1


def test_a_service_needs_at_least_one_line_kind(alpha, alpha_admin, web_client_for):
    client = web_client_for(alpha_admin)
    add = reverse("console:registration_service_add")
    response = client.post(add, {"code": "x", "name": "X"})
    assert response.status_code == 200
    assert not Service.objects.exists()


def test_compliance_officer_reads_the_catalog_but_cannot_add_or_change_it(
    two_tenants, alpha_officer, web_client_for
):
    client = web_client_for(alpha_officer)
    service = two_tenants["alpha"]["service"]
    assert client.get(_changelist("service")).status_code == 200
    assert client.get(reverse("console:registration_service_add")).status_code == 403
    page = client.get(_change("service", service.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    client.post(_change("service", service.pk), {"code": "x", "name": "x", "line_kinds": []})
    assert Service.objects.get(pk=service.pk).code == "data_pack"


def test_registration_changelists_stay_within_a_query_budget(
    alpha, make_line, alpha_officer, web_client_for, django_assert_max_num_queries
):
    for n in range(5):
        make_line(alpha, f"+86138000003{n:02d}")
    client = web_client_for(alpha_officer)
    client.get(_changelist("transaction"))  # warm the session and staff caches
    for model in ("transaction", "phonenumber", "service", "line"):
        with django_assert_max_num_queries(12):
            assert client.get(_changelist(model)).status_code == 200
