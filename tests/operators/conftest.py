"""Staff of the role-grant tests: two operator admins of one operator (a
requester and a second person), a store manager and a platform admin."""

from __future__ import annotations

import pytest

from operators import services
from operators.roles import Role
from tests.factories import ensure_undertaking


@pytest.fixture
def admin_a(alpha, make_staff):
    return make_staff(alpha, Role.OPERATOR_ADMIN)


@pytest.fixture
def admin_b(alpha, make_staff):
    return make_staff(alpha, Role.OPERATOR_ADMIN)


@pytest.fixture
def manager(alpha, make_staff):
    return make_staff(alpha, Role.STORE_MANAGER)


@pytest.fixture
def platform_admin(django_user_model):
    user = django_user_model.objects.create_superuser("platform-root", password="x-synthetic-9")
    services.undertaking_accept(user=user, undertaking=ensure_undertaking())
    return user
