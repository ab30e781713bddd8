"""No page or API call works before the current undertaking is accepted."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from operators.models import ConfidentialityUndertaking, UndertakingAcceptance
from operators.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_clerk(alpha, make_staff):
    return make_staff(alpha, Role.CLERK, accepted=False)


def test_pages_redirect_to_the_undertaking_until_accepted(fresh_clerk, web_client_for):
    client = web_client_for(fresh_clerk)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("operators:undertaking"))


def test_console_redirects_to_the_undertaking_until_accepted(alpha, make_staff, web_client_for):
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER, accepted=False)
    response = web_client_for(officer).get("/console/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("operators:undertaking"))


def test_api_answers_403_with_code_until_accepted(fresh_clerk, api_client_for):
    response = api_client_for(fresh_clerk).get("/api/v1/stores/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "undertaking_not_accepted"


def test_accepting_on_the_page_records_time_and_version_and_opens_pages(
    fresh_clerk, web_client_for
):
    client = web_client_for(fresh_clerk)
    page = client.get(reverse("operators:undertaking"))
    assert "keep secret" in page.content.decode().lower()
    current = ConfidentialityUndertaking.objects.get()
    response = client.post(
        reverse("operators:undertaking"), {"version": current.version, "accept": "yes", "next": "/"}
    )
    assert response.status_code == 302
    fresh_clerk.refresh_from_db()
    assert fresh_clerk.confidentiality_version == current.version
    assert fresh_clerk.confidentiality_accepted_at is not None
    assert UndertakingAcceptance.objects.filter(user=fresh_clerk.user, undertaking=current).exists()
    assert client.get("/").status_code == 200


def test_posting_without_the_tick_accepts_nothing(fresh_clerk, web_client_for):
    client = web_client_for(fresh_clerk)
    current = ConfidentialityUndertaking.objects.get()
    response = client.post(reverse("operators:undertaking"), {"version": current.version})
    assert response.status_code == 200
    assert not UndertakingAcceptance.objects.filter(user=fresh_clerk.user).exists()


def test_accepting_through_the_api_opens_the_api(fresh_clerk, api_client_for):
    client = api_client_for(fresh_clerk)
    text = client.get("/api/v1/undertaking/").json()
    assert text["accepted"] is False
    wrong = client.post("/api/v1/undertaking/accept/", {"version": "old"}, format="json")
    assert wrong.status_code == 400
    assert "version" in wrong.json()["error"]["fields"]
    ok = client.post("/api/v1/undertaking/accept/", {"version": text["version"]}, format="json")
    assert ok.status_code == 200
    assert client.get("/api/v1/stores/").status_code == 200


def test_a_new_undertaking_version_must_be_accepted_again(alpha, make_staff, api_client_for):
    clerk = make_staff(alpha, Role.CLERK)
    client = api_client_for(clerk)
    assert client.get("/api/v1/stores/").status_code == 200
    ConfidentialityUndertaking.objects.create(
        version="2027-1", text="Updated text.", published_at=timezone.now()
    )
    response = client.get("/api/v1/stores/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "undertaking_not_accepted"


def test_next_parameter_cannot_redirect_off_site(fresh_clerk, web_client_for):
    client = web_client_for(fresh_clerk)
    current = ConfidentialityUndertaking.objects.get()
    response = client.post(
        reverse("operators:undertaking"),
        {"version": current.version, "accept": "yes", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
