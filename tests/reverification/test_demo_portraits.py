"""seed_demo and the portrait check (issue 14): beta requires portraits,
alpha does not; every demo citizen has a synthetic reference portrait (the
simulated authority's) and a live variant beside var/demo-citizens.csv, and
a newcomer's live variant opens a line at beta."""

from __future__ import annotations

import base64
import csv

import pytest
from django.core.management import call_command

from identity import portraits
from identity import services as identity_services
from identity.demo import DemoRole, demo_citizens
from identity.services import ConsentInput
from operators.models import Operator, StaffMember
from registration.portrait_check import PortraitInput, PortraitRequired
from registration.services import TransactionRequest, transaction_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.TELEREG_DEMO_PASSWORD = "demo-pass-for-tests"  # noqa: S105
    call_command("seed_demo")
    return tmp_path


def test_seed_demo_sets_the_policies_and_writes_a_portrait_pair_per_citizen(seeded):
    assert Operator.objects.get(code="beta").portrait_policy == "required"
    assert Operator.objects.get(code="alpha").portrait_policy == "off"
    with (seeded / "demo-citizens.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(demo_citizens())
    for row in rows[:10]:
        reference = (seeded / row["portrait"]).read_bytes()
        live = (seeded / row["live_portrait"]).read_bytes()
        score = portraits.hash_score(
            portraits.average_hash(reference), portraits.average_hash(live)
        )
        assert score >= 0.9
        assert row["id_number"] not in row["portrait"]  # no document in a file name


def test_a_newcomer_opens_a_line_at_beta_with_their_live_portrait(seeded):
    cast = demo_citizens()
    number = next(n for n, c in enumerate(cast) if c.role is DemoRole.NO_LINE)
    newcomer = cast[number]
    clerk = StaffMember.objects.get(user__username="beta-clerk")
    notice = identity_services.current_notices(clerk.operator)[0]

    def request(portrait=None):
        return TransactionRequest(
            kind="mobile_open",
            applicant=newcomer.identity,
            consent=ConsentInput(notice.content_hash, True),
            portrait=portrait,
        )

    with pytest.raises(PortraitRequired):
        transaction_submit(actor=clerk.user, request=request())
    live = (seeded / "demo-portraits" / f"{number:02d}-live.jpg").read_bytes()
    tx = transaction_submit(
        actor=clerk.user,
        request=request(PortraitInput(image=base64.b64encode(live).decode(), liveness="passed")),
    )
    assert tx.state == "completed"
    assert tx.portrait_outcome == "passed"
