"""Sign-in on pages and API: tokens, lockout after 5 failures, inactive staff."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from operators.models import StaffMember
from operators.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_sign_in_then_me_shows_role_operator_and_store(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": clerk.user.username, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = client.get("/api/v1/me/").json()
    assert me == {
        "username": clerk.user.username,
        "role": "clerk",
        "operator": "alpha",
        "store": clerk.store.code,
        "platform_admin": False,
        "undertaking_accepted": True,
    }


def test_wrong_password_gives_400_with_field_and_no_token(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": clerk.user.username, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "password" in response.json()["error"]["fields"]


def test_api_locks_out_after_five_failures_even_with_the_right_password(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    client = APIClient()
    for _ in range(5):
        client.post(
            "/api/v1/auth/token/",
            {"username": clerk.user.username, "password": "wrong"},
            format="json",
        )
    response = client.post(
        "/api/v1/auth/token/",
        {"username": clerk.user.username, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "account_locked"


def test_page_sign_in_locks_out_after_five_failures_with_a_clear_message(alpha, make_staff, client):
    clerk = make_staff(alpha, Role.CLERK)
    url = reverse("operators:login")
    for _ in range(4):
        response = client.post(url, {"username": clerk.user.username, "password": "wrong"})
        assert response.status_code == 200
        assert "not correct" in response.content.decode()
    response = client.post(url, {"username": clerk.user.username, "password": "wrong"})
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    response = client.post(url, {"username": clerk.user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_page_sign_in_reaches_the_dashboard(alpha, make_staff, client):
    clerk = make_staff(alpha, Role.CLERK)
    response = client.post(
        reverse("operators:login"),
        {"username": clerk.user.username, "password": PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert "Alpha Telecom" in response.content.decode()


def test_sign_out_needs_a_post_and_ends_the_session(alpha, make_staff, web_client_for):
    client = web_client_for(make_staff(alpha, Role.CLERK))
    assert client.get(reverse("operators:logout")).status_code == 405
    assert client.post(reverse("operators:logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_deactivated_staff_member_is_refused_by_api_and_pages(
    alpha, make_staff, api_client_for, web_client_for
):
    clerk = make_staff(alpha, Role.CLERK)
    api = api_client_for(clerk)
    clerk.active = False
    clerk.save()
    # The token died with the deactivation (operators.tokens).
    response = api.get("/api/v1/stores/")
    assert response.status_code == 401
    assert web_client_for(clerk).get("/").status_code == 403


def test_staff_profile_deactivated_behind_the_orms_back_is_still_refused(
    alpha, make_staff, api_client_for
):
    clerk = make_staff(alpha, Role.CLERK)
    api = api_client_for(clerk)
    # A bulk update sends no signal, so the token lives: the staff gate refuses.
    StaffMember.objects.filter(pk=clerk.pk).update(active=False)
    response = api.get("/api/v1/stores/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_staff"


def test_account_without_staff_profile_is_refused(django_user_model, api_client_for):
    user = django_user_model.objects.create_user("loner", password=PASSWORD)
    response = api_client_for(user).get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_staff"
