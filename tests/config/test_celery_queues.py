"""A bare `celery -A config worker` (no -Q, what deploy/README.md tells
operators to run) consumes every queue a task of the project is sent to:
each one is declared in task_queues, with its own routing key."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app
from registration import tasks
from reverification import tasks as reverification_tasks


def declared() -> set[str]:
    return {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_every_queue_named_in_task_routes_is_declared():
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed
    assert routed <= declared()


def test_every_queue_a_task_names_itself_is_declared():
    app.loader.import_default_modules()
    named = {task.queue for task in app.tasks.values() if getattr(task, "queue", None)}
    assert named <= declared()


def test_the_default_queue_is_declared():
    assert settings.CELERY_TASK_DEFAULT_QUEUE in declared()


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        (reverification_tasks.plan_campaign, "campaigns"),
        (reverification_tasks.send_batch, "campaigns"),
        (tasks.verify_pending, "interactive"),
        (tasks.send_holder_alert, "default"),
    ],
)
def test_campaign_and_interactive_work_are_routed_to_their_queues(task, queue):
    assert app.amqp.router.route({}, task.name)["queue"].name == queue


def test_each_queue_has_a_routing_key_of_its_own():
    # A Queue without one is bound to the default key and gets the default
    # queue's tasks too: each task would then be taken once per queue.
    keys = [queue.routing_key for queue in settings.CELERY_TASK_QUEUES]
    assert keys == [queue.name for queue in settings.CELERY_TASK_QUEUES]
    assert app.amqp.queues.keys() == declared()
