"""Names and addresses that would show one thing and be another are refused:
bidirectional overrides and isolates, zero-width characters, the byte order
mark, the Arabic letter mark, tag characters, control characters. Checked in
the one place every identity passes (documents.validate_identity), so the API,
the store pages and the subscriber pages refuse them alike; installation
addresses too."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import replace

import pytest

from identity.documents import (
    ADDRESS_CONTROL,
    ADDRESS_HIDDEN,
    NAME_HIDDEN,
    IdentityInvalid,
    validate_identity,
)
from identity.models import Person
from identity.synthetic import synthetic_identity
from registration.models import Transaction
from tests.helpers import identity_form_fields
from tests.registration.conftest import api_block

TODAY = dt.date(2026, 11, 28)

HIDDEN = [
    "\u202a",  # left-to-right embedding
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200b",  # zero-width space
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u061c",  # Arabic letter mark
    "\u00ad",  # soft hyphen
    "\U000e0041",  # tag letter A
]


def identity(**overrides):
    base = synthetic_identity(rng=random.Random(7), today=TODAY)  # noqa: S311 - synthetic
    return replace(base, **overrides)


@pytest.mark.parametrize("char", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("name", ["买买提·艾力", "O'Brien-Müller", "محمد علي", "Nguyễn Thị Minh"])
def test_name_with_an_invisible_or_direction_changing_character_is_refused(char, name):
    person = identity(name=name)
    assert validate_identity(person, today=TODAY).name == name  # the name as printed passes
    spoofed = replace(person, name=person.name[:1] + char + person.name[1:])
    with pytest.raises(IdentityInvalid) as caught:
        validate_identity(spoofed, today=TODAY)
    assert caught.value.errors == {"name": [str(NAME_HIDDEN)]}


@pytest.mark.parametrize("char", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_address_with_an_invisible_or_direction_changing_character_is_refused(char):
    spoofed = identity(address=f"北京市朝阳区{char}样例路8号")
    with pytest.raises(IdentityInvalid) as caught:
        validate_identity(spoofed, today=TODAY)
    assert caught.value.errors == {"address": [str(ADDRESS_HIDDEN)]}


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x7f", "\x9b"], ids=repr)
def test_address_with_a_control_character_is_refused(char):
    with pytest.raises(IdentityInvalid) as caught:
        validate_identity(identity(address=f"北京市{char}[2J样例路8号"), today=TODAY)
    assert caught.value.errors == {"address": [str(ADDRESS_CONTROL)]}


@pytest.mark.django_db
def test_api_refuses_a_spoofed_name_naming_the_field(alpha_clerk, api_client_for, citizen):
    block = api_block(citizen())
    block["name"] = "\u202e" + block["name"]
    response = api_client_for(alpha_clerk).post("/api/v1/identity/check/", block, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"name": [str(NAME_HIDDEN)]}


@pytest.mark.django_db
def test_api_refuses_a_spoofed_installation_address_and_stores_nothing(
    alpha_clerk, api_client_for, citizen, consent, inventory
):
    body = {
        "kind": "landline_install",
        "applicant": api_block(citizen()),
        "consent": {"notice": consent.notice_hash, "given": True},
        "installation_address": "北京市朝阳区\u2067样例路8号\u2069",
    }
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"installation_address": [str(ADDRESS_HIDDEN)]}
    assert not Person.objects.exists()
    assert not Transaction.objects.exists()


@pytest.mark.django_db
def test_store_form_shows_the_reason_beside_the_name_and_stores_nothing(
    alpha_clerk, web_client_for, citizen, alpha_notice
):
    person = citizen()
    fields = identity_form_fields(replace(person, name=person.name + "\u200b"), prefix="applicant-")
    response = web_client_for(alpha_clerk).post("/store/new/mobile_open/", fields)
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="error-applicant-name"' in content
    assert "invisible or direction-changing" in content
    assert not Person.objects.exists()
