"""The API's role paths: self-promotion refused, grants decided by a second
person, another operator's grant or staff member answers 404."""

from __future__ import annotations

import pytest

from identity.models import AccessLogEntry, AccessPurpose
from operators import services
from operators.models import RoleGrant, RoleGrantState
from operators.roles import Role
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_api_refuses_self_promotion_on_every_endpoint(admin_a, api_client_for):
    client = api_client_for(admin_a)
    response = client.post(
        f"/api/v1/staff/{admin_a.pk}/role/", {"role": Role.COMPLIANCE_OFFICER}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "self_role_change"
    response = client.post(
        "/api/v1/role-grants/",
        {"staff": admin_a.pk, "role": Role.COMPLIANCE_OFFICER},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "self_role_change"
    assert not RoleGrant.objects.exists()


def test_api_privileged_role_is_accepted_as_a_pending_grant(manager, admin_a, api_client_for):
    response = api_client_for(admin_a).post(
        f"/api/v1/staff/{manager.pk}/role/",
        {"role": Role.OPERATOR_ADMIN, "reason": "new branch lead"},
        format="json",
    )
    assert response.status_code == 202
    body = response.json()
    assert body["role"] == Role.STORE_MANAGER
    assert body["grant"]["state"] == RoleGrantState.PENDING
    assert body["grant"]["role_to"] == Role.OPERATOR_ADMIN
    manager.refresh_from_db()
    assert manager.role == Role.STORE_MANAGER


def test_api_lower_role_applies_at_once(manager, admin_a, api_client_for):
    response = api_client_for(admin_a).post(
        f"/api/v1/staff/{manager.pk}/role/", {"role": Role.CLERK}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["applied"] == ["role"]
    manager.refresh_from_db()
    assert manager.role == Role.CLERK


def test_api_requester_cannot_approve_and_a_second_admin_can(
    manager, admin_a, admin_b, api_client_for
):
    grant = api_client_for(admin_a).post(
        "/api/v1/role-grants/",
        {"staff": manager.pk, "role": Role.COMPLIANCE_OFFICER, "reason": "audit team"},
        format="json",
    )
    assert grant.status_code == 201
    grant_id = grant.json()["id"]
    response = api_client_for(admin_a).post(f"/api/v1/role-grants/{grant_id}/approve/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "four_eyes"
    manager.refresh_from_db()
    assert manager.role == Role.STORE_MANAGER
    response = api_client_for(admin_b).post(
        f"/api/v1/role-grants/{grant_id}/approve/", {"note": "agreed"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == RoleGrantState.APPROVED
    manager.refresh_from_db()
    assert manager.role == Role.COMPLIANCE_OFFICER
    events = [
        (e.detail["event"], e.actor_id)
        for e in AccessLogEntry.objects.filter(purpose=AccessPurpose.ROLE_CHANGE).order_by("id")
    ]
    assert events == [("grant_requested", admin_a.user.pk), ("grant_approved", admin_b.user.pk)]


def test_api_deciding_twice_is_a_conflict(manager, admin_a, admin_b, api_client_for):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    client = api_client_for(admin_b)
    assert client.post(f"/api/v1/role-grants/{grant.pk}/refuse/").status_code == 200
    response = client.post(f"/api/v1/role-grants/{grant.pk}/approve/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "grant_decided"


def test_api_another_operators_grant_and_staff_answer_404(
    beta, manager, admin_a, make_staff, api_client_for
):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    client = api_client_for(make_staff(beta, Role.OPERATOR_ADMIN))
    assert client.post(f"/api/v1/role-grants/{grant.pk}/approve/").status_code == 404
    assert client.get("/api/v1/role-grants/").json()["results"] == []
    response = client.post(f"/api/v1/staff/{manager.pk}/role/", {"role": Role.CLERK}, format="json")
    assert response.status_code == 404
    response = client.post(
        "/api/v1/role-grants/", {"staff": manager.pk, "role": Role.OPERATOR_ADMIN}, format="json"
    )
    assert response.status_code == 404
    grant.refresh_from_db()
    manager.refresh_from_db()
    assert grant.state == RoleGrantState.PENDING
    assert manager.role == Role.STORE_MANAGER


@pytest.mark.parametrize("role", [Role.CLERK, Role.STORE_MANAGER, Role.COMPLIANCE_OFFICER])
def test_api_only_operator_admins_reach_role_grants(
    alpha, manager, make_staff, api_client_for, role
):
    client = api_client_for(make_staff(alpha, role))
    assert client.get("/api/v1/role-grants/").status_code == 403
    response = client.post(f"/api/v1/staff/{manager.pk}/role/", {"role": Role.CLERK}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"staff": "x", "role": Role.OPERATOR_ADMIN},
        {"staff": 1, "role": "superuser"},
        {"staff": 1, "role": Role.OPERATOR_ADMIN, "reason": "a\x00b"},
        {"staff": 1, "role": Role.OPERATOR_ADMIN, "reason": "r" * 301},
        {"staff": {"nested": {"deep": [1]}}, "role": Role.OPERATOR_ADMIN},
    ],
    ids=["staff-not-a-number", "unknown-role", "nul-byte", "too-long", "nested"],
)
def test_api_bad_grant_input_is_a_400_and_stores_nothing(admin_a, manager, api_client_for, body):
    body = {**body, "staff": manager.pk} if body["staff"] == 1 else body
    response = api_client_for(admin_a).post("/api/v1/role-grants/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    assert not RoleGrant.objects.exists()


def test_api_lists_pending_grants_first(
    manager, alpha, admin_a, admin_b, make_staff, api_client_for
):
    other = make_staff(alpha, Role.CLERK)
    pending = services.role_grant_request(
        staff=other, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    newer = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    services.role_grant_decide(grant=newer, actor=admin_b.user, approve=False)
    ids = [g["id"] for g in api_client_for(admin_b).get("/api/v1/role-grants/").json()["results"]]
    assert ids == [pending.pk, newer.pk]


def test_api_lowers_a_compliance_officer_into_a_store(
    alpha, alpha_compliance, admin_a, api_client_for
):
    store = StoreFactory(operator=alpha)
    client = api_client_for(admin_a)
    url = f"/api/v1/staff/{alpha_compliance.pk}/role/"
    response = client.post(url, {"role": Role.CLERK}, format="json")
    assert response.status_code == 400
    assert "store" in response.json()["error"]["fields"]
    response = client.post(url, {"role": Role.CLERK, "store": store.pk}, format="json")
    assert response.status_code == 200
    alpha_compliance.refresh_from_db()
    assert (alpha_compliance.role, alpha_compliance.store) == (Role.CLERK, store)


def test_api_refuses_another_operators_store(alpha, beta_store, manager, admin_a, api_client_for):
    response = api_client_for(admin_a).post(
        f"/api/v1/staff/{manager.pk}/role/", {"store": beta_store.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"store": ["No such store."]}
    manager.refresh_from_db()
    assert manager.store != beta_store
