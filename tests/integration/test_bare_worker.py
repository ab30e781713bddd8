"""A bare `celery -A config worker` — no --queues, what deploy/README.md tells
operators to run — takes every task the project publishes: a launched
campaign is planned and every notice sent."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from identity import services as identity_services
from operators.roles import Role
from registration.models import Line, LineKind
from reverification import campaigns
from reverification.models import Campaign, CampaignState, Delivery, DeliveryState
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration]

LINES = 30


@pytest.fixture
def campaign(alpha, alpha_clerk, consent, citizen, make_staff):
    holder = identity_services.person_register(
        operator=alpha, identity=citizen(), consent=consent, channel="store", actor=None
    )
    Line.objects.bulk_create(
        [
            Line(
                number=f"+86139{n:08d}",
                kind=LineKind.MOBILE,
                operator=alpha,
                holder=holder,
                store=alpha_clerk.store,
            )
            for n in range(LINES)
        ]
    )
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    return campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Bare worker",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )


def test_a_worker_started_without_queues_plans_and_sends_a_campaign(
    campaign, celery_workers, tmp_path
):
    celery_workers(
        queues=None,
        TELEREG_OUTBOX_DIR=str(tmp_path / "outbox"),
        TELEREG_DISPATCH_BATCH="10",  # several batches: send_batch on the campaigns queue
    )
    campaigns.campaign_launch(campaign=campaign, actor=None)  # publishes plan_campaign

    def sent() -> int:
        return Delivery.objects.filter(state=DeliveryState.SENT).count()

    assert wait_for(lambda: sent() == LINES, timeout=120)
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.RUNNING
    outbox = (tmp_path / "outbox" / "file.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["request"] for line in outbox) == sorted(
        campaign.requests.values_list("pk", flat=True)
    )
