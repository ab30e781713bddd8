"""The console: the staff form, the user inline and bulk actions file role
grants instead of setting privileged roles; one's own profile is view only;
grants are approved or refused by a second person through admin actions."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from identity.models import AccessLogEntry, AccessPurpose
from operators import services
from operators.models import RoleGrant, RoleGrantState, StaffMember
from operators.roles import Role
from tests.factories import OperatorFactory, StoreFactory

pytestmark = pytest.mark.django_db


def staff_form(staff, **overrides):
    data = {"role": staff.role, "active": "on" if staff.active else ""}
    if staff.store_id:
        data["store"] = staff.store_id
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def user_form(staff, **inline):
    """The user change form as an operator admin posts it, with the staff inline."""
    data = {
        "username": staff.user.username,
        "staff-TOTAL_FORMS": "1",
        "staff-INITIAL_FORMS": "1",
        "staff-MIN_NUM_FORMS": "1",
        "staff-MAX_NUM_FORMS": "1",
        "staff-0-id": staff.pk,
        "staff-0-user": staff.user.pk,
        "staff-0-role": staff.role,
        "staff-0-active": "on",
    }
    if staff.store_id:
        data["staff-0-store"] = staff.store_id
    data.update({f"staff-0-{k}": v for k, v in inline.items()})
    return {k: v for k, v in data.items() if v is not None}


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_staff_form_files_a_grant_instead_of_setting_compliance_officer(
    manager, admin_a, web_client_for
):
    client = web_client_for(admin_a)
    response = client.post(
        reverse("console:operators_staffmember_change", args=[manager.pk]),
        staff_form(manager, role=Role.COMPLIANCE_OFFICER),
    )
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.role == Role.STORE_MANAGER
    grant = RoleGrant.objects.get(staff=manager)
    assert (grant.state, grant.role_to, grant.requested_by) == (
        RoleGrantState.PENDING,
        Role.COMPLIANCE_OFFICER,
        admin_a.user,
    )
    assert any("second person" in t for t in texts(response))


def test_staff_form_sets_a_lower_role_at_once_and_audits_it(manager, admin_a, web_client_for):
    client = web_client_for(admin_a)
    response = client.post(
        reverse("console:operators_staffmember_change", args=[manager.pk]),
        staff_form(manager, role=Role.CLERK),
    )
    assert response.status_code == 302
    manager.refresh_from_db()
    assert manager.role == Role.CLERK
    entry = AccessLogEntry.objects.get(purpose=AccessPurpose.ROLE_CHANGE)
    assert (entry.actor, entry.detail["event"]) == (admin_a.user, "role_set")


def test_own_staff_profile_is_view_only_and_a_forged_post_changes_nothing(
    alpha, admin_a, web_client_for
):
    client = web_client_for(admin_a)
    url = reverse("console:operators_staffmember_change", args=[admin_a.pk])
    assert 'name="role"' not in client.get(url).content.decode()
    store = StoreFactory(operator=alpha)
    response = client.post(
        url, {"role": Role.COMPLIANCE_OFFICER, "store": store.pk, "active": "on"}
    )
    assert response.status_code == 403
    admin_a.refresh_from_db()
    assert admin_a.role == Role.OPERATOR_ADMIN
    assert not RoleGrant.objects.exists()


def test_own_user_and_inline_are_view_only_and_a_forged_post_changes_nothing(
    admin_a, web_client_for
):
    client = web_client_for(admin_a)
    url = reverse("console:auth_user_change", args=[admin_a.user.pk])
    assert 'name="staff-0-role"' not in client.get(url).content.decode()
    response = client.post(url, user_form(admin_a, role=Role.COMPLIANCE_OFFICER))
    assert response.status_code == 403
    admin_a.refresh_from_db()
    assert admin_a.role == Role.OPERATOR_ADMIN
    assert not RoleGrant.objects.exists()


def test_user_inline_files_a_grant_for_another_staff_member(manager, admin_a, web_client_for):
    client = web_client_for(admin_a)
    response = client.post(
        reverse("console:auth_user_change", args=[manager.user.pk]),
        user_form(manager, role=Role.OPERATOR_ADMIN),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    manager.refresh_from_db()
    assert manager.role == Role.STORE_MANAGER
    assert RoleGrant.objects.get(staff=manager).role_to == Role.OPERATOR_ADMIN


def test_a_new_account_with_a_privileged_role_waits_inactive_for_a_grant(
    alpha, admin_a, web_client_for, django_user_model
):
    client = web_client_for(admin_a)
    response = client.post(
        reverse("console:auth_user_add"),
        {
            "username": "new-officer",
            "usable_password": "true",
            "password1": "A-long-synthetic-pass-42",
            "password2": "A-long-synthetic-pass-42",
            "staff-TOTAL_FORMS": "1",
            "staff-INITIAL_FORMS": "0",
            "staff-MIN_NUM_FORMS": "1",
            "staff-MAX_NUM_FORMS": "1",
            "staff-0-role": Role.COMPLIANCE_OFFICER,
            "staff-0-active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    staff = django_user_model.objects.get(username="new-officer").staff
    assert (staff.operator, staff.role, staff.active) == (alpha, Role.COMPLIANCE_OFFICER, False)
    assert RoleGrant.objects.get(staff=staff).activates is True


def test_a_refused_change_in_the_user_form_rolls_back_the_whole_save(
    alpha, manager, admin_a, web_client_for
):
    # A promotion while another is pending is refused: the username change
    # posted with it must not be stored either.
    services.role_grant_request(staff=manager, role=Role.OPERATOR_ADMIN, actor=admin_a.user)
    client = web_client_for(admin_a)
    data = user_form(manager, role=Role.COMPLIANCE_OFFICER)
    data["username"] = "renamed-manager"
    response = client.post(reverse("console:auth_user_change", args=[manager.user.pk]), data)
    assert response.status_code == 302
    assert any("already waiting" in t for t in texts(response))
    manager.refresh_from_db()
    manager.user.refresh_from_db()
    assert manager.user.username != "renamed-manager"
    assert RoleGrant.objects.filter(staff=manager).count() == 1


def test_platform_admin_cannot_set_superuser_or_staff_flags_in_the_console(
    alpha, platform_admin, manager, web_client_for
):
    client = web_client_for(platform_admin)
    url = reverse("console:auth_user_change", args=[manager.user.pk])
    body = client.get(url).content.decode()
    for name in ("is_superuser", "is_staff", "groups", "user_permissions", "is_active"):
        assert f'name="{name}"' not in body
    data = user_form(manager)
    data.update(
        {
            "is_superuser": "on",
            "is_staff": "on",
            "staff-0-operator": alpha.pk,
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url == reverse("console:auth_user_changelist")
    manager.user.refresh_from_db()
    assert not manager.user.is_superuser
    assert not manager.user.is_staff


def test_platform_admin_cannot_move_staff_to_another_operator(
    alpha, platform_admin, manager, web_client_for
):
    other = OperatorFactory(code="gamma")
    client = web_client_for(platform_admin)
    response = client.post(
        reverse("console:operators_staffmember_change", args=[manager.pk]),
        {**staff_form(manager), "operator": other.pk},
    )
    assert response.url == reverse("console:operators_staffmember_changelist")
    manager.refresh_from_db()
    assert manager.operator == alpha


def test_bulk_deactivate_revokes_others_but_never_oneself(manager, admin_a, web_client_for):
    client = web_client_for(admin_a)
    response = client.post(
        reverse("console:operators_staffmember_changelist"),
        {"action": "deactivate_selected", "_selected_action": [manager.pk, admin_a.pk]},
    )
    assert response.status_code == 302
    manager.refresh_from_db()
    admin_a.refresh_from_db()
    assert manager.active is False
    assert admin_a.active is True
    assert any("their own" in t for t in texts(response))
    entry = AccessLogEntry.objects.get(purpose=AccessPurpose.ROLE_CHANGE)
    assert (entry.actor, entry.detail["event"]) == (admin_a.user, "revoked")


def test_staff_members_cannot_be_deleted_in_the_console(manager, platform_admin, web_client_for):
    client = web_client_for(platform_admin)
    response = client.post(
        reverse("console:operators_staffmember_delete", args=[manager.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert StaffMember.objects.filter(pk=manager.pk).exists()


# --- The pending grants -----------------------------------------------------------------


@pytest.fixture
def grant(manager, admin_a):
    return services.role_grant_request(
        staff=manager, role=Role.COMPLIANCE_OFFICER, actor=admin_a.user, reason="audit team"
    )


def decide(client, action, grant):
    return client.post(
        reverse("console:operators_rolegrant_changelist"),
        {"action": action, "_selected_action": [grant.pk]},
    )


def test_pending_grants_are_listed_for_operator_admins(grant, admin_b, web_client_for):
    client = web_client_for(admin_b)
    response = client.get(reverse("console:operators_rolegrant_changelist"))
    assert response.status_code == 200
    assert (
        reverse("console:operators_rolegrant_change", args=[grant.pk]) in response.content.decode()
    )


def test_compliance_officers_do_not_see_role_grants(grant, alpha_compliance, web_client_for):
    client = web_client_for(alpha_compliance)
    assert client.get(reverse("console:operators_rolegrant_changelist")).status_code == 403


def test_approve_action_by_a_second_admin_applies_the_role(grant, manager, admin_b, web_client_for):
    response = decide(web_client_for(admin_b), "approve_selected", grant)
    assert response.status_code == 302
    grant.refresh_from_db()
    manager.refresh_from_db()
    assert (grant.state, grant.decided_by) == (RoleGrantState.APPROVED, admin_b.user)
    assert manager.role == Role.COMPLIANCE_OFFICER


def test_approve_action_by_the_requester_is_refused_with_a_message(
    grant, manager, admin_a, web_client_for
):
    response = decide(web_client_for(admin_a), "approve_selected", grant)
    assert any("second person" in t for t in texts(response))
    grant.refresh_from_db()
    manager.refresh_from_db()
    assert grant.state == RoleGrantState.PENDING
    assert manager.role == Role.STORE_MANAGER


def test_refuse_action_keeps_the_role(grant, manager, admin_b, web_client_for):
    decide(web_client_for(admin_b), "refuse_selected", grant)
    grant.refresh_from_db()
    manager.refresh_from_db()
    assert grant.state == RoleGrantState.REFUSED
    assert manager.role == Role.STORE_MANAGER


def test_platform_admin_approves_in_the_console(grant, manager, platform_admin, web_client_for):
    decide(web_client_for(platform_admin), "approve_selected", grant)
    manager.refresh_from_db()
    assert manager.role == Role.COMPLIANCE_OFFICER


def test_an_admin_of_another_operator_neither_sees_nor_approves_a_grant(
    beta, grant, manager, make_staff, web_client_for
):
    client = web_client_for(make_staff(beta, Role.OPERATOR_ADMIN))
    change_url = reverse("console:operators_rolegrant_change", args=[grant.pk])
    assert client.get(change_url).status_code == 404
    listing = client.get(reverse("console:operators_rolegrant_changelist")).content.decode()
    assert change_url not in listing
    decide(client, "approve_selected", grant)
    grant.refresh_from_db()
    manager.refresh_from_db()
    assert grant.state == RoleGrantState.PENDING
    assert manager.role == Role.STORE_MANAGER


# --- Setting someone else's password is signing in as them ------------------------------


def password_form():
    return {
        "password1": "A-long-synthetic-pass-43",
        "password2": "A-long-synthetic-pass-43",
        "set_usable_password": "true",
        "usable_password": "true",
    }


def test_operator_admin_resets_a_clerks_password_and_it_is_audited(
    alpha, make_staff, admin_a, web_client_for
):
    clerk = make_staff(alpha, Role.CLERK)
    client = web_client_for(admin_a)
    url = reverse("console:auth_user_password_change", args=[clerk.user.pk])
    response = client.post(url, password_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    clerk.user.refresh_from_db()
    assert clerk.user.check_password("A-long-synthetic-pass-43")
    entry = AccessLogEntry.objects.get(purpose=AccessPurpose.ROLE_CHANGE)
    assert (entry.actor, entry.detail["event"], entry.detail["staff"]) == (
        admin_a.user,
        "password_set",
        clerk.pk,
    )


@pytest.mark.parametrize("role", [Role.COMPLIANCE_OFFICER, Role.OPERATOR_ADMIN])
def test_operator_admin_cannot_set_a_privileged_peers_password(
    alpha, make_staff, admin_a, web_client_for, role
):
    peer = make_staff(alpha, role)
    client = web_client_for(admin_a)
    url = reverse("console:auth_user_password_change", args=[peer.user.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, password_form()).status_code == 403
    peer.user.refresh_from_db()
    assert not peer.user.check_password("A-long-synthetic-pass-43")


def test_operator_admin_cannot_edit_a_platform_admins_account(
    alpha, admin_a, platform_admin, web_client_for
):
    StaffMember.objects.create(
        user=platform_admin, operator=alpha, role=Role.CLERK, store=StoreFactory(operator=alpha)
    )
    client = web_client_for(admin_a)
    url = reverse("console:auth_user_password_change", args=[platform_admin.pk])
    assert client.post(url, password_form()).status_code == 403
    change = reverse("console:auth_user_change", args=[platform_admin.pk])
    assert client.post(change, {"username": "taken-over"}).status_code == 403
    platform_admin.refresh_from_db()
    assert platform_admin.username == "platform-root"
    assert not platform_admin.check_password("A-long-synthetic-pass-43")


def test_platform_admin_resets_a_compliance_officers_password(
    alpha_compliance, platform_admin, web_client_for
):
    client = web_client_for(platform_admin)
    url = reverse("console:auth_user_password_change", args=[alpha_compliance.user.pk])
    assert client.post(url, password_form()).status_code == 302
    alpha_compliance.user.refresh_from_db()
    assert alpha_compliance.user.check_password("A-long-synthetic-pass-43")
    entry = AccessLogEntry.objects.get(purpose=AccessPurpose.ROLE_CHANGE)
    assert (entry.actor, entry.detail["event"]) == (platform_admin, "password_set")


def test_compliance_officers_read_role_changes_in_the_console_access_log(
    grant, admin_b, alpha_compliance, web_client_for
):
    services.role_grant_decide(grant=grant, actor=admin_b.user, approve=True)
    client = web_client_for(alpha_compliance)
    response = client.get(
        reverse("console:identity_accesslogentry_changelist"),
        {"purpose__exact": AccessPurpose.ROLE_CHANGE},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert admin_b.user.username in body
    assert response.context["cl"].result_count == 2
