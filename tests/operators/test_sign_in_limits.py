"""Sign-in limits hold per username and address, and per address, on pages
and API; the client's address comes from the trusted proxy count alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from config import client_ip
from operators.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

REAL, STRANGER = "127.0.0.1", "127.0.0.2"
ROOT = Path(__file__).resolve().parents[2]


def _page(client, username, password, address, **extra):
    return client.post(
        reverse("operators:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


def _api(username, password, address, **extra):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **extra,
    )


def test_a_strangers_failures_elsewhere_do_not_lock_the_real_user_out_of_the_pages(
    alpha, make_staff, client
):
    clerk = make_staff(alpha, Role.CLERK)
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        _page(client, clerk.user.username, "wrong", STRANGER)
    assert _page(client, clerk.user.username, PASSWORD, STRANGER).status_code == 429
    response = _page(client, clerk.user.username, PASSWORD, REAL)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clerk.user.pk)


def test_a_strangers_failures_elsewhere_do_not_lock_the_real_user_out_of_the_api(alpha, make_staff):
    clerk = make_staff(alpha, Role.CLERK)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _api(clerk.user.username, "wrong", STRANGER)
    locked = _api(clerk.user.username, PASSWORD, STRANGER)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert "token" in _api(clerk.user.username, PASSWORD, REAL).json()


def test_five_failures_lock_that_username_at_that_address_only(alpha, make_staff, client):
    clerk = make_staff(alpha, Role.CLERK)
    other = make_staff(alpha, Role.CLERK)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _page(client, clerk.user.username, "wrong", REAL).status_code == 200
    assert _page(client, clerk.user.username, "wrong", REAL).status_code == 429
    assert _page(client, clerk.user.username, PASSWORD, REAL).status_code == 429
    assert "_auth_user_id" not in client.session
    # Another username at that address, and that username elsewhere, still sign in.
    assert _page(client, other.user.username, PASSWORD, REAL).status_code == 302
    client.post(reverse("operators:logout"))
    assert _page(client, clerk.user.username, PASSWORD, STRANGER).status_code == 302


def test_many_usernames_tried_from_one_address_are_stopped(alpha, make_staff, client):
    clerk = make_staff(alpha, Role.CLERK)
    for n in range(settings.TELEREG_SIGN_IN_ADDRESS_LIMIT):
        assert _page(client, f"guess{n}", "wrong", STRANGER).status_code == 200
    # Even a right password is refused from that address now; not elsewhere.
    refused = _page(client, clerk.user.username, PASSWORD, STRANGER)
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    locked = _api(clerk.user.username, PASSWORD, STRANGER)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert _page(client, clerk.user.username, PASSWORD, REAL).status_code == 302


def test_a_forged_forwarded_for_header_does_not_get_around_the_address_limit(
    alpha, make_staff, client
):
    clerk = make_staff(alpha, Role.CLERK)
    for n in range(settings.TELEREG_SIGN_IN_ADDRESS_LIMIT):
        _page(client, f"guess{n}", "wrong", STRANGER, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    forged = _page(client, clerk.user.username, PASSWORD, STRANGER, HTTP_X_FORWARDED_FOR=REAL)
    assert forged.status_code == 429


@override_settings(TELEREG_NUM_PROXIES=1)
def test_behind_a_balancer_the_address_limit_holds_per_client_not_per_balancer(
    alpha, make_staff, client
):
    clerk = make_staff(alpha, Role.CLERK)
    balancer = "127.0.0.9"
    for n in range(settings.TELEREG_SIGN_IN_ADDRESS_LIMIT):
        _page(client, f"guess{n}", "wrong", balancer, HTTP_X_FORWARDED_FOR="10.0.0.1")
    blocked = _page(
        client, clerk.user.username, PASSWORD, balancer, HTTP_X_FORWARDED_FOR="10.0.0.1"
    )
    assert blocked.status_code == 429
    other = _page(client, clerk.user.username, PASSWORD, balancer, HTTP_X_FORWARDED_FOR="10.0.0.2")
    assert other.status_code == 302


# --- config.client_ip --------------------------------------------------------------------


def _request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored():
    assert client_ip(_request("127.0.0.2", "1.2.3.4")) == "127.0.0.2"


@override_settings(TELEREG_NUM_PROXIES=1)
def test_with_one_trusted_proxy_only_the_last_hop_counts():
    # The client wrote "1.2.3.4"; the balancer appended the address it saw.
    assert client_ip(_request("10.9.9.9", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(_request("10.9.9.9", "203.0.113.7")) == "203.0.113.7"


@override_settings(TELEREG_NUM_PROXIES=2)
def test_with_two_trusted_proxies_the_second_hop_from_the_right_counts():
    assert client_ip(_request("10.9.9.9", "6.6.6.6, 203.0.113.7, 10.0.0.3")) == "203.0.113.7"


@override_settings(TELEREG_NUM_PROXIES=1)
def test_a_forwarded_hop_that_is_no_address_counts_as_the_socket():
    assert client_ip(_request("10.9.9.9", "1.2.3.4, not-an-ip\x00")) == "10.9.9.9"
    assert client_ip(_request("10.9.9.9")) == "10.9.9.9"


def test_the_proxy_count_from_the_environment_sets_drf_and_axes_alike():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.TELEREG_NUM_PROXIES, s.REST_FRAMEWORK['NUM_PROXIES'], s.AXES_CLIENT_IP_CALLABLE)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env["TELEREG_NUM_PROXIES"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["1", "1", "config.client_ip"]
    env["TELEREG_NUM_PROXIES"] = "-1"
    refused = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert refused.returncode != 0
    assert b"TELEREG_NUM_PROXIES" in refused.stderr
