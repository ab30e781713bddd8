"""End users of organisations' lines, representatives (agents) and minors
with a guardian (issue 15), through the API and the services."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from identity.models import Person
from identity.synthetic import synthetic_gb11643
from registration import alerts
from registration.models import Line, LineUser, Transaction
from tests.conftest import years_ago
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db

CODE = "91110000600037341L"


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def alert_lines(path) -> list[dict]:
    if not path.exists():
        return []
    return [
        row
        for row in (json.loads(x) for x in path.read_text().splitlines())
        if row["kind"] == "alert"
    ]


def post(client, path, body):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)


def consent_block(consent):
    return {"notice": consent.notice_hash, "given": True}


def authorization(reference="AUTH-1", days=90):
    return {
        "reference": reference,
        "valid_until": (timezone.localdate() + dt.timedelta(days=days)).isoformat(),
    }


def org_opening(handler, consent, reference="AUTH-1"):
    return {
        "kind": "mobile_open",
        "subscriber": {"type": "organisation", "name": "样例科技有限公司", "uscc": CODE},
        "handler": api_block(handler),
        "authorization": authorization(reference),
        "consent": consent_block(consent),
    }


def own_opening(applicant, consent, **extra):
    return {
        "kind": "mobile_open",
        "applicant": api_block(applicant),
        "consent": consent_block(consent),
        **extra,
    }


@pytest.fixture
def young(citizen, rng, today):
    """A citizen of ``age`` (their resident ID number encodes the birth date)."""

    def make(age: int, **overrides):
        born = years_ago(today, age) - dt.timedelta(days=10)
        number = synthetic_gb11643(prefix6="110105", birth_date=born, sex="F", rng=rng)
        return citizen(date_of_birth=born, sex="F", id_number=number, **overrides)

    return make


# --- End users --------------------------------------------------------------------------------


def test_recording_the_end_user_moves_the_count_to_their_cap(
    clerk_api, citizen, consent, inventory, alpha
):
    alpha.mobile_line_cap = 2
    alpha.save()
    handler, user = citizen(), citizen()
    number = post(clerk_api, "/api/v1/transactions/", org_opening(handler, consent)).json()["line"][
        "number"
    ]
    assert post(clerk_api, "/api/v1/transactions/", own_opening(user, consent)).status_code == 201
    body = {
        "handler": api_block(handler),
        "user": api_block(user),
        "consent": consent_block(consent),
    }
    response = post(clerk_api, f"/api/v1/lines/{number}/user/", body)
    assert response.status_code == 200, response.json()
    assert response.json()["holder"]["type"] == "organisation"
    line = Line.objects.get(number=number)
    assert line.user.pk == Person.objects.filter(pk=line.user_id).get().pk
    assert LineUser.objects.get(line=line).handler == line.holder
    # The user holds one line of their own and uses the organisation's: at cap 2, full.
    refused = post(clerk_api, "/api/v1/transactions/", own_opening(user, consent))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "cap_reached"


def test_the_end_user_is_refused_when_their_cap_is_full(
    clerk_api, citizen, consent, inventory, alpha
):
    alpha.mobile_line_cap = 1
    alpha.save()
    handler, user = citizen(), citizen()
    number = post(clerk_api, "/api/v1/transactions/", org_opening(handler, consent)).json()["line"][
        "number"
    ]
    post(clerk_api, "/api/v1/transactions/", own_opening(user, consent))
    body = {
        "handler": api_block(handler),
        "user": api_block(user),
        "consent": consent_block(consent),
    }
    response = post(clerk_api, f"/api/v1/lines/{number}/user/", body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cap_reached"
    assert Line.objects.get(number=number).user is None


def test_only_the_current_handler_names_the_end_user(clerk_api, citizen, consent, inventory):
    first, second, user = citizen(), citizen(), citizen()
    number = post(clerk_api, "/api/v1/transactions/", org_opening(first, consent)).json()["line"][
        "number"
    ]
    post(clerk_api, "/api/v1/transactions/", org_opening(second, consent, reference="AUTH-2"))
    body = {"handler": api_block(first), "user": api_block(user), "consent": consent_block(consent)}
    response = post(clerk_api, f"/api/v1/lines/{number}/user/", body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "handler_replaced"
    assert not LineUser.objects.exists()
    body["handler"] = api_block(second)
    assert post(clerk_api, f"/api/v1/lines/{number}/user/", body).status_code == 200


def test_a_persons_own_line_has_no_end_user(clerk_api, citizen, consent, inventory):
    holder = citizen()
    number = post(clerk_api, "/api/v1/transactions/", own_opening(holder, consent)).json()["line"][
        "number"
    ]
    body = {
        "handler": api_block(holder),
        "user": api_block(citizen()),
        "consent": consent_block(consent),
    }
    response = post(clerk_api, f"/api/v1/lines/{number}/user/", body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_organisation_line"


def test_a_user_the_authority_refuses_is_not_recorded(clerk_api, citizen, consent, inventory):
    handler = citizen()
    number = post(clerk_api, "/api/v1/transactions/", org_opening(handler, consent)).json()["line"][
        "number"
    ]
    body = {
        "handler": api_block(handler),
        "user": api_block(citizen(revoked=True)),
        "consent": consent_block(consent),
    }
    response = post(clerk_api, f"/api/v1/lines/{number}/user/", body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "identity_not_verified"
    assert Line.objects.get(number=number).user is None


# --- Agents -----------------------------------------------------------------------------------


def test_an_agent_is_verified_recorded_and_shown_masked_on_the_receipt(
    clerk_api, citizen, consent, inventory, alpha_clerk, web_client_for
):
    applicant, agent = citizen(), citizen()
    body = own_opening(applicant, consent, agent=api_block(agent), authorization=authorization())
    response = post(clerk_api, "/api/v1/transactions/", body)
    assert response.status_code == 201, response.json()
    tx = Transaction.objects.get(uid=response.json()["id"])
    assert tx.agent is not None
    assert tx.agent != tx.applicant
    assert tx.authorization_reference == "AUTH-1"
    page = web_client_for(alpha_clerk).get(reverse("registration:receipt", kwargs={"uid": tx.uid}))
    content = page.content.decode()
    assert 'id="agent"' in content
    assert agent.name[0] + "*" in content
    assert agent.name not in content
    assert agent.id_number not in content


def test_an_agent_needs_an_authorization_and_the_authoritys_match(
    clerk_api, citizen, consent, inventory
):
    applicant = citizen()
    response = post(
        clerk_api,
        "/api/v1/transactions/",
        own_opening(applicant, consent, agent=api_block(citizen())),
    )
    assert response.status_code == 400
    assert "authorization" in response.json()["error"]["fields"]
    refused = post(
        clerk_api,
        "/api/v1/transactions/",
        own_opening(
            applicant,
            consent,
            agent=api_block(citizen(revoked=True)),
            authorization=authorization(),
        ),
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "identity_not_verified"
    assert "agent" in refused.json()["error"]["fields"]
    assert not Line.objects.exists()


def test_the_holders_alert_says_an_agent_acted(open_mobile, clerk_api, citizen, consent, outbox):
    first, holder = open_mobile()
    agent = citizen()
    body = own_opening(holder, consent, agent=api_block(agent), authorization=authorization())
    tx_id = post(clerk_api, "/api/v1/transactions/", body).json()["id"]
    tx = Transaction.objects.get(uid=tx_id)
    assert alerts.holder_alert_send(transaction_id=tx.pk) == 1
    (message,) = alert_lines(outbox)
    assert "代理人" in message["text"]
    assert agent.name[0] + "*" in message["text"]
    assert agent.name not in message["text"]


# --- Minors -----------------------------------------------------------------------------------


def test_a_minor_without_a_guardian_is_400_guardian_required(
    clerk_api, citizen, young, consent, inventory, today
):
    minor = young(12)
    response = post(clerk_api, "/api/v1/transactions/", own_opening(minor, consent))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "guardian_required"
    assert "16" in error["fields"]["guardian"][0]
    assert not Person.objects.exists()
    assert not Transaction.objects.exists()


def test_a_minor_with_a_guardian_opens_and_the_line_counts_toward_the_minor(
    clerk_api, citizen, young, consent, inventory, today, alpha, outbox
):
    alpha.mobile_line_cap = 1
    alpha.save()
    parent = citizen()
    parent_line = post(clerk_api, "/api/v1/transactions/", own_opening(parent, consent)).json()
    minor = young(12)
    body = own_opening(minor, consent, guardian={**api_block(parent), "relation": "parent"})
    response = post(clerk_api, "/api/v1/transactions/", body)
    assert response.status_code == 201, response.json()
    tx = Transaction.objects.get(uid=response.json()["id"])
    assert tx.guardian is not None
    assert tx.guardian_relation == "parent"
    assert tx.applicant != tx.guardian
    assert tx.line.holder == tx.applicant
    # The minor's cap (1) is full; the parent's own line did not count toward it.
    again = post(clerk_api, "/api/v1/transactions/", body)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "cap_reached"
    # The guardian hears of it on their own line.
    alerts.holder_alert_send(transaction_id=tx.pk)
    told = {row["to"] for row in alert_lines(outbox)}
    assert parent_line["line"]["number"] in told


def test_a_guardian_is_verified_adult_and_related(
    clerk_api, citizen, young, consent, inventory, today
):
    minor = young(12)
    child_guardian = young(13)
    body = own_opening(minor, consent, guardian={**api_block(child_guardian), "relation": "parent"})
    response = post(clerk_api, "/api/v1/transactions/", body)
    assert response.status_code == 400
    assert "guardian.date_of_birth" in response.json()["error"]["fields"]
    body = own_opening(minor, consent, guardian={**api_block(citizen()), "relation": "uncle"})
    assert post(clerk_api, "/api/v1/transactions/", body).status_code == 400
    body = own_opening(
        minor, consent, guardian={**api_block(citizen(revoked=True)), "relation": "guardian"}
    )
    refused = post(clerk_api, "/api/v1/transactions/", body)
    assert refused.status_code == 409
    assert "guardian" in refused.json()["error"]["fields"]
    assert not Line.objects.exists()


def test_an_adult_needs_no_guardian(clerk_api, citizen, consent, inventory):
    body = own_opening(citizen(), consent, guardian={**api_block(citizen()), "relation": "parent"})
    response = post(clerk_api, "/api/v1/transactions/", body)
    assert response.status_code == 400
    assert "guardian" in response.json()["error"]["fields"]


def test_an_organisations_new_line_is_told_on_its_handlers_lines(
    clerk_api, citizen, consent, inventory, outbox
):
    handler = citizen()
    own = post(clerk_api, "/api/v1/transactions/", own_opening(handler, consent)).json()
    first = post(clerk_api, "/api/v1/transactions/", org_opening(handler, consent)).json()
    second = post(clerk_api, "/api/v1/transactions/", org_opening(handler, consent)).json()
    alerts.holder_alert_send(transaction_id=Transaction.objects.get(uid=second["id"]).pk)
    told = {row["to"] for row in alert_lines(outbox)}
    assert told == {own["line"]["number"], first["line"]["number"]}


def test_a_minors_line_is_reverified_by_the_holder_once_of_age_not_the_guardian(
    clerk_api, citizen, rng, today, consent, inventory, alpha, make_staff, monkeypatch
):
    """When the minor reaches the operator's minimum age, the next
    re-verification asks the holder: the guardian's identity does not answer it."""
    from operators.roles import Role
    from reverification import campaigns
    from reverification.models import RequestState

    parent = citizen()
    born = years_ago(today, alpha.min_holder_age) + dt.timedelta(days=5)  # of age in 5 days
    number = synthetic_gb11643(prefix6="110105", birth_date=born, sex="F", rng=rng)
    minor = citizen(date_of_birth=born, sex="F", id_number=number)
    body = own_opening(minor, consent, guardian={**api_block(parent), "relation": "parent"})
    response = post(clerk_api, "/api/v1/transactions/", body)
    assert response.status_code == 201, response.json()
    line_number = response.json()["line"]["number"]
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Check",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    request = campaign.requests.get(line__number=line_number)
    # A week later the holder is of age.
    real_localdate = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda *a, **k: real_localdate(*a, **k) + dt.timedelta(days=7)
    )
    answer = {"consent": consent_block(consent)}
    url = f"/api/v1/lines/{line_number}/reverify/"

    by_guardian = clerk_api.post(url, {**answer, "holder": api_block(parent)}, format="json")
    assert by_guardian.status_code == 400
    assert by_guardian.json()["error"]["code"] == "answer_refused"
    request.refresh_from_db()
    assert request.state == RequestState.PENDING

    by_holder = clerk_api.post(url, {**answer, "holder": api_block(minor)}, format="json")
    assert by_holder.status_code == 200, by_holder.json()
    assert by_holder.json()["state"] == "verified"
