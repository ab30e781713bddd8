"""The CAMARA SIM Swap endpoints partners call (issue 13): when did this
number's SIM last change, and did it change within maxAge hours. Partners
only, the operator's own numbers only, no personal data, every call logged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from registration import closing, services, tasks
from registration.models import PartnerCall, SimCard
from tests.registration.test_partner_api import assert_camara, make_partner, partner_client
from tests.registration.test_sim_replace import make_iccid

pytestmark = pytest.mark.django_db

RETRIEVE = "/api/camara/sim-swap/retrieve-date"
CHECK = "/api/camara/sim-swap/check"


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    # Holder alerts are published to the broker; here only the answers count.
    cache.clear()
    for module in (closing, services, tasks):
        monkeypatch.setattr(module, "enqueue", lambda task, *args, **options: True)
    yield
    cache.clear()


@pytest.fixture
def partner(alpha):
    return partner_client(make_partner(alpha, "partner"))


@pytest.fixture
def held_line(open_mobile):
    tx, identity = open_mobile(iccid=make_iccid("898601234567000001"))
    return tx.line, identity


def swap(submit, line, identity, hours_ago: float = 0) -> dt.datetime:
    """Replace the line's SIM, then move the replacement ``hours_ago`` back
    (the test's clock, not a sleep); returns when it happened."""
    submit("sim_replace", line=line.number, applicant=identity, iccid=make_iccid())
    moment = timezone.now() - dt.timedelta(hours=hours_ago)
    SimCard.objects.filter(line=line, changed_at__isnull=False).update(changed_at=moment)
    return moment


def test_a_line_whose_sim_never_changed_has_no_latest_change_and_is_not_swapped(partner, held_line):
    line, _ = held_line
    assert partner.post(RETRIEVE, {"phoneNumber": line.number}, format="json").json() == {
        "latestSimChange": None
    }
    assert partner.post(CHECK, {"phoneNumber": line.number}, format="json").json() == {
        "swapped": False
    }


def test_a_replacement_is_the_latest_change_and_counts_within_max_age(partner, held_line, submit):
    line, identity = held_line
    moment = swap(submit, line, identity, hours_ago=30)
    answer = partner.post(RETRIEVE, {"phoneNumber": line.number}, format="json")
    assert answer.status_code == 200, answer.json()
    assert dt.datetime.fromisoformat(answer.json()["latestSimChange"]) == moment
    within = partner.post(CHECK, {"phoneNumber": line.number, "maxAge": 48}, format="json")
    assert within.json() == {"swapped": True}
    before = partner.post(CHECK, {"phoneNumber": line.number, "maxAge": 24}, format="json")
    assert before.json() == {"swapped": False}
    # Without maxAge, CAMARA's default of 240 hours.
    assert partner.post(CHECK, {"phoneNumber": line.number}, format="json").json() == {
        "swapped": True
    }


def test_a_swap_older_than_the_default_period_is_not_recent(partner, held_line, submit):
    line, identity = held_line
    swap(submit, line, identity, hours_ago=241)
    assert partner.post(CHECK, {"phoneNumber": line.number}, format="json").json() == {
        "swapped": False
    }


@pytest.mark.parametrize("max_age", [0, -1, 2401, "ten", None])
def test_a_bad_max_age_is_400_in_the_camara_shape(partner, held_line, max_age):
    line, _ = held_line
    response = partner.post(CHECK, {"phoneNumber": line.number, "maxAge": max_age}, format="json")
    assert_camara(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("number", ["13800138000", "+86 138", "+86138\x0000138000", "+" + "1" * 40])
def test_a_bad_number_is_400_in_the_camara_shape(partner, number):
    assert_camara(
        partner.post(RETRIEVE, {"phoneNumber": number}, format="json"), 400, "INVALID_ARGUMENT"
    )


def test_another_operators_number_and_an_unknown_one_are_not_found(beta, held_line, alpha):
    line, _ = held_line
    beta_partner = partner_client(make_partner(beta, "partner"))
    for path in (RETRIEVE, CHECK):
        assert_camara(
            beta_partner.post(path, {"phoneNumber": line.number}, format="json"),
            404,
            "IDENTIFIER_NOT_FOUND",
        )
    alpha_partner = partner_client(make_partner(alpha, "other"))
    assert_camara(
        alpha_partner.post(RETRIEVE, {"phoneNumber": "+8613999999999"}, format="json"),
        404,
        "IDENTIFIER_NOT_FOUND",
    )


def test_staff_cannot_call_the_sim_swap_endpoints(alpha_clerk, api_client_for, held_line):
    line, _ = held_line
    response = api_client_for(alpha_clerk).post(
        RETRIEVE, {"phoneNumber": line.number}, format="json"
    )
    assert_camara(response, 403, "PERMISSION_DENIED")


def test_every_call_is_logged_with_the_partner_and_no_clear_number(
    partner, held_line, submit, caplog
):
    line, identity = held_line
    swap(submit, line, identity)
    caplog.set_level("DEBUG")
    partner.post(RETRIEVE, {"phoneNumber": line.number}, format="json")
    partner.post(CHECK, {"phoneNumber": line.number, "maxAge": 1}, format="json")
    calls = list(PartnerCall.objects.order_by("pk"))
    assert [c.endpoint for c in calls] == ["sim-swap/retrieve-date", "sim-swap/check"]
    assert {c.partner.name for c in calls} == {"partner bank"}
    assert calls[1].answer == {"swapped": True}
    for call in calls:
        assert line.number not in str(call.__dict__)
    assert line.number not in caplog.text
