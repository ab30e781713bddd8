"""Holder alerts left ``Delivery``: a database whose alerts were Delivery rows
(``alert_key`` "tx:<transaction>:line:<line>") keeps them as one
HolderAlertMessage each after ``migrate``, so no line is alerted twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from registration import alerts
from registration.models import AlertMessageState, HolderAlert, HolderAlertMessage

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("reverification", "0002_i11b2_task_failures_campaign_events"),
    ("registration", "0012_i11b2_transaction_last_error"),
]


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _migrate(targets):
    _executor().migrate(targets)
    return _executor().loader.project_state(targets).apps


@pytest.fixture
def migrate_back():
    """Migrates back to before the move; always forward again afterwards
    (later tests need every app at its latest migration)."""
    yield lambda: _migrate(BEFORE)
    executor = _executor()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_alert_deliveries_of_the_old_schema_become_alert_messages(
    open_mobile, outbox_dir, migrate_back
):
    first, holder = open_mobile()
    second, _ = open_mobile(holder)
    apps = migrate_back()
    OldDelivery = apps.get_model("reverification", "Delivery")  # noqa: N806
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    OldDelivery.objects.create(
        operator_id=second.operator_id,
        kind="alert",
        channel="file",
        state="sent",
        alert_key=f"tx:{second.pk}:line:{first.line_id}",
        created_at=at,
        sent_at=at,
    )
    OldDelivery.objects.create(  # a line that no longer exists: nothing to copy
        operator_id=second.operator_id,
        kind="alert",
        channel="file",
        state="sent",
        alert_key=f"tx:{second.pk}:line:999999999",
        created_at=at,
    )

    _migrate(_executor().loader.graph.leaf_nodes())

    message = HolderAlertMessage.objects.get(alert__transaction=second)
    assert (message.line_id, message.state, message.sent_at) == (
        first.line_id,
        AlertMessageState.SENT,
        at,
    )
    HolderAlert.objects.filter(transaction=second).update(done_at=None)  # its message again
    assert alerts.holder_alert_send(transaction_id=second.pk) == 0  # that line was told already
    assert not (outbox_dir / "file.jsonl").exists()


@pytest.fixture
def outbox_dir(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox"
