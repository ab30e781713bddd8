from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from operators.roles import Role
from tests.factories import OperatorFactory, StaffFactory, StoreFactory


@pytest.fixture
def alpha(db):
    return OperatorFactory(code="alpha", name="Alpha Telecom")


@pytest.fixture
def beta(db):
    return OperatorFactory(code="beta", name="Beta Mobile")


@pytest.fixture
def make_staff(db):
    def make(operator, role=Role.CLERK, **kwargs):
        return StaffFactory(operator=operator, role=role, **kwargs)

    return make


@pytest.fixture
def api_client_for():
    """An API client signed in with a token as the given staff member's user."""
    from rest_framework.authtoken.models import Token

    def make(staff_or_user):
        user = getattr(staff_or_user, "user", staff_or_user)
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def web_client_for(client):
    """The Django test client signed in (session) as the given staff member's user."""

    def make(staff_or_user):
        user = getattr(staff_or_user, "user", staff_or_user)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def beta_store(beta):
    return StoreFactory(operator=beta, code="beta-shop")
