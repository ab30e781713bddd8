from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Beat schedules this every minute; /readyz shows when a worker last ran it."""
    services.heartbeat_record(name="worker")


@shared_task(ignore_result=True)
def noop() -> None:
    """Does nothing. `make bench` measures how fast a worker drains these: the
    ceiling that the broker and Celery allow, beside which dispatch is read."""
