"""A transaction whose portrait could not be compared (the comparison
service down) waits in pending_verification; a real Celery worker completes
it once the service answers."""

from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from identity import portraits, services
from identity.services import CitizenRow
from identity.synthetic_portraits import pattern_image
from registration.models import LineStatus, PortraitReview, Transaction, TransactionState
from registration.portrait_check import PortraitInput
from registration.tasks import verify_pending
from tests.fake_matcher import FakeMatcher
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration]

BITS = 0x5A5A_0F0F_3C3C_A5A5


def _submit(alpha_clerk, consent, identity):
    from registration import services as registration_services

    return registration_services.transaction_submit(
        actor=alpha_clerk.user,
        request=registration_services.TransactionRequest(
            kind="mobile_open",
            consent=consent,
            applicant=identity,
            portrait=PortraitInput(
                image=base64.b64encode(pattern_image(BITS, fmt="JPEG")).decode(),
                liveness="passed",
            ),
        ),
    )


@pytest.fixture
def pictured(make_identity):
    identity = make_identity()
    services.authority_registry_load(
        [
            CitizenRow(
                id_type=identity.id_type,
                id_number=identity.id_number,
                name=identity.name,
                date_of_birth=identity.date_of_birth,
                sex=identity.sex,
                revoked=False,
                portrait=portraits.image_clean(pattern_image(BITS)),
            )
        ]
    )
    return identity


@pytest.mark.parametrize(("score", "state"), [(0.97, "completed"), (0.8, "pending_review")])
def test_the_worker_completes_what_waited_for_the_comparison_service(
    score, state, celery_workers, settings, alpha_clerk, consent, pictured, inventory
):
    with FakeMatcher() as fake:
        fake.mode = "error"
        matcher_env = {
            "TELEREG_PORTRAIT_MATCHER": "http",
            "TELEREG_PORTRAIT_MATCHER_URL": fake.url,
            "TELEREG_PORTRAIT_MATCHER_RETRIES": "0",
            "TELEREG_PORTRAIT_MATCHER_BACKOFF": "0",
        }
        for name, value in matcher_env.items():
            setattr(settings, name, value)
        tx = _submit(alpha_clerk, consent, pictured)
        assert tx.state == TransactionState.PENDING_VERIFICATION
        assert tx.portrait_outcome == "waiting"
        assert tx.line is None
        celery_workers(**matcher_env)
        # The service comes back; the check falls due.
        fake.mode, fake.score = "score", score
        Transaction.objects.filter(pk=tx.pk).update(next_verification_at=timezone.now())
        verify_pending.apply_async(args=[tx.pk])

        def settled() -> bool:
            return Transaction.objects.get(pk=tx.pk).state == state

        assert wait_for(settled, timeout=60)
        assert fake.requests, "the worker asked the service"
    tx.refresh_from_db()
    assert tx.portrait_score == score
    if state == "completed":
        assert tx.line.status == LineStatus.ACTIVE
        assert tx.portrait_outcome == "passed"
    else:
        assert PortraitReview.objects.get(transaction=tx).state == "open"
        assert tx.line is None
