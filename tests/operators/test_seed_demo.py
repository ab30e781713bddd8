from __future__ import annotations

import pytest
from django.core.management import call_command

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
