"""Velocity rules (issue 16): more than N openings for one document within H
hours, or more than M openings at one store within an hour, raise a medium
risk flag on the burst's lines and one alert on the console home, once per
burst; registration hands the opening over through its hook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from operators.roles import Role
from registration.models import Line
from reverification.models import RiskFlag, RiskFlagState, VelocityAlert, VelocityRule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rules(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    settings.TELEREG_VELOCITY_DOCUMENT_OPENINGS = 2
    settings.TELEREG_VELOCITY_DOCUMENT_HOURS = 24
    settings.TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR = 50


@pytest.fixture
def opening(open_mobile, django_capture_on_commit_callbacks):
    """An opening whose after-commit work (the velocity hook) runs, as in production."""

    def do(identity=None):
        with django_capture_on_commit_callbacks(execute=True):
            return open_mobile(identity)

    return do


def test_openings_within_the_limit_raise_nothing(opening):
    tx, holder = opening()
    opening(holder)
    assert not VelocityAlert.objects.exists()
    assert not RiskFlag.objects.exists()


def test_a_third_opening_for_one_document_fires_once_and_flags_the_burst(opening):
    first, holder = opening()
    second, _ = opening(holder)
    third, _ = opening(holder)
    alert = VelocityAlert.objects.get()
    assert alert.rule == VelocityRule.DOCUMENT
    assert alert.openings == 3
    assert holder.id_number not in alert.key  # the person's id, never the document
    flagged = set(RiskFlag.objects.values_list("line_id", flat=True))
    assert flagged == {first.line_id, second.line_id, third.line_id}
    assert set(RiskFlag.objects.values_list("tier", "source", "state")) == {
        ("medium", "velocity", RiskFlagState.OPEN)
    }
    # A later opening in the same burst: no second alert, the new line flagged too.
    fourth, _ = opening(holder)
    assert VelocityAlert.objects.count() == 1
    assert VelocityAlert.objects.get().openings == 4
    assert RiskFlag.objects.filter(line_id=fourth.line_id).count() == 1
    assert RiskFlag.objects.count() == 4


def test_a_new_burst_after_the_window_raises_a_new_alert(settings, opening):
    settings.TELEREG_VELOCITY_DOCUMENT_OPENINGS = 1  # the cap of 5 lines bounds a test
    _, holder = opening()
    opening(holder)
    assert VelocityAlert.objects.count() == 1
    # Two days pass: the old openings and the alert are outside the window.
    old = dt.timedelta(hours=48)
    for line in Line.objects.all():
        Line.objects.filter(pk=line.pk).update(registered_at=line.registered_at - old)
    alert = VelocityAlert.objects.get()
    VelocityAlert.objects.filter(pk=alert.pk).update(last_at=alert.last_at - old)
    opening(holder)
    assert VelocityAlert.objects.count() == 1  # one opening in the new window: within the limit
    opening(holder)
    assert VelocityAlert.objects.count() == 2


def test_openings_for_different_documents_never_add_up(opening):
    for _ in range(4):
        opening()
    assert not VelocityAlert.objects.exists()


def test_too_many_openings_at_one_store_fire_the_store_rule_once(settings, opening):
    settings.TELEREG_VELOCITY_STORE_OPENINGS_PER_HOUR = 3
    lines = [opening()[0].line_id for _ in range(4)]
    alert = VelocityAlert.objects.get()
    assert alert.rule == VelocityRule.STORE
    assert alert.store_id is not None
    assert set(RiskFlag.objects.values_list("line_id", flat=True)) == set(lines)
    opening()
    assert VelocityAlert.objects.count() == 1
    assert RiskFlag.objects.count() == 5


def test_without_the_after_commit_work_nothing_is_evaluated(open_mobile):
    # The rules run after the opening commits, never inside it.
    _, holder = open_mobile()
    open_mobile(holder)
    open_mobile(holder)
    assert not VelocityAlert.objects.exists()


def test_the_alert_shows_on_the_console_home(opening, alpha, make_staff, web_client_for):
    _, holder = opening()
    opening(holder)
    opening(holder)
    officer = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    home = officer.get(reverse("console:index")).content.decode()
    assert "Velocity alerts (openings too fast) not acknowledged" in home
    assert reverse("console:reverification_velocityalert_changelist") in home
    listing = officer.get(reverse("console:reverification_velocityalert_changelist"))
    assert listing.status_code == 200
    assert holder.id_number not in listing.content.decode()


def test_another_operators_officer_does_not_see_the_alert(
    opening, beta, make_staff, web_client_for
):
    _, holder = opening()
    opening(holder)
    opening(holder)
    officer = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    listing = officer.get(reverse("console:reverification_velocityalert_changelist"))
    assert list(listing.context["cl"].result_list) == []
