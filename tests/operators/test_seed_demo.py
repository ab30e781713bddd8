from __future__ import annotations

import base64
import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from operators import demo, two_factor
from operators.models import Operator, StaffMember, Store
from operators.roles import Role
from operators.selectors import undertaking_pending

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_two_operators_two_stores_and_four_roles_each_and_is_idempotent(
    settings,
):
    settings.TELEREG_DEMO_PASSWORD = "demo-pass-for-tests"  # noqa: S105
    call_command("seed_demo")
    call_command("seed_demo")
    assert sorted(Operator.objects.values_list("code", flat=True)) == ["alpha", "beta"]
    assert Store.objects.count() == 4
    assert StaffMember.objects.count() == 8
    for code in ("alpha", "beta"):
        roles = set(StaffMember.objects.filter(operator__code=code).values_list("role", flat=True))
        assert roles == set(Role)
        clerk = StaffMember.objects.get(user__username=f"{code}-clerk")
        assert clerk.user.check_password("demo-pass-for-tests")
        assert undertaking_pending(clerk.user) is None


def test_seed_demo_gives_privileged_demo_users_devices_and_writes_their_secrets(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    path = tmp_path / "demo-otp.csv"
    first = path.read_text().splitlines()
    assert sorted(line.split(",")[0] for line in first) == [
        "alpha-admin",
        "alpha-compliance",
        "beta-admin",
        "beta-compliance",
    ]
    for username, secret in demo.demo_otp_secrets(path):
        user = get_user_model().objects.get(username=username)
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        totp = TOTP(key)
        totp.time = time.time()
        two_factor.second_factor_verify(user=user, code=f"{totp.token():06d}", request=None)
    # Running it again keeps the secrets (the file says the same).
    call_command("seed_demo")
    assert path.read_text().splitlines() == first
    assert TOTPDevice.objects.count() == 4


def test_demo_otp_codes_prints_codes_the_devices_accept(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    out = io.StringIO()
    call_command("demo_otp_codes", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    username, code = lines[0].split()[:2]
    user = get_user_model().objects.get(username=username)
    two_factor.second_factor_verify(user=user, code=code, request=None)


def test_demo_banner_says_where_the_codes_come_from():
    out = io.StringIO()
    call_command("demo_banner", stdout=out)
    assert "demo_otp_codes" in out.getvalue()
    assert "demo-otp.csv" in out.getvalue()
