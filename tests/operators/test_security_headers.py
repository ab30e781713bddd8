"""Every page carries a Content-Security-Policy without inline script; every
response that may hold personal data is Cache-Control: no-store; no template
holds an inline script or event-handler attribute."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from operators.roles import Role

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def _assert_strict(response) -> None:
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_sign_in_page_has_a_strict_policy_and_is_not_stored(client):
    response = client.get(reverse("operators:login"))
    _assert_strict(response)
    assert _no_store(response)


def test_console_page_has_a_strict_policy_and_is_not_stored(alpha, make_staff, web_client_for):
    client = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    response = client.get(reverse("console:registration_line_changelist"))
    assert response.status_code == 200
    _assert_strict(response)
    assert _no_store(response)


def test_store_and_subscriber_pages_are_not_stored(alpha, make_staff, web_client_for):
    client = web_client_for(make_staff(alpha, Role.CLERK))
    for url in (reverse("registration:transactions"), reverse("registration:lines")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _no_store(response), url
        _assert_strict(response)
    assert _no_store(client.get(reverse("my-lines")))


def test_api_responses_are_not_stored_and_carry_the_policy(
    alpha, make_staff, api_client_for, inventory
):
    api = api_client_for(make_staff(alpha, Role.CLERK))
    for url in ("/api/v1/me/", "/api/v1/lines/", "/api/v1/numbers/available/?kind=mobile"):
        response = api.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
        _assert_strict(response)
    refused = APIClient().get("/api/v1/lines/")
    assert refused.status_code in (401, 403)
    assert refused.headers["Cache-Control"] == "no-store"


def test_api_schema_may_be_cached_and_the_docs_page_runs_no_inline_script(client):
    assert not _no_store(client.get("/api/schema/"))
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    body = docs.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    policy = _policy(docs)
    assert policy["script-src"] == ["'self'"]
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', body)
    assert script is not None
    assert client.get(script.group(1).replace("&amp;", "&")).status_code == 200


# --- Templates ------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son\w+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


def _templates() -> list[Path]:
    found = list((ROOT / "templates").rglob("*.html"))
    found += [
        path
        for path in ROOT.glob("*/templates/**/*.html")
        if not path.is_relative_to(ROOT / ".venv")
    ]
    return found


def test_no_template_holds_an_inline_script_an_event_handler_or_a_style_attribute():
    templates = _templates()
    assert len(templates) > 20  # the scan finds the project's templates
    offenders = []
    for path in templates:
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []
