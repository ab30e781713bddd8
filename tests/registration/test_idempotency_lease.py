"""Never a stuck Idempotency-Key: a claim whose worker was killed mid-request
expires after a short lease and one retry takes it over; a request that ends
in a server error, or is interrupted, gives the key back; a completed key
still replays its answer."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from types import SimpleNamespace

import pytest
from django.db import connections
from django.utils import timezone

from registration import idempotency, services
from registration.models import IdempotencyRecord, Transaction
from tests.registration.conftest import api_block

PATH = "/api/v1/transactions/"


def opening(identity, consent) -> dict:
    return {
        "kind": "mobile_open",
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
    }


def post(client, body: dict, key: str):
    return client.post(PATH, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def abandoned_claim(user, key: str, body: dict, *, lease_until: dt.datetime) -> IdempotencyRecord:
    """What a gunicorn worker killed mid-request leaves: a claim, no answer."""
    digest = idempotency._body_hash(SimpleNamespace(method="POST", path=PATH, data=body))
    return IdempotencyRecord.objects.create(
        user=user, key=key, method_path=PATH, request_hash=digest, lease_until=lease_until
    )


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


@pytest.mark.django_db
def test_a_claim_whose_worker_died_expires_and_the_retry_runs_then_replays(
    alpha_clerk, clerk_api, citizen, consent, inventory, settings
):
    body, key = opening(citizen(), consent), uuid.uuid4().hex
    lease = dt.timedelta(seconds=settings.TELEREG_IDEMPOTENCY_LEASE_SECONDS)
    claim = abandoned_claim(alpha_clerk.user, key, body, lease_until=timezone.now() + lease)
    early = post(clerk_api, body, key)  # within the lease: maybe still running
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "request_in_progress"
    assert not Transaction.objects.exists()
    IdempotencyRecord.objects.filter(pk=claim.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    retry = post(clerk_api, body, key)
    assert retry.status_code == 201, retry.json()
    assert "Idempotent-Replayed" not in retry
    assert Transaction.objects.count() == 1
    again = post(clerk_api, body, key)  # completed: the stored answer, nothing done again
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == retry.json()
    assert Transaction.objects.count() == 1


@pytest.mark.django_db
def test_the_first_request_holds_a_lease_of_the_configured_length(
    alpha_clerk, clerk_api, citizen, consent, inventory, settings, monkeypatch
):
    settings.TELEREG_IDEMPOTENCY_LEASE_SECONDS = 7
    seen = {}
    real = services.transaction_submit

    def observe(**kwargs):
        record = IdempotencyRecord.objects.get(user=alpha_clerk.user)
        seen["lease"] = record.lease_until - timezone.now()
        return real(**kwargs)

    monkeypatch.setattr(services, "transaction_submit", observe)
    assert post(clerk_api, opening(citizen(), consent), uuid.uuid4().hex).status_code == 201
    assert dt.timedelta(seconds=5) < seen["lease"] <= dt.timedelta(seconds=7)


@pytest.mark.django_db
def test_a_request_ending_in_a_server_error_or_interrupted_gives_its_key_back(
    clerk_api, citizen, consent, inventory, monkeypatch
):
    body, key = opening(citizen(), consent), uuid.uuid4().hex
    real = services.transaction_submit

    def broken(**kwargs):
        raise RuntimeError("database went away")

    def interrupted(**kwargs):
        # gunicorn's sync worker raises SystemExit in a request past its timeout.
        raise SystemExit(1)

    monkeypatch.setattr(services, "transaction_submit", broken)
    clerk_api.raise_request_exception = False
    assert post(clerk_api, body, key).status_code == 500
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(services, "transaction_submit", interrupted)
    with pytest.raises(SystemExit):
        post(clerk_api, body, key)
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(services, "transaction_submit", real)
    assert post(clerk_api, body, key).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_retries_of_an_abandoned_claim_one_runs_and_one_gets_409(
    alpha_clerk, api_client_for, citizen, consent, inventory, monkeypatch
):
    body, key = opening(citizen(), consent), uuid.uuid4().hex
    abandoned_claim(
        alpha_clerk.user, key, body, lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    real = services.transaction_submit
    answered = threading.Event()
    entered: list[int] = []

    def held(**kwargs):
        # The winner holds its claim until the other retry has had its answer.
        entered.append(1)
        answered.wait(timeout=20)
        return real(**kwargs)

    monkeypatch.setattr(services, "transaction_submit", held)
    clients = [api_client_for(alpha_clerk) for _ in range(2)]
    barrier = threading.Barrier(2)
    codes: list[object] = [None, None]

    def retry(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            codes[i] = post(clients[i], body, key).status_code
        except Exception as exc:  # the outcome under test, recorded per thread
            codes[i] = exc
        finally:
            answered.set()
            connections.close_all()

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes, key=str) == [201, 409]
    assert len(entered) == 1
    assert Transaction.objects.count() == 1
