"""Velocity rules under concurrent openings, real threads on PostgreSQL: the
openings all stand (the rules run after each commit and lock the holder's
row in the openings' order, so they never deadlock an opening), one alert
per burst, every line of the burst flagged once."""

from __future__ import annotations

from collections import Counter

import pytest

from registration import services
from registration.models import Line
from reverification.models import RiskFlag, VelocityAlert
from tests import helpers

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_openings_for_one_document_raise_one_alert_and_all_stand(
    settings, alpha_clerk, consent, citizen, inventory
):
    settings.TELEREG_VELOCITY_DOCUMENT_OPENINGS = 1
    identity = citizen()

    def open_line(i: int):
        return services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identity
            ),
        )

    results = helpers.race(open_line, 12)
    outcomes = Counter(type(r).__name__ if isinstance(r, Exception) else r.state for r in results)
    assert outcomes == {"completed": 5, "CapReached": 7}, outcomes
    assert VelocityAlert.objects.count() == 1
    assert VelocityAlert.objects.get().openings == 5
    lines = set(Line.objects.values_list("pk", flat=True))
    assert len(lines) == 5
    assert set(RiskFlag.objects.values_list("line_id", flat=True)) == lines
    assert RiskFlag.objects.count() == 5
