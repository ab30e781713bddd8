"""Recycled numbers (issue 13): a number an earlier line closed with and that
a new line takes again is marked on the new line (``recycled_at``); the new
holder's receipt says the number was used before; ``GET /lines/{number}/``
shows the closed line until the number is given again, then the new line.
On PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from registration import closing, recycling
from registration.models import CloseReason, Line, LineStatus, NumberStatus, PhoneNumber

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def no_quarantine(settings):
    settings.TELEREG_QUARANTINE_DAYS = 0


@pytest.fixture
def close_and_release(no_quarantine):
    """Close a line and give its number back to the inventory at once."""

    def do(line: Line) -> None:
        closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
        assert closing.numbers_release_due(now=timezone.now() + SECOND) == 1
        number = PhoneNumber.objects.get(number=line.number)
        assert number.status == NumberStatus.AVAILABLE

    return do


def test_a_numbers_first_line_is_not_recycled(open_mobile):
    tx, _ = open_mobile()
    assert tx.line.recycled_at is None
    assert recycling.receipt_number_used_before(tx) is False


def test_a_closed_number_given_again_marks_the_new_line_recycled(open_mobile, close_and_release):
    first, _ = open_mobile()
    close_and_release(first.line)
    before = timezone.now()
    second, _ = open_mobile(number=first.line.number)
    assert second.line.number == first.line.number
    assert second.line.pk != first.line.pk
    assert second.line.recycled_at is not None
    assert second.line.recycled_at >= before - SECOND
    first.line.refresh_from_db()
    assert first.line.status == LineStatus.CLOSED
    assert first.line.recycled_at is None


def test_the_new_holders_receipt_says_the_number_was_used_before(
    open_mobile, close_and_release, alpha_clerk, web_client_for
):
    first, _ = open_mobile()
    client = web_client_for(alpha_clerk)
    page = client.get(reverse("registration:receipt", kwargs={"uid": first.uid}))
    assert page.status_code == 200
    assert 'id="number-used-before"' not in page.content.decode()
    close_and_release(first.line)
    second, _ = open_mobile(number=first.line.number)
    page = client.get(reverse("registration:receipt", kwargs={"uid": second.uid}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="number-used-before"' in html
    assert "used before" in html


def test_a_later_transaction_on_a_recycled_line_does_not_repeat_the_warning(
    open_mobile, close_and_release, submit, catalog
):
    first, _ = open_mobile()
    close_and_release(first.line)
    second, identity = open_mobile(number=first.line.number)
    added = submit(
        "service_add", applicant=identity, line=second.line.number, service="intl_roaming"
    )
    assert recycling.receipt_number_used_before(second) is True
    assert recycling.receipt_number_used_before(added) is False


def test_the_line_detail_shows_the_closed_line_until_its_number_is_given_again(
    open_mobile, close_and_release, alpha_compliance, api_client_for
):
    api = api_client_for(alpha_compliance)
    first, _ = open_mobile()
    number = first.line.number
    close_and_release(first.line)
    shown = api.get(f"/api/v1/lines/{number}/")
    assert shown.status_code == 200
    assert shown.json()["status"] == "closed"
    assert shown.json()["closed_at"] is not None
    second, _ = open_mobile(number=number)
    shown = api.get(f"/api/v1/lines/{number}/")
    assert shown.status_code == 200
    assert shown.json()["status"] == "active"
    assert shown.json()["closed_at"] is None
    assert shown.json()["registered_at"] is not None
    assert Line.objects.filter(number=number).count() == 2
