"""A campaign over 2,000 lines sent by real Celery workers: exactly one notice
per request, even when the worker is killed (SIGKILL) halfway."""

from __future__ import annotations

import datetime as dt
import json
import signal
from collections import Counter

import pytest
from django.utils import timezone

from identity import services as identity_services
from operators.roles import Role
from registration.models import Line, LineKind
from reverification import campaigns, dispatch
from reverification.models import Delivery, DeliveryState
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration]

LINES = 2000


@pytest.fixture
def big_campaign(alpha, alpha_clerk, consent, citizen, make_staff):
    """2,000 lines (one synthetic holder, inserted in bulk) and a launched campaign."""
    holder = identity_services.person_register(
        operator=alpha, identity=citizen(), consent=consent, channel="store", actor=None
    )
    Line.objects.bulk_create(
        [
            Line(
                number=f"+86137{n:08d}",
                kind=LineKind.MOBILE,
                operator=alpha,
                holder=holder,
                store=alpha_clerk.store,
            )
            for n in range(LINES)
        ],
        batch_size=1000,
    )
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    return campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Integration",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )


def sent() -> int:
    return Delivery.objects.filter(state=DeliveryState.SENT).count()


def outbox_requests(path) -> Counter:
    return Counter(json.loads(line)["request"] for line in path.read_text().splitlines())


def worker_env(tmp_path, **extra) -> dict[str, str]:
    return {
        "TELEREG_OUTBOX_DIR": str(tmp_path / "outbox"),
        "TELEREG_DISPATCH_BATCH": "100",
        **extra,
    }


def test_every_request_gets_exactly_one_notice(big_campaign, celery_workers, tmp_path):
    celery_workers(**worker_env(tmp_path))
    campaigns.campaign_launch(campaign=big_campaign, actor=None)  # plans on the worker
    assert wait_for(lambda: sent() == LINES, timeout=120)
    counts = outbox_requests(tmp_path / "outbox" / "file.jsonl")
    assert len(counts) == LINES
    assert set(counts.values()) == {1}


def test_a_worker_killed_halfway_loses_nothing_and_sends_nothing_twice(
    big_campaign, celery_workers, tmp_path
):
    env = worker_env(tmp_path, TELEREG_DISPATCH_RATE="400", TELEREG_DISPATCH_LEASE_SECONDS="2")
    first = celery_workers(**env)
    campaigns.campaign_launch(campaign=big_campaign, actor=None)
    assert wait_for(lambda: sent() >= 300, timeout=120)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    halfway = sent()
    assert 300 <= halfway < LINES
    celery_workers(**env)

    def finished() -> bool:
        # What beat does every minute: hand back ranges whose lease expired.
        dispatch.batches_enqueue(dispatch.batches_requeue_expired())
        return sent() == LINES

    assert wait_for(finished, timeout=120, every=1.0)
    counts = outbox_requests(tmp_path / "outbox" / "file.jsonl")
    assert len(counts) == LINES
    assert set(counts.values()) == {1}, Counter(counts.values())
