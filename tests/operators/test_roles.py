"""The permission matrix decides what each role reaches."""

from __future__ import annotations

import pytest
from django.urls import reverse

from operators.models import Store
from operators.roles import MATRIX, Role, role_can
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_unknown_permission_is_refused_to_every_role():
    assert not any(role_can(role, "store.chnage") for role in Role)


def test_every_matrix_entry_names_real_roles():
    for roles in MATRIX.values():
        assert roles <= set(Role)


@pytest.mark.parametrize("role", [Role.CLERK, Role.STORE_MANAGER])
def test_store_staff_get_403_from_the_console(alpha, make_staff, web_client_for, role):
    client = web_client_for(make_staff(alpha, role))
    assert client.get(reverse("console:index")).status_code == 403
    assert client.get(reverse("console:operators_store_add")).status_code == 403


def test_clerk_cannot_reach_operator_admin_store_creation_through_console(
    alpha, make_staff, web_client_for
):
    client = web_client_for(make_staff(alpha, Role.CLERK))
    response = client.post(
        reverse("console:operators_store_add"),
        {"code": "sneaky", "name": "Sneaky", "region_code": "110105", "address": "x"},
    )
    assert response.status_code == 403
    assert not Store.objects.filter(code="sneaky").exists()


def test_compliance_officer_reads_stores_but_cannot_add_or_change(
    alpha, make_staff, web_client_for
):
    store = StoreFactory(operator=alpha)
    client = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    assert client.get(reverse("console:operators_store_changelist")).status_code == 200
    assert client.get(reverse("console:operators_store_add")).status_code == 403
    response = client.post(
        reverse("console:operators_store_change", args=[store.pk]),
        {"code": store.code, "name": "Renamed", "region_code": "110105", "address": "x"},
    )
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.name != "Renamed"


def test_operator_admin_adds_a_store_to_own_operator(alpha, make_staff, web_client_for):
    client = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    response = client.post(
        reverse("console:operators_store_add"),
        {"code": "new-shop", "name": "New shop", "region_code": "110105", "address": "9 Road"},
    )
    assert response.status_code == 302
    store = Store.objects.get(code="new-shop")
    assert store.operator == alpha


def test_operator_admin_adds_a_clerk_with_staff_profile_in_own_operator(
    alpha, make_staff, web_client_for, django_user_model
):
    admin_staff = make_staff(alpha, Role.OPERATOR_ADMIN)
    store = StoreFactory(operator=alpha)
    client = web_client_for(admin_staff)
    response = client.post(
        reverse("console:auth_user_add"),
        {
            "username": "new-clerk",
            "usable_password": "true",
            "password1": "A-long-synthetic-pass-42",
            "password2": "A-long-synthetic-pass-42",
            "staff-TOTAL_FORMS": "1",
            "staff-INITIAL_FORMS": "0",
            "staff-MIN_NUM_FORMS": "1",
            "staff-MAX_NUM_FORMS": "1",
            "staff-0-store": store.pk,
            "staff-0-role": Role.CLERK,
            "staff-0-active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = django_user_model.objects.get(username="new-clerk")
    assert user.staff.operator == alpha
    assert user.staff.store == store
    assert not user.is_superuser


def test_operator_admin_cannot_grant_superuser(alpha, make_staff, web_client_for):
    admin_staff = make_staff(alpha, Role.OPERATOR_ADMIN)
    clerk = make_staff(alpha, Role.CLERK)
    client = web_client_for(admin_staff)
    body = client.get(reverse("console:auth_user_change", args=[clerk.user.pk])).content.decode()
    assert "is_superuser" not in body
    assert "user_permissions" not in body
