"""Every API error has the one shape: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from operators.roles import Role

pytestmark = pytest.mark.django_db


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_not_signed_in_is_401():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert_error_shape(response.json(), "not_authenticated")


def test_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert_error_shape(response.json(), "authentication_failed")


def test_missing_fields_are_400_with_each_field_named():
    response = APIClient().post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert_error_shape(body, "invalid")
    assert set(body["error"]["fields"]) == {"username", "password"}


def test_malformed_json_is_400():
    response = APIClient().post(
        "/api/v1/auth/token/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert_error_shape(response.json(), "parse_error")


def test_unknown_api_url_is_404_in_the_error_shape(alpha, make_staff, api_client_for):
    response = api_client_for(make_staff(alpha, Role.CLERK)).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_wrong_method_is_405_in_the_error_shape(alpha, make_staff, api_client_for):
    response = api_client_for(make_staff(alpha, Role.CLERK)).delete("/api/v1/me/")
    assert response.status_code == 405
    assert_error_shape(response.json(), "method_not_allowed")


def test_throttled_sign_in_is_429_in_the_error_shape(settings):
    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "sign_in": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from rest_framework.throttling import ScopedRateThrottle

    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        client = APIClient()
        codes = [
            client.post("/api/v1/auth/token/", {"username": "a", "password": "b"}, format="json")
            for _ in range(3)
        ]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert [r.status_code for r in codes[:2]] == [400, 400]
    assert codes[2].status_code == 429
    assert_error_shape(codes[2].json(), "throttled")


def test_store_list_is_paginated(alpha, make_staff, api_client_for):
    from tests.factories import StoreFactory

    admin = make_staff(alpha, Role.OPERATOR_ADMIN)
    StoreFactory.create_batch(3, operator=alpha)
    body = api_client_for(admin).get("/api/v1/stores/?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    second = api_client_for(admin).get("/api/v1/stores/?page_size=2&page=2").json()
    assert second["count"] == 3
    assert len(second["results"]) == 1
    assert second["previous"]
    assert not second["next"]


def test_a_first_page_holding_everything_is_counted_without_a_count_query(
    alpha, make_staff, api_client_for
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import StoreFactory

    admin = make_staff(alpha, Role.OPERATOR_ADMIN)
    StoreFactory.create_batch(3, operator=alpha)
    client = api_client_for(admin)
    with CaptureQueriesContext(connection) as short:
        body = client.get("/api/v1/stores/?page_size=5").json()
    assert body["count"] == 3
    assert len(body["results"]) == 3
    assert body["next"] is None
    assert body["previous"] is None
    assert not any("COUNT(" in q["sql"] for q in short.captured_queries)
    with CaptureQueriesContext(connection) as long:
        assert client.get("/api/v1/stores/?page_size=2").json()["count"] == 3
    assert any("COUNT(" in q["sql"] for q in long.captured_queries)


def test_schema_and_docs_are_served_without_cdn():
    client = APIClient()
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/token/" in paths
    assert "/api/v1/stores/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
