"""The Celery app. Broker from settings (Redis, or the filesystem transport when
REDIS_URL is absent); no result backend: the database holds the truth."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("telereg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
