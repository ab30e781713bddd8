"""The Celery app. Broker from settings (Redis, or the filesystem transport when
REDIS_URL is absent); no result backend: the database holds the truth."""

import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """What a failure hook is told: the task's arguments by name, the reason
    (``failure_reason``) and the worker it ran on (its claims name it)."""

    arguments: dict[str, Any]
    reason: str
    worker: str


# A task's failure hook marks the task's row failed.
FailureHook = Callable[[Failure], None]


def failure_reason(code: str, exc: BaseException) -> str:
    """What a failed row shows: the task's short code and the error's class.
    Never the error's message or the task's arguments, which may hold data."""
    return f"{code}: {type(exc).__name__}"[:200]


def records_failure(hook: FailureHook, *, code: str) -> dict[str, Any]:
    """Task options that make a task's failure mark its row:
    ``@shared_task(**records_failure(lambda failure: ..., code="planning"))``."""
    return {"failure_hook": staticmethod(hook), "failure_code": code}


class RecordedTask(Task):
    """The base of every task of the project (HackSoft's emails/tasks.py idea):
    when a task fails for good (an exception other than a retry, or its
    retries exhausted), ``on_failure`` logs the task's name and the error's
    class, and calls the task's ``failure_hook`` to mark its row failed, so
    the failure is visible in the console instead of lost in a worker log.
    A failing hook is logged, never raised: the worker carries on."""

    failure_hook: FailureHook | None = None
    failure_code: str = ""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        reason = failure_reason(self.failure_code or self.name.rsplit(".", 1)[-1], exc)
        logger.error("task %s failed: %s", self.name, reason)
        if self.failure_hook is None:
            return
        try:
            arguments = inspect.signature(self.run).bind_partial(*(args or ()), **(kwargs or {}))
            self.failure_hook(
                Failure(dict(arguments.arguments), reason, self.request.hostname or "")
            )
        except Exception as hook_exc:  # the record is best effort; the log has it
            logger.error(
                "could not record the failure of %s: %s", self.name, type(hook_exc).__name__
            )


app = Celery("telereg", task_cls=RecordedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**_kwargs: Any) -> None:
    """Worker and beat log through Django's LOGGING (the same redaction, the
    request id filter and LOG_FORMAT's plain or JSON lines), not through the
    root handler Celery would otherwise install in place of it."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@app.on_after_configure.connect
def _make_broker_folders(sender: Celery, **_: object) -> None:
    # The filesystem transport does not create its folders itself.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def task_named(name: str):
    """The registered task of this name: services publish the tasks that call
    them by name, so that a service module never imports its tasks module
    (which imports the services)."""
    return app.tasks[name]


def enqueue(task, *args, **options) -> bool:
    """Publish a task after a commit without letting a broker outage turn a
    committed request into an error: the database keeps the truth, and the
    periodic sweeps pick up what a lost message would have done."""
    import logging

    try:
        task.apply_async(args=list(args), **options)
    except Exception as exc:  # broker down: log and rely on the sweeps
        logging.getLogger(__name__).warning(
            "could not enqueue %s: %s", task.name, type(exc).__name__
        )
        return False
    return True
