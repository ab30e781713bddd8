"""A task enqueued by the web side is run by a real worker process."""

from __future__ import annotations

import pytest

from operators.models import WorkerHeartbeat
from operators.tasks import heartbeat
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration]


def test_real_worker_runs_the_heartbeat_task_and_readyz_reports_it(celery_worker_process, client):
    assert not WorkerHeartbeat.objects.exists()
    heartbeat.delay()
    assert wait_for(lambda: WorkerHeartbeat.objects.filter(name="worker").exists(), timeout=60)
    assert celery_worker_process.poll() is None
    body = client.get("/readyz").json()
    assert body["worker_last_seen"] is not None
