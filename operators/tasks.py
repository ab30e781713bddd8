from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Beat schedules this every minute; /readyz shows when a worker last ran it."""
    services.heartbeat_record(name="worker")
