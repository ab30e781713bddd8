"""Error pages show no personal data: the project's own pages with DEBUG off,
and with DEBUG on Django's technical page hides every request value and every
frame variable that could hold personal data (Django's own filter steps aside
when DEBUG is on)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from identity import documents, vault
from identity.models import CorrectionRequest, Person
from tests.helpers import identity_form_fields
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db


class Boom(RuntimeError):
    pass


def raise_boom(*args, **kwargs):
    raise Boom("forced failure")


def assert_no_personal_data(content: str, identity) -> None:
    for value in (
        identity.name,
        identity.id_number,
        identity.address,
        identity.date_of_birth.isoformat(),
        repr(identity.date_of_birth),
    ):
        assert value, "the identity under test must carry every field"
        assert value not in content, f"found {value[:2]}… in the error page"


def debug_client(client_class, staff):
    client = client_class(raise_request_exception=False)
    client.force_login(staff.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_debug_page_of_a_failing_correction_shows_none_of_the_decrypted_record(
    settings, monkeypatch, register, make_identity, alpha_clerk
):
    settings.DEBUG = True
    identity = make_identity(address="北京市朝阳区秘密路7号")
    person = register(identity)
    # Deep inside validation, with the decrypted record and the merged values on the stack.
    monkeypatch.setattr(documents, "is_country", raise_boom)
    response = debug_client(APIClient, alpha_clerk).post(
        f"/api/v1/persons/{person.uid}/corrections/",
        {"values": {"nationality": "CHN"}},
        format="json",
    )
    assert response.status_code == 500
    content = response.content.decode()
    assert "Boom" in content
    assert "Traceback" in content
    assert_no_personal_data(content, identity)
    assert not CorrectionRequest.objects.exists()


def test_debug_page_of_a_failing_registration_shows_no_identity(
    settings, monkeypatch, alpha_clerk, citizen, consent, inventory
):
    settings.DEBUG = True
    identity = citizen(address="上海市浦东新区隐私街9号")
    monkeypatch.setattr(vault, "seal_new", raise_boom)  # with the clear values in hand
    response = debug_client(APIClient, alpha_clerk).post(
        "/api/v1/transactions/?note=" + identity.name,
        {
            "kind": "mobile_open",
            "applicant": api_block(identity),
            "consent": {"notice": consent.notice_hash, "given": True},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 500
    content = response.content.decode()
    assert "Boom" in content
    assert_no_personal_data(content, identity)
    assert not Person.objects.exists()


def test_debug_page_of_a_failing_store_form_hides_the_posted_identity(
    settings, monkeypatch, alpha_clerk, citizen, alpha_notice
):
    from identity import services as identity_services

    settings.DEBUG = True
    identity = citizen(address="广州市天河区保密路3号")
    monkeypatch.setattr(identity_services, "identity_check", raise_boom)
    response = debug_client(Client, alpha_clerk).post(
        "/store/new/mobile_open/", identity_form_fields(identity, prefix="applicant-")
    )
    assert response.status_code == 500
    content = response.content.decode()
    assert "Boom" in content
    assert "applicant-name" in content  # the parameter's name stays, its value does not
    assert_no_personal_data(content, identity)


def test_debug_page_hides_a_phone_number_in_the_path(settings, monkeypatch, alpha_clerk):
    from registration import selectors

    settings.DEBUG = True
    monkeypatch.setattr(selectors, "line_list", raise_boom)
    number = "+8613800138000"
    response = debug_client(APIClient, alpha_clerk).get(f"/api/v1/lines/{number}/")
    assert response.status_code == 500
    assert "Boom" in response.content.decode()
    assert number not in response.content.decode()
    assert number[3:] not in response.content.decode()


def test_server_error_with_debug_off_is_the_projects_page(settings, monkeypatch, alpha_clerk):
    from registration import views

    settings.DEBUG = False
    monkeypatch.setattr(views.selectors, "transaction_list", raise_boom)
    response = debug_client(Client, alpha_clerk).get("/store/transactions/")
    assert response.status_code == 500
    content = response.content.decode()
    assert "Something went wrong on our side" in content
    assert "css/telereg.css" in content  # styled like the rest
    assert "Boom" not in content
    assert "Traceback" not in content


def test_bad_request_page_is_the_projects_own_styled_page(client):
    response = client.get("/store/?q=%00")
    assert response.status_code == 400
    content = response.content.decode()
    assert "Bad request" in content
    assert "css/telereg.css" in content
