"""The benchmark-only ceilings are mounted by config.settings.bench alone."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import clear_url_caches

from config.bench_views import CEILING_TABLE

pytestmark = pytest.mark.django_db


def _reload_urls():
    import config.urls

    importlib.reload(config.urls)
    clear_url_caches()


@pytest.fixture
def bench_urls():
    with override_settings(TELEREG_BENCH_ENDPOINTS=True):
        _reload_urls()
        yield
    _reload_urls()


def test_absent_unless_the_bench_settings_turn_them_on(alpha_clerk, api_client_for, settings):
    assert settings.TELEREG_BENCH_ENDPOINTS is False
    client = api_client_for(alpha_clerk)
    assert client.get("/bench/constant/").status_code == 404
    assert client.post("/bench/insert/", {}, format="json").status_code == 404


def test_production_settings_leave_them_out():
    source = importlib.util.find_spec("config.settings.production").origin
    with open(source, encoding="utf-8") as handle:
        assert "TELEREG_BENCH_ENDPOINTS" not in handle.read()
    base = importlib.util.find_spec("config.settings.base").origin
    with open(base, encoding="utf-8") as handle:
        text = handle.read()
    assert "TELEREG_BENCH_ENDPOINTS = False" in text


def test_when_mounted_they_need_a_token_and_insert_one_row(
    bench_urls, alpha_clerk, api_client_for, client
):
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {CEILING_TABLE} (id integer PRIMARY KEY, body_size integer, "
            "created_at timestamp)"
            if connection.vendor == "sqlite"
            else f"CREATE TABLE {CEILING_TABLE} (id bigserial PRIMARY KEY, body_size integer, "
            "created_at timestamptz)"
        )
    assert client.get("/bench/constant/").status_code in (401, 403)
    api = api_client_for(alpha_clerk)
    assert api.get("/bench/constant/").json() == {"status": "ok"}
    assert api.post("/bench/insert/", {"x": 1}, format="json").status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {CEILING_TABLE}")  # noqa: S608 - a constant
        assert cursor.fetchone()[0] == 1
