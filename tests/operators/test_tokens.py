"""API tokens expire, and die with a password change, a deactivation or a new role."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from operators.roles import Role
from tests.conftest import issue_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def clerk(alpha, make_staff):
    return make_staff(alpha, Role.CLERK)


def test_token_expires_after_the_ttl_with_401_token_expired(clerk, settings):
    settings.TELEREG_TOKEN_TTL_HOURS = 12
    key = issue_token(clerk.user)
    client = _client(key)
    issued = Token.objects.get(key=key).created
    Token.objects.filter(key=key).update(created=issued - dt.timedelta(hours=11, minutes=59))
    assert client.get("/api/v1/me/").status_code == 200
    Token.objects.filter(key=key).update(created=issued - dt.timedelta(hours=12, seconds=1))
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    assert not Token.objects.filter(key=key).exists()


def test_sign_in_after_expiry_gives_a_new_token_and_says_when_it_ends(clerk):
    key = issue_token(clerk.user)
    Token.objects.filter(key=key).update(created=timezone.now() - dt.timedelta(days=2))
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": clerk.user.username, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["token"] != key
    expires_at = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert dt.timedelta(hours=11) < expires_at - timezone.now() <= dt.timedelta(hours=12)


def test_token_is_revoked_when_the_password_changes_not_on_other_saves(clerk):
    client = _client(issue_token(clerk.user))
    clerk.user.first_name = "Synthetic"
    clerk.user.save()
    clerk.save()
    assert client.get("/api/v1/me/").status_code == 200
    clerk.user.set_password("another-long-passphrase")
    clerk.user.save()
    assert client.get("/api/v1/me/").status_code == 401


def test_token_is_revoked_when_the_user_is_deactivated(clerk):
    client = _client(issue_token(clerk.user))
    clerk.user.is_active = False
    clerk.user.save()
    assert not Token.objects.filter(user=clerk.user).exists()
    assert client.get("/api/v1/me/").status_code == 401


def test_token_is_revoked_when_the_staff_member_is_deactivated(clerk):
    client = _client(issue_token(clerk.user))
    clerk.active = False
    clerk.save()
    assert not Token.objects.filter(user=clerk.user).exists()
    assert client.get("/api/v1/me/").status_code == 401


def test_clerks_token_dies_when_promoted_to_a_role_with_a_second_factor(clerk):
    """A token issued without a code must never carry a compliance officer's rights."""
    client = _client(issue_token(clerk.user))
    clerk.role = Role.COMPLIANCE_OFFICER
    clerk.store = None
    clerk.save()
    assert client.get("/api/v1/me/").status_code == 401
