"""Every task of the project is a ``RecordedTask``: its failures are logged by
the error's class only, and the tasks that leave a row behind have a failure
hook that marks it. Tasks run eagerly with ``apply(throw=False)``: Celery calls the same
``on_failure`` as in a worker, after the same retries."""

from __future__ import annotations

import logging

import pytest

from config.celery import RecordedTask, app
from identity import tasks as identity_tasks

pytestmark = pytest.mark.django_db

# What an exception's message may carry; it must never reach a row or a log.
SECRET = "+8613912345678 ZHANG SAN"


def boom(exc_class=RuntimeError):
    def fail(*args, **kwargs):
        raise exc_class(SECRET)

    return fail


def test_every_task_of_the_project_records_its_failures():
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert ours
    assert all(isinstance(task, RecordedTask) for task in ours)
    hooked = {name.rsplit(".", 1)[-1] for name, task in app.tasks.items() if task.failure_hook}
    assert {"plan_campaign", "send_batch", "verify_pending", "send_holder_alert"} <= hooked


def test_a_task_without_a_row_logs_its_failure_by_class_only(monkeypatch, caplog):
    monkeypatch.setattr(identity_tasks.services, "retention_run", boom())
    with caplog.at_level(logging.ERROR):
        result = identity_tasks.retention_run.apply(throw=False)
    assert result.failed()
    name = identity_tasks.retention_run.name
    assert f"task {name} failed: retention_run: RuntimeError" in caplog.text
    assert SECRET not in caplog.text
