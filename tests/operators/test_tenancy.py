"""Staff of one operator never see another operator's rows, on any surface."""

from __future__ import annotations

import pytest
from django.urls import reverse

from operators.models import StaffMember, Store
from operators.roles import Role
from operators.tenancy import scoped
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_admin(alpha, make_staff):
    return make_staff(alpha, Role.OPERATOR_ADMIN)


@pytest.fixture
def beta_clerk(beta, beta_store, make_staff):
    return make_staff(beta, Role.CLERK, store=beta_store)


def test_scoped_stores_hold_only_the_staff_members_operator(alpha, beta, alpha_admin):
    mine = StoreFactory(operator=alpha)
    StoreFactory(operator=beta)
    assert list(scoped(Store.objects.all(), alpha_admin.user)) == [mine]


def test_clerk_sees_only_staff_of_own_store(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    make_staff(alpha, Role.CLERK)  # another store of the same operator
    visible = scoped(StaffMember.objects.all(), clerk.user)
    assert list(visible) == [clerk]


def test_user_without_staff_profile_sees_nothing(alpha, django_user_model):
    StoreFactory(operator=alpha)
    nobody = django_user_model.objects.create_user("nobody", password="x-unused-pass")
    assert scoped(Store.objects.all(), nobody).count() == 0


def test_platform_admin_sees_every_operator(alpha, beta, django_user_model):
    StoreFactory(operator=alpha)
    StoreFactory(operator=beta)
    root = django_user_model.objects.create_superuser("root", password="x-unused-pass")
    assert scoped(Store.objects.all(), root).count() == 2


# --- Console ---------------------------------------------------------------------


def test_console_store_changelist_lists_only_own_stores(
    alpha, beta_store, alpha_admin, web_client_for
):
    own = StoreFactory(operator=alpha, name="Own shop")
    client = web_client_for(alpha_admin)
    response = client.get(reverse("console:operators_store_changelist"))
    assert response.status_code == 200
    assert own.name in response.content.decode()
    assert beta_store.name not in response.content.decode()


@pytest.mark.parametrize(
    "url_name", ["console:operators_store_change", "console:operators_store_history"]
)
def test_console_other_operators_store_answers_404(
    beta_store, alpha_admin, web_client_for, url_name
):
    client = web_client_for(alpha_admin)
    response = client.get(reverse(url_name, args=[beta_store.pk]))
    assert response.status_code == 404


def test_console_other_operators_staff_and_user_answer_404(beta_clerk, alpha_admin, web_client_for):
    client = web_client_for(alpha_admin)
    assert (
        client.get(
            reverse("console:operators_staffmember_change", args=[beta_clerk.pk])
        ).status_code
        == 404
    )
    assert (
        client.get(reverse("console:auth_user_change", args=[beta_clerk.user.pk])).status_code
        == 404
    )


def test_console_operator_list_holds_only_own_operator(alpha, beta, alpha_admin, web_client_for):
    client = web_client_for(alpha_admin)
    body = client.get(reverse("console:operators_operator_changelist")).content.decode()
    assert "Alpha Telecom" in body
    assert "Beta Mobile" not in body
    assert (
        client.get(reverse("console:operators_operator_change", args=[beta.pk])).status_code == 404
    )


def test_console_staff_store_choices_hold_only_own_stores(
    alpha, beta_store, alpha_admin, web_client_for
):
    own = StoreFactory(operator=alpha, name="Own shop")
    client = web_client_for(alpha_admin)
    body = client.get(reverse("console:auth_user_add")).content.decode()
    assert f'<option value="{own.pk}">' in body
    assert f'<option value="{beta_store.pk}">' not in body


def test_console_refuses_posting_another_operators_store_to_own_staff(
    alpha, beta_store, alpha_admin, make_staff, web_client_for
):
    clerk = make_staff(alpha, Role.CLERK)
    client = web_client_for(alpha_admin)
    response = client.post(
        reverse("console:operators_staffmember_change", args=[clerk.pk]),
        {"store": beta_store.pk, "role": Role.CLERK, "active": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    clerk.refresh_from_db()
    assert clerk.store != beta_store


# --- API ---------------------------------------------------------------------------


def test_api_store_list_holds_only_own_stores(alpha, beta_store, alpha_admin, api_client_for):
    own = StoreFactory(operator=alpha)
    response = api_client_for(alpha_admin).get("/api/v1/stores/")
    assert response.status_code == 200
    codes = [s["code"] for s in response.json()["results"]]
    assert codes == [own.code]


def test_api_other_operators_store_detail_answers_404(beta_store, alpha_admin, api_client_for):
    response = api_client_for(alpha_admin).get(f"/api/v1/stores/{beta_store.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_own_store_detail_is_shown(alpha, alpha_admin, api_client_for):
    own = StoreFactory(operator=alpha)
    response = api_client_for(alpha_admin).get(f"/api/v1/stores/{own.pk}/")
    assert response.status_code == 200
    assert response.json()["code"] == own.code


# --- Pages ---------------------------------------------------------------------------


def test_dashboard_shows_own_operator_store_and_role_only(alpha, beta, make_staff, web_client_for):
    clerk = make_staff(alpha, Role.CLERK)
    body = web_client_for(clerk).get("/").content.decode()
    assert "Alpha Telecom" in body
    assert clerk.store.name in body
    assert "Clerk" in body
    assert "Beta Mobile" not in body


# --- The staff query ---------------------------------------------------------------


def _fresh(user):
    # A new user object, as the next request would load it.
    return type(user).objects.get(pk=user.pk)


def _orm_staff(user):
    return (
        StaffMember.objects.select_related("operator", "store")
        .filter(user=user, active=True)
        .first()
    )


def _values(instance):
    if instance is None:
        return None
    return [getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields]


@pytest.mark.parametrize("role", [Role.CLERK, Role.OPERATOR_ADMIN])
def test_staff_of_builds_what_the_orm_builds(alpha, make_staff, role, django_assert_num_queries):
    from operators.tenancy import staff_of

    kwargs = {} if role == Role.CLERK else {"store": None}
    member = make_staff(alpha, role, **kwargs)
    user = _fresh(member.user)
    with django_assert_num_queries(1):
        staff = staff_of(user)
        operator, store = staff.operator, staff.store
    expected = _orm_staff(member.user)
    assert _values(staff) == _values(expected)
    assert _values(operator) == _values(expected.operator)
    assert _values(store) == _values(expected.store)
    assert staff._state.adding is False


def test_staff_of_sees_a_deactivation_and_a_new_undertaking_on_the_next_request(alpha, make_staff):
    import datetime as dt

    from django.utils import timezone

    from operators.models import ConfidentialityUndertaking, UndertakingAcceptance
    from operators.tenancy import staff_of

    member = make_staff(alpha, Role.CLERK)
    first = ConfidentialityUndertaking.objects.create(
        version="v1", text="t", published_at=timezone.now() - dt.timedelta(days=1)
    )
    UndertakingAcceptance.objects.create(
        user=member.user, undertaking=first, accepted_at=timezone.now()
    )
    assert staff_of(_fresh(member.user)).undertaking_accepted is True
    ConfidentialityUndertaking.objects.create(version="v2", text="t", published_at=timezone.now())
    assert staff_of(_fresh(member.user)).undertaking_accepted is False
    StaffMember.objects.filter(pk=member.pk).update(active=False)
    assert staff_of(_fresh(member.user)) is None
