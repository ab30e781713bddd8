import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True, time_limit=3600, soft_time_limit=3500)
def retention_run() -> int:
    """Daily: crypto-shred persons past their operator's retention term.
    Idempotent (already-shredded persons are skipped); batches commit alone."""
    count = services.retention_run()
    logger.info("retention erased %s person(s)", count)
    return count
