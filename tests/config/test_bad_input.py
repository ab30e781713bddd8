"""Bad input of any shape gets a 400 (or 413) in the error shape naming the
field, never a 500: NUL characters anywhere a request carries text, deep
nesting, huge bodies, numbers and strings JSON allows but nothing downstream
can hold."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.parsers import MAX_DEPTH, NUL_REASON, SURROGATE_REASON, nesting_depth, text_problems
from identity.models import Person
from registration.models import Transaction

pytestmark = pytest.mark.django_db


def assert_400_naming(response, field: str, code: str = "invalid") -> dict:
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert field in body["error"]["fields"], body
    assert all(body["error"]["fields"][field])
    return body


# --- NUL in query parameters, paths, headers, cookies ------------------------------


def test_nul_in_a_query_parameter_is_400_naming_it_without_signing_in():
    response = APIClient().get("/api/v1/privacy-notices/current/?operator=%00")
    body = assert_400_naming(response, "operator")
    assert "NUL" in body["error"]["fields"]["operator"][0]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/transactions/?state=%00",
        "/api/v1/transactions/?kind=%00",
        "/api/v1/transactions/?kind=mobile_open&state=a%00b",
        "/api/v1/numbers/available/?kind=mobile&pattern=8%00",
        "/api/v1/campaigns/?state=%00",
    ],
)
def test_nul_in_list_filters_is_400_naming_the_parameter(alpha_clerk, api_client_for, url):
    param = url.split("?")[1].split("=")[-2].split("&")[-1]
    response = api_client_for(alpha_clerk).get(url)
    assert_400_naming(response, param)


def test_nul_in_a_parameter_name_is_400_too(alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).get("/api/v1/transactions/?st%00ate=x")
    body = response.json()
    assert response.status_code == 400
    assert body["error"]["code"] == "invalid"
    assert len(body["error"]["fields"]) == 1
    assert "\x00" not in next(iter(body["error"]["fields"]))


def test_nul_in_a_path_segment_is_400(alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).get("/api/v1/lines/%00/")
    assert_400_naming(response, "path")


def test_nul_in_a_header_is_400_naming_the_header(alpha_clerk, api_client_for, alpha_notice):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        {"kind": "mobile_open"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k\x00",
    )
    assert_400_naming(response, "header:Idempotency-Key")
    assert not Transaction.objects.exists()


def test_nul_in_a_page_query_string_is_the_projects_400_page(alpha_clerk, web_client_for):
    response = web_client_for(alpha_clerk).get("/store/?q=%00")
    assert response.status_code == 400
    assert b"<html" in response.content
    assert b"NUL" in response.content


def test_session_cookie_holding_nul_is_ignored_not_a_500():
    client = Client()
    # Cookie octal escapes ("\\000") decode to NUL: once a session key, a database error.
    client.cookies.load('sessionid="\\000abcdefgh12345678"')
    response = client.get("/store/")
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


def test_nul_in_a_posted_form_field_is_400_and_stores_nothing(alpha_clerk, web_client_for):
    client = web_client_for(alpha_clerk)
    response = client.post("/sign-in/", {"username": "x\x00", "password": "y"})
    assert response.status_code == 400
    assert b"NUL" in response.content


# --- JSON bodies: NUL, surrogates, numbers out of range ----------------------------


def test_nul_in_kind_of_a_json_body_is_400_naming_kind(alpha_clerk, api_client_for, alpha_notice):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_open\x00",
            "consent": {"notice": alpha_notice.content_hash, "given": True},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert_400_naming(response, "kind")
    assert not Transaction.objects.exists()


def test_lone_surrogate_in_a_choice_is_400_and_renderable(alpha_clerk, api_client_for, consent):
    # A choice's error quotes the input, which UTF-8 cannot encode.
    raw = json.dumps(
        {"kind": "PLACEHOLDER", "consent": {"notice": consent.notice_hash, "given": True}}
    )
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        data=raw.replace("PLACEHOLDER", "\\ud800"),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert_400_naming(response, "kind")
    assert not Transaction.objects.exists()


def test_lone_surrogate_in_a_json_key_is_400_and_renderable(alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/", data='{"\\udfff": 1}', content_type="application/json"
    )
    body = response.json()
    assert response.status_code == 400
    assert list(body["error"]["fields"]) == ["body"]


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_numbers_beyond_floating_point_are_400(api_client_for, alpha_clerk, number):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/", data=f'{{"name": {number}}}', content_type="application/json"
    )
    assert_400_naming(response, "body", code="parse_error")


def test_integer_with_more_digits_than_python_converts_is_400(api_client_for, alpha_clerk):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/",
        data='{"name": ' + "9" * 5000 + "}",
        content_type="application/json",
    )
    assert_400_naming(response, "body", code="parse_error")


# --- Nesting and size -------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/auth/token/", "/api/v1/transactions/", "/api/v1/identity/check/"]
)
def test_hundred_thousand_nested_brackets_are_400_not_a_recursion_error(
    alpha_clerk, api_client_for, url
):
    client = APIClient() if url.endswith("token/") else api_client_for(alpha_clerk)
    response = client.post(
        url,
        data="[" * 100_000,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    body = assert_400_naming(response, "body", code="parse_error")
    assert str(MAX_DEPTH) in body["error"]["fields"]["body"][0]
    assert not Transaction.objects.exists()


def test_nesting_within_the_limit_is_parsed_as_before(alpha_clerk, api_client_for):
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/", data=nested, content_type="application/json"
    )
    assert response.status_code == 400
    assert (
        response.json()["error"]["code"] == "invalid"
    )  # the serializer's answer, not the parser's


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"a": "[[[[{{{{" * 100, "b": ['\\"[', "]"]})
    assert nesting_depth(text, MAX_DEPTH) == 2


def test_body_larger_than_the_upload_limit_is_413_in_the_error_shape(
    alpha_clerk, api_client_for, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/",
        data=json.dumps({"name": "x" * 20_000}),
        content_type="application/json",
    )
    assert response.status_code == 413
    body = response.json()
    assert body["error"]["code"] == "too_large"
    assert body["error"]["fields"] == {"body": [body["error"]["message"]]}
    assert not Person.objects.exists()


def test_text_problems_walks_every_string_by_field_path():
    data = {"applicant": {"name": "a\x00", "ok": "fine"}, "list": ["x", "\ud800"], "k\x00": 1}
    assert text_problems(data) == {
        "applicant.name": [str(NUL_REASON)],
        "body": [str(NUL_REASON)],
        "list.1": [str(SURROGATE_REASON)],
    }
