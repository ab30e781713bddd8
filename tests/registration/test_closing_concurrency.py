"""Closings racing with real threads, each on its own database connection
(PostgreSQL): a line closes once, whoever asks at the same moment."""

from __future__ import annotations

import pytest

from registration import closing, services
from registration.models import CloseReason, HolderAlert, LineClosure, NumberStatus, PhoneNumber
from tests import helpers

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


@pytest.fixture(autouse=True)
def quiet_broker(monkeypatch):
    monkeypatch.setattr(closing, "enqueue", lambda *args, **options: True)
    monkeypatch.setattr(services, "enqueue", lambda *args, **options: True)


def test_eight_closings_of_one_line_at_once_close_it_once(open_mobile, alpha_compliance):
    tx, _ = open_mobile()
    reasons = [CloseReason.FRAUD, CloseReason.NON_PAYMENT] * (THREADS // 2)

    def close(i: int):
        return closing.line_close(line=tx.line, reason=reasons[i], actor=alpha_compliance.user)

    results = helpers.race(close, THREADS)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.pk for r in results}) == 1
    assert LineClosure.objects.count() == 1
    assert HolderAlert.objects.filter(closure__isnull=False).count() == 1
    assert PhoneNumber.objects.get(number=tx.line.number).status == NumberStatus.QUARANTINED
