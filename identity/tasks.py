import logging

from celery import shared_task

from . import access_log, lookups, organisations, services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True, time_limit=3600, soft_time_limit=3500)
def retention_run() -> int:
    """Daily: crypto-shred persons past their operator's retention term.
    Idempotent (already-shredded persons are skipped); batches commit alone."""
    count = services.retention_run()
    logger.info("retention erased %s person(s)", count)
    # Issue 15: organisations whose last line closed past the term, too.
    logger.info("retention erased %s organisation(s)", organisations.organisations_retention_run())
    return count


@shared_task(ignore_result=True, acks_late=True, time_limit=120, soft_time_limit=100)
def access_log_checkpoint() -> str:
    """Every few minutes (beat): sign the heads of the chains that still grow into a
    new checkpoint outside the database. Idempotent: a redelivery adds one more
    checkpoint, which only repeats what is true."""
    name = access_log.checkpoint_recent()
    logger.info("access-log checkpoint %s written", name)
    return name


@shared_task(ignore_result=True, acks_late=True, time_limit=600, soft_time_limit=570)
def lookup_buckets_sweep() -> int:
    """Hourly: drop look-up limits with no count left in their window."""
    return lookups.buckets_sweep()
