"""A registration task that fails for good records why on its row (the task's
short code and the error's class, never data), and the console shows it: a
transaction's background check, its holder alert.
Tasks run eagerly with ``apply(throw=False)``: Celery calls the same
``on_failure`` as in a worker, after the same retries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registration import alerts, services, tasks
from registration.models import HolderAlert, Transaction, TransactionState

pytestmark = pytest.mark.django_db

# What an exception's message may carry; it must never reach a row or a log.
SECRET = "+8613912345678 ZHANG SAN"


def boom(exc_class=RuntimeError):
    def fail(*args, **kwargs):
        raise exc_class(SECRET)

    return fail


def test_a_failed_verification_records_the_transactions_last_error(
    open_mobile, monkeypatch, alpha_compliance, web_client_for
):
    tx, _ = open_mobile()
    monkeypatch.setattr(services, "pending_claim", boom())
    result = tasks.verify_pending.apply(kwargs={"transaction_id": tx.pk}, throw=False)
    assert result.failed()
    row = Transaction.objects.get(pk=tx.pk)
    assert row.last_error == "verification: RuntimeError"
    assert row.last_error_at is not None
    assert row.state == TransactionState.COMPLETED  # its state is left alone
    page = web_client_for(alpha_compliance).get(
        reverse("console:registration_transaction_change", args=[tx.pk])
    )
    assert "verification: RuntimeError" in page.content.decode()


@pytest.fixture
def second_line(alpha_clerk, consent, citizen, inventory, monkeypatch):
    """A holder's second mobile opening: its holder alert waits to be sent."""
    monkeypatch.setattr(services, "enqueue", lambda *args, **kwargs: True)
    identity = citizen()
    for _ in range(2):
        tx = services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identity
            ),
        )
    assert HolderAlert.objects.filter(transaction=tx, done_at__isnull=True).exists()
    return tx


def test_a_failed_holder_alert_records_why_on_its_row(
    second_line, monkeypatch, alpha_compliance, web_client_for
):
    monkeypatch.setattr(alerts, "_alert_claim", boom())  # fails before the service's own record
    result = tasks.send_holder_alert.apply(args=[second_line.pk], throw=False)
    assert result.failed()
    alert = HolderAlert.objects.get(transaction=second_line)
    assert alert.error == "alert: RuntimeError"
    assert alert.done_at is None
    page = web_client_for(alpha_compliance).get(
        reverse("console:registration_transaction_change", args=[second_line.pk])
    )
    assert "alert: RuntimeError" in page.content.decode()
