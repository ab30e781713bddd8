"""Role changes: nobody grants themselves a role, a privileged role needs a
second person, and every request, decision and revocation is in the access log."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from identity import access_log
from identity import services as identity_services
from identity.errors import RevealNotAllowed
from identity.models import AccessLogEntry, AccessPurpose
from operators import audit, services
from operators.errors import (
    FourEyes,
    GrantAlreadyPending,
    GrantNotPending,
    RoleChangeNotAllowed,
    SelfRoleChange,
    StaffChangeInvalid,
)
from operators.models import RoleGrant, RoleGrantState, StaffMember
from operators.roles import Role
from operators.tenancy import can
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def role_entries(**detail):
    entries = AccessLogEntry.objects.filter(purpose=AccessPurpose.ROLE_CHANGE).order_by("id")
    return [e for e in entries if all(e.detail.get(k) == v for k, v in detail.items())]


def fresh(staff: StaffMember) -> StaffMember:
    """The staff member as the next request sees them (no cached profile)."""
    return StaffMember.objects.select_related("user").get(pk=staff.pk)


# --- Nobody changes their own profile ------------------------------------------------


def test_operator_admin_cannot_request_a_privileged_role_for_themselves(admin_a):
    with pytest.raises(SelfRoleChange):
        services.role_grant_request(
            staff=admin_a, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user, reason="me too"
        )
    assert not RoleGrant.objects.exists()
    assert role_entries() == []


@pytest.mark.parametrize(
    "change",
    [
        {"role": Role.COMPLIANCE_OFFICER},
        {"role": Role.CLERK},
        {"active": False},
    ],
    ids=["promote", "lower", "deactivate"],
)
def test_operator_admin_cannot_change_their_own_profile(alpha, admin_a, change):
    if change.get("role") == Role.CLERK:
        change = {**change, "store": StoreFactory(operator=alpha)}
    with pytest.raises(SelfRoleChange):
        services.staff_update(staff=admin_a, actor=admin_a.user, **change)
    admin_a = fresh(admin_a)
    assert (admin_a.role, admin_a.active, admin_a.store_id) == (Role.OPERATOR_ADMIN, True, None)
    assert not RoleGrant.objects.exists()
    assert role_entries() == []


def test_platform_admin_cannot_change_their_own_staff_profile(alpha, platform_admin):
    own = StaffMember.objects.create(
        user=platform_admin, operator=alpha, role=Role.CLERK, store=StoreFactory(operator=alpha)
    )
    with pytest.raises(SelfRoleChange):
        services.staff_update(staff=own, role=Role.COMPLIANCE_OFFICER, actor=platform_admin)
    with pytest.raises(SelfRoleChange):
        services.role_grant_request(staff=own, role=Role.OPERATOR_ADMIN, actor=platform_admin)
    assert fresh(own).role == Role.CLERK
    assert not RoleGrant.objects.exists()


def test_nobody_creates_their_own_staff_profile(alpha, platform_admin):
    with pytest.raises(SelfRoleChange):
        services.staff_create(
            user=platform_admin,
            operator=alpha,
            role=Role.COMPLIANCE_OFFICER,
            store=None,
            actor=platform_admin,
        )
    assert not StaffMember.objects.filter(user=platform_admin).exists()


# --- A privileged role needs a second person -----------------------------------------


def test_promoting_to_compliance_officer_files_a_pending_grant_and_changes_nothing(
    manager, admin_a
):
    result = services.staff_update(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user, reason="audit team"
    )
    assert result.applied == ()
    grant = result.grant
    assert (grant.state, grant.role_from, grant.role_to) == (
        RoleGrantState.PENDING,
        Role.STORE_MANAGER,
        Role.COMPLIANCE_OFFICER,
    )
    assert grant.requested_by == admin_a.user
    assert fresh(manager).role == Role.STORE_MANAGER


def test_the_requester_cannot_approve_their_own_grant(manager, admin_a):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    with pytest.raises(FourEyes):
        services.role_grant_decide(grant=grant, actor=admin_a.user, approve=True)
    grant.refresh_from_db()
    assert grant.state == RoleGrantState.PENDING
    assert fresh(manager).role == Role.STORE_MANAGER


def test_the_grantee_cannot_approve_a_grant_made_out_to_them(alpha, admin_a, admin_b, make_staff):
    # admin_b asks for admin_a to become compliance officer; admin_a must not decide it.
    grant = services.role_grant_request(
        staff=admin_a, role=Role.COMPLIANCE_OFFICER, actor=admin_b.user
    )
    with pytest.raises(FourEyes):
        services.role_grant_decide(grant=grant, actor=admin_a.user, approve=True)
    assert fresh(admin_a).role == Role.OPERATOR_ADMIN


def test_the_database_refuses_a_grant_decided_by_its_requester(manager, admin_a):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.filter(pk=grant.pk).update(
            state=RoleGrantState.APPROVED, decided_by=admin_a.user, decided_at=timezone.now()
        )


def test_a_second_operator_admin_approves_and_the_role_applies(manager, admin_a, admin_b):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user, reason="audit team"
    )
    services.role_grant_decide(grant=grant, actor=admin_b.user, approve=True, note="agreed")
    grant.refresh_from_db()
    assert grant.state == RoleGrantState.APPROVED
    assert grant.decided_by == admin_b.user
    assert grant.decided_at is not None
    assert fresh(manager).role == Role.COMPLIANCE_OFFICER


def test_a_platform_admin_approves_a_grant(manager, admin_a, platform_admin):
    grant = services.role_grant_request(staff=manager, role=Role.OPERATOR_ADMIN, actor=admin_a.user)
    services.role_grant_decide(grant=grant, actor=platform_admin, approve=True)
    assert fresh(manager).role == Role.OPERATOR_ADMIN
    assert role_entries(event="grant_approved")[0].actor == platform_admin


def test_an_admin_of_another_operator_cannot_approve(beta, manager, admin_a, make_staff):
    beta_admin = make_staff(beta, Role.OPERATOR_ADMIN)
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    with pytest.raises(RoleChangeNotAllowed):
        services.role_grant_decide(grant=grant, actor=beta_admin.user, approve=True)
    with pytest.raises(RoleChangeNotAllowed):
        services.role_grant_request(staff=manager, role=Role.OPERATOR_ADMIN, actor=beta_admin.user)
    assert fresh(manager).role == Role.STORE_MANAGER


def test_a_compliance_officer_cannot_decide_a_grant(manager, admin_a, alpha_compliance):
    grant = services.role_grant_request(staff=manager, role=Role.OPERATOR_ADMIN, actor=admin_a.user)
    with pytest.raises(RoleChangeNotAllowed):
        services.role_grant_decide(grant=grant, actor=alpha_compliance.user, approve=True)


def test_a_refusal_leaves_the_role_unchanged(manager, admin_a, admin_b):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    services.role_grant_decide(grant=grant, actor=admin_b.user, approve=False, note="no need")
    grant.refresh_from_db()
    assert (grant.state, grant.decided_by) == (RoleGrantState.REFUSED, admin_b.user)
    assert fresh(manager).role == Role.STORE_MANAGER


def test_a_grant_is_decided_only_once(manager, admin_a, admin_b, platform_admin):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    services.role_grant_decide(grant=grant, actor=admin_b.user, approve=False)
    with pytest.raises(GrantNotPending):
        services.role_grant_decide(grant=grant, actor=platform_admin, approve=True)
    assert fresh(manager).role == Role.STORE_MANAGER


def test_only_one_grant_waits_per_staff_member(manager, admin_a, admin_b):
    services.role_grant_request(staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user)
    with pytest.raises(GrantAlreadyPending):
        services.role_grant_request(staff=manager, role=Role.OPERATOR_ADMIN, actor=admin_b.user)
    assert RoleGrant.objects.count() == 1


def test_a_lower_role_is_not_a_grant(manager, admin_a):
    with pytest.raises(StaffChangeInvalid):
        services.role_grant_request(staff=manager, role=Role.CLERK, actor=admin_a.user)


def test_the_promoted_person_reveals_only_after_approval(
    manager, admin_a, admin_b, register, make_identity
):
    person = register(make_identity())
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    with pytest.raises(RevealNotAllowed):
        identity_services.person_reveal(
            person=person, actor=fresh(manager).user, reason="checking a dispute"
        )
    services.role_grant_decide(grant=grant, actor=admin_b.user, approve=True)
    values = identity_services.person_reveal(
        person=person, actor=fresh(manager).user, reason="checking a dispute"
    )
    assert values["name"]


# --- Lower roles and revocations apply at once, audited ------------------------------


def test_an_operator_admin_sets_a_lower_role_at_once(alpha, manager, admin_a):
    result = services.staff_update(staff=manager, role=Role.CLERK, actor=admin_a.user)
    assert result.applied == ("role",)
    assert result.grant is None
    assert fresh(manager).role == Role.CLERK
    [entry] = role_entries(event="role_set")
    assert entry.actor == admin_a.user
    assert (entry.detail["role_from"], entry.detail["role_to"]) == (Role.STORE_MANAGER, Role.CLERK)


def test_lowering_a_compliance_officer_applies_at_once(alpha, alpha_compliance, admin_a):
    store = StoreFactory(operator=alpha)
    services.staff_update(staff=alpha_compliance, role=Role.CLERK, store=store, actor=admin_a.user)
    assert fresh(alpha_compliance).role == Role.CLERK
    assert not can(fresh(alpha_compliance).user, "person.reveal")


def test_lowering_to_a_store_role_without_a_store_is_refused(alpha_compliance, admin_a):
    with pytest.raises(StaffChangeInvalid) as error:
        services.staff_update(staff=alpha_compliance, role=Role.CLERK, actor=admin_a.user)
    assert "store" in error.value.fields
    assert fresh(alpha_compliance).role == Role.COMPLIANCE_OFFICER
    assert role_entries() == []


def test_deactivation_applies_at_once_and_withdraws_a_pending_grant(manager, admin_a, admin_b):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user
    )
    services.staff_update(staff=manager, active=False, actor=admin_b.user, reason="left")
    assert fresh(manager).active is False
    grant.refresh_from_db()
    assert grant.state == RoleGrantState.WITHDRAWN
    assert [e.detail["event"] for e in role_entries()] == [
        "grant_requested",
        "grant_withdrawn",
        "revoked",
    ]
    with pytest.raises(GrantNotPending):
        services.role_grant_decide(grant=grant, actor=admin_b.user, approve=True)


def test_reactivating_a_privileged_staff_member_needs_a_grant(alpha_compliance, admin_a, admin_b):
    services.staff_update(staff=alpha_compliance, active=False, actor=admin_a.user)
    result = services.staff_update(staff=alpha_compliance, active=True, actor=admin_a.user)
    assert fresh(alpha_compliance).active is False
    assert result.grant.activates is True
    services.role_grant_decide(grant=result.grant, actor=admin_b.user, approve=True)
    staff = fresh(alpha_compliance)
    assert (staff.role, staff.active) == (Role.COMPLIANCE_OFFICER, True)


def test_a_new_compliance_officer_starts_inactive_until_approved(alpha, admin_a, admin_b):
    user = UserFactory()
    result = services.staff_create(
        user=user, operator=alpha, role=Role.COMPLIANCE_OFFICER, store=None, actor=admin_a.user
    )
    assert result.staff.active is False
    assert not can(user, "console.access")
    services.role_grant_decide(grant=result.grant, actor=admin_b.user, approve=True)
    assert fresh(result.staff).active is True


# --- The access log --------------------------------------------------------------------


def test_each_step_is_in_the_access_log_with_its_actor_and_the_chain_verifies(
    manager, admin_a, admin_b
):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user, reason="audit team"
    )
    services.role_grant_decide(grant=grant, actor=admin_b.user, approve=True, note="agreed")
    services.staff_update(staff=manager, active=False, actor=admin_a.user, reason="moved on")
    entries = role_entries(staff=manager.pk)
    assert [(e.detail["event"], e.actor, e.reason) for e in entries] == [
        ("grant_requested", admin_a.user, "audit team"),
        ("grant_approved", admin_b.user, "agreed"),
        ("revoked", admin_a.user, "moved on"),
    ]
    assert {e.operator_id for e in entries} == {manager.operator_id}
    assert entries[0].detail["grant"] == grant.pk
    assert entries[0].person_id is None
    assert list(access_log.verify()) == []


def test_a_role_change_without_an_audit_recorder_is_refused_and_stores_nothing(
    manager, admin_a, monkeypatch
):
    monkeypatch.setattr(audit, "_recorder", None)
    with pytest.raises(ImproperlyConfigured):
        services.staff_update(staff=manager, role=Role.CLERK, actor=admin_a.user)
    with pytest.raises(ImproperlyConfigured):
        services.role_grant_request(staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user)
    assert fresh(manager).role == Role.STORE_MANAGER
    assert not RoleGrant.objects.exists()


def test_nul_bytes_in_a_reason_are_not_stored(manager, admin_a):
    grant = services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user, reason="a\x00b"
    )
    assert grant.reason == "ab"
    assert role_entries(event="grant_requested")[0].reason == "ab"
