"""Two workers on overlapping ranges at once (real threads, each on its own
connection; PostgreSQL in CI): every request still gets exactly one notice."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter

import pytest
from django.db import connections
from django.utils import timezone

from identity import services as identity_services
from operators.roles import Role
from registration.models import Line, LineKind
from reverification import campaigns, dispatch
from reverification.models import Delivery, DeliveryState, NoticeKind

pytestmark = pytest.mark.django_db(transaction=True)

LINES = 60


@pytest.fixture
def campaign(alpha, alpha_clerk, consent, citizen, make_staff):
    holder = identity_services.person_register(
        operator=alpha, identity=citizen(), consent=consent, channel="store", actor=None
    )
    Line.objects.bulk_create(
        Line(
            number=f"+86137{n:08d}",
            kind=LineKind.MOBILE,
            operator=alpha,
            holder=holder,
            store=alpha_clerk.store,
        )
        for n in range(LINES)
    )
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Overlap",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def test_overlapping_ranges_sent_at_once_send_each_reminder_once(
    campaign, settings, tmp_path, monkeypatch
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    monkeypatch.setattr(dispatch, "FILE_CHUNK", 4)
    # Two reminder cycles cut the same requests differently (requests answered
    # in between shift the ranges): the batches overlap.
    first = dispatch.batches_create(campaign=campaign, kind=NoticeKind.REMINDER, stage=7, size=60)
    second = dispatch.batches_create(campaign=campaign, kind=NoticeKind.REMINDER, stage=7, size=7)
    second = [pk for pk in second if pk not in first]
    assert first
    assert second
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(batch_ids: list[int]) -> None:
        try:
            barrier.wait(timeout=30)
            for pk in batch_ids:
                dispatch.batch_send(batch_id=pk)
        except Exception as exc:  # recorded: the test fails on it below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(ids,)) for ids in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    lines = [json.loads(line) for line in (tmp_path / "file.jsonl").read_text().splitlines()]
    counts = Counter(line["request"] for line in lines)
    assert len(counts) == LINES
    assert set(counts.values()) == {1}, Counter(counts.values())
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == LINES
