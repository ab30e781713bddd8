"""Second factor (TOTP) for compliance officers, operator admins and platform
admins: pages, console, API session and the token view."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from operators import two_factor
from operators.roles import Role
from operators.tenancy import can, scoped
from tests.conftest import fresh_totp_code, otp_device_for, totp_code
from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
CODE_URL = "/sign-in/code/"


def _password_sign_in(user, next_url: str = "/console/") -> tuple[Client, object]:
    client = Client()
    response = client.post(
        f"{reverse('operators:login')}?next={next_url}",
        {"username": user.username, "password": PASSWORD, "next": next_url},
    )
    return client, response


@pytest.fixture
def officer(alpha):
    staff = StaffFactory(operator=alpha, role=Role.COMPLIANCE_OFFICER)
    otp_device_for(staff.user)
    return staff


def test_password_alone_leads_to_the_code_step_and_the_console_stays_closed(officer):
    client, response = _password_sign_in(officer.user)
    assert response.status_code == 302
    assert response["Location"].startswith(CODE_URL)
    for path in ("/console/", "/console/registration/line/", "/", "/undertaking/"):
        refused = client.get(path)
        assert refused.status_code == 302, path
        assert refused["Location"].startswith(CODE_URL), path
    api = client.get("/api/v1/me/")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "otp_required"


def test_wrong_code_is_refused_with_a_reason_and_nothing_opens(officer):
    client, _ = _password_sign_in(officer.user)
    right = totp_code(otp_device_for(officer.user))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(CODE_URL, {"code": wrong, "next": "/console/"})
    assert response.status_code == 200
    assert "The code is not correct" in response.content.decode()
    assert client.get("/console/")["Location"].startswith(CODE_URL)


def test_right_code_opens_the_console_with_a_new_session_key(officer):
    client, _ = _password_sign_in(officer.user)
    before = client.session.session_key
    code = totp_code(otp_device_for(officer.user))
    response = client.post(CODE_URL, {"code": code, "next": "/console/"})
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    assert client.session.session_key != before
    assert client.get("/console/").status_code == 200
    assert client.get("/api/v1/me/").json()["role"] == "compliance_officer"


def test_a_code_is_accepted_once(officer):
    device = otp_device_for(officer.user)
    code = totp_code(device)
    first, _ = _password_sign_in(officer.user)
    assert first.post(CODE_URL, {"code": code})["Location"] == "/"
    second, _ = _password_sign_in(officer.user)
    response = second.post(CODE_URL, {"code": code})
    assert response.status_code == 200
    assert second.get("/console/")["Location"].startswith(CODE_URL)


def test_clerk_signs_in_without_a_code(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    client, response = _password_sign_in(clerk.user, next_url="/")
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get(CODE_URL)["Location"] == "/"


def test_five_wrong_codes_lock_the_step_sign_out_and_lock_the_password_too(officer):
    client, _ = _password_sign_in(officer.user)
    device = otp_device_for(officer.user)
    wrong = f"{(int(totp_code(device)) + 500_000) % 1_000_000:06d}"
    for _ in range(4):
        assert client.post(CODE_URL, {"code": wrong}).status_code == 200
    locked = client.post(CODE_URL, {"code": wrong})
    assert locked.status_code == 429
    assert "locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # The right code no longer helps, and the wrong codes counted toward axes.
    again, response = _password_sign_in(officer.user)
    assert response.status_code == 429
    with pytest.raises(two_factor.SecondFactorLocked):
        two_factor.second_factor_verify(user=officer.user, code=totp_code(device), request=None)


def test_code_step_refuses_a_username_that_axes_locked_meanwhile(officer):
    client, _ = _password_sign_in(officer.user)
    other = Client()
    for _ in range(5):
        other.post(reverse("operators:login"), {"username": officer.user.username, "password": "x"})
    response = client.post(CODE_URL, {"code": totp_code(otp_device_for(officer.user))})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_privileged_user_without_a_device_is_told_to_ask_an_operator_admin(alpha):
    admin = StaffFactory(operator=alpha, role=Role.OPERATOR_ADMIN)
    client, _ = _password_sign_in(admin.user)
    response = client.get(CODE_URL)
    assert response.status_code == 403
    assert "Ask your operator admin" in response.content.decode()
    assert client.get("/console/")["Location"].startswith(CODE_URL)


def test_platform_admin_session_without_the_code_sees_nothing(alpha):
    root = UserFactory(username="root-2fa", is_superuser=True, is_staff=True)
    otp_device_for(root)
    client, response = _password_sign_in(root)
    assert response["Location"].startswith(CODE_URL)
    assert client.get("/console/")["Location"].startswith(CODE_URL)
    assert client.get("/api/v1/stores/").status_code == 401


def test_an_unverified_session_user_holds_no_permission_and_sees_no_rows(officer):
    user = officer.user
    user.otp_device = None
    user.is_verified = lambda: False
    assert not can(user, "person.reveal")
    assert not scoped(type(officer).objects.all(), user).exists()
    user.is_verified = lambda: True
    assert can(user, "person.reveal")
    assert not can(AnonymousUser(), "person.reveal")


# --- API -------------------------------------------------------------------------


def test_token_for_a_privileged_role_needs_the_code(officer):
    body = {"username": officer.user.username, "password": PASSWORD}
    client = APIClient()
    missing = client.post(TOKEN_URL, body, format="json")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "otp_required"
    device = otp_device_for(officer.user)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    bad = client.post(TOKEN_URL, {**body, "otp": wrong}, format="json")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "otp_invalid"
    assert not officer.user.__class__.objects.filter(auth_token__isnull=False).exists()
    good = client.post(TOKEN_URL, {**body, "otp": fresh_totp_code(device)}, format="json")
    assert good.status_code == 200
    assert good.json()["expires_at"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {good.json()['token']}")
    assert client.get("/api/v1/me/").json()["role"] == "compliance_officer"


@pytest.mark.parametrize("otp", ["12345\x00", "١٢٣٤٥٦", " 123456", "+12345", "1" * 17])
def test_malformed_codes_never_give_a_token(officer, otp):
    response = APIClient().post(
        TOKEN_URL,
        {"username": officer.user.username, "password": PASSWORD, "otp": otp},
        format="json",
    )
    assert response.status_code in (400, 401)
    assert "token" not in response.json()
    assert response.json()["error"]["code"] in ("invalid", "otp_invalid")


def test_api_locks_the_code_after_five_wrong_ones_even_for_the_right_code(officer):
    device = otp_device_for(officer.user)
    body = {"username": officer.user.username, "password": PASSWORD}
    wrong = f"{(int(totp_code(device)) + 3) % 1_000_000:06d}"
    codes = [
        APIClient().post(TOKEN_URL, {**body, "otp": wrong}, format="json").status_code
        for _ in range(5)
    ]
    assert codes == [401, 401, 401, 401, 429]
    response = APIClient().post(TOKEN_URL, {**body, "otp": totp_code(device)}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "account_locked"


def test_clerk_gets_a_token_without_a_code(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    response = APIClient().post(
        TOKEN_URL, {"username": clerk.user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=clerk.user).exists()


# --- The console's device page ---------------------------------------------------


def test_operator_admin_sets_up_a_device_for_own_staff_and_sees_the_secret_once(
    alpha, beta, web_client_for
):
    admin = StaffFactory(operator=alpha, role=Role.OPERATOR_ADMIN)
    colleague = StaffFactory(operator=alpha, role=Role.COMPLIANCE_OFFICER)
    stranger = StaffFactory(operator=beta, role=Role.COMPLIANCE_OFFICER)
    client = web_client_for(admin)
    add_url = reverse("console:otp_totp_totpdevice_add")
    refused = client.post(add_url, {"user": stranger.user.pk, "name": "phone"})
    assert refused.status_code == 200  # the form, with the choice refused
    assert not TOTPDevice.objects.filter(user=stranger.user).exists()
    response = client.post(add_url, {"user": colleague.user.pk, "name": "phone"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    device = TOTPDevice.objects.get(user=colleague.user)
    secret = two_factor.device_secret(device)
    body = response.content.decode()
    assert secret in body
    assert "otpauth://totp/" in body
    # The secret works in an app, and no other page shows it again.
    two_factor.second_factor_verify(user=colleague.user, code=totp_code(device), request=None)
    change = client.get(reverse("console:otp_totp_totpdevice_change", args=[device.pk]))
    listing = client.get(reverse("console:otp_totp_totpdevice_changelist"))
    assert change.status_code == 200
    assert secret not in change.content.decode()
    assert device.key not in change.content.decode()
    assert secret not in listing.content.decode()


def test_setting_up_a_new_device_retires_the_old_one(officer):
    old = otp_device_for(officer.user)
    old_code = totp_code(old)
    two_factor.device_set_up(user=officer.user, actor=None)
    with pytest.raises(two_factor.SecondFactorInvalid):
        two_factor.second_factor_verify(user=officer.user, code=old_code, request=None)
    assert TOTPDevice.objects.filter(user=officer.user).count() == 1


def test_compliance_officer_cannot_set_up_devices(officer, web_client_for):
    client = web_client_for(officer)
    response = client.post(
        reverse("console:otp_totp_totpdevice_add"), {"user": officer.user.pk, "name": "x"}
    )
    assert response.status_code == 403


def test_operator_admin_lifts_the_lock_of_a_staff_members_device(officer, web_client_for):
    admin = StaffFactory(operator=officer.operator, role=Role.OPERATOR_ADMIN)
    device = otp_device_for(officer.user)
    device.throttling_failure_count = 5
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    with pytest.raises(two_factor.SecondFactorLocked):
        two_factor.second_factor_verify(user=officer.user, code=totp_code(device), request=None)
    web_client_for(admin).post(
        reverse("console:otp_totp_totpdevice_changelist"),
        {"action": "unlock", "_selected_action": [device.pk]},
    )
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_otp_set_up_command_gives_a_platform_admin_a_working_device_once():
    root = UserFactory(username="root-cmd", is_superuser=True, is_staff=True)
    out = io.StringIO()
    call_command("otp_set_up", "root-cmd", stdout=out)
    secret = out.getvalue().split("secret: ")[1].strip()
    device = TOTPDevice.objects.get(user=root)
    assert two_factor.device_secret(device) == secret
    two_factor.second_factor_verify(user=root, code=totp_code(device), request=None)
    with pytest.raises(CommandError):
        call_command("otp_set_up", "root-cmd", stdout=io.StringIO())


def test_another_operators_devices_are_invisible_and_a_lost_one_can_be_removed(
    alpha, beta, web_client_for
):
    admin = StaffFactory(operator=alpha, role=Role.OPERATOR_ADMIN)
    own = otp_device_for(StaffFactory(operator=alpha, role=Role.COMPLIANCE_OFFICER).user)
    foreign = otp_device_for(StaffFactory(operator=beta, role=Role.COMPLIANCE_OFFICER).user)
    client = web_client_for(admin)
    listing = client.get(reverse("console:otp_totp_totpdevice_changelist"))
    shown = {d.pk for d in listing.context["cl"].result_list}
    assert own.pk in shown
    assert foreign.pk not in shown
    change = reverse("console:otp_totp_totpdevice_change", args=[foreign.pk])
    assert client.get(change).status_code == 404
    delete = reverse("console:otp_totp_totpdevice_delete", args=[own.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=own.pk).exists()
    assert TOTPDevice.objects.filter(pk=foreign.pk).exists()
