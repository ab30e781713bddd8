"""POST /api/v1/persons/lookup/: a person by document through the blind index,
masked, with the open lines they hold; scoped to the caller's operator."""

from __future__ import annotations

import pytest

from identity.models import AccessLogEntry
from operators.roles import Role
from tests.registration.test_api import opening, post_tx

pytestmark = pytest.mark.django_db

URL = "/api/v1/persons/lookup/"


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def test_lookup_finds_the_holder_masked_with_their_open_lines(
    clerk_api, citizen, consent, inventory
):
    identity = citizen()
    first = post_tx(clerk_api, opening(identity, consent)).json()["line"]["number"]
    second = post_tx(clerk_api, opening(identity, consent)).json()["line"]["number"]
    post_tx(clerk_api, opening(citizen(), consent))  # someone else's line
    # Typed differently (lower case, spaces): the same document.
    typed = " ".join(identity.id_number.lower())
    logged_before = AccessLogEntry.objects.count()
    response = clerk_api.post(URL, {"id_type": identity.id_type, "id_number": typed}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted(line["number"] for line in body["lines"]) == sorted([first, second])
    assert body["person"]["id_type"] == identity.id_type
    assert identity.name not in response.content.decode()
    assert identity.id_number not in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    # A look-up by document is a read of personal data: logged, with its purpose.
    entry = AccessLogEntry.objects.order_by("-id").first()
    assert AccessLogEntry.objects.count() == logged_before + 1
    assert entry.purpose == "customer_request"
    assert entry.detail["lookup"] == "document"
    assert entry.detail["found"] is True
    assert entry.person.uid.hex == body["person"]["id"].replace("-", "")


def test_an_unknown_document_is_404_and_a_bad_type_is_400(clerk_api, make_identity):
    stranger = make_identity()
    missing = clerk_api.post(
        URL, {"id_type": stranger.id_type, "id_number": stranger.id_number}, format="json"
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad_type = clerk_api.post(URL, {"id_type": "library_card", "id_number": "1"}, format="json")
    assert bad_type.status_code == 400
    assert "id_type" in bad_type.json()["error"]["fields"]
    empty = clerk_api.post(URL, {"id_type": stranger.id_type}, format="json")
    assert empty.status_code == 400
    assert "id_number" in empty.json()["error"]["fields"]


def test_another_operators_staff_find_nobody(
    clerk_api, citizen, consent, inventory, beta, make_staff, api_client_for
):
    identity = citizen()
    post_tx(clerk_api, opening(identity, consent))
    outsider = api_client_for(make_staff(beta, Role.CLERK))
    response = outsider.post(
        URL, {"id_type": identity.id_type, "id_number": identity.id_number}, format="json"
    )
    assert response.status_code == 404


def test_lookup_is_a_post_only(clerk_api):
    assert clerk_api.get(URL).status_code == 405
