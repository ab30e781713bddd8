import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reverification import campaigns, dispatch


class Command(BaseCommand):
    help = "Expire overdue re-verification requests, bar and then suspend their lines."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now", help="Run as if it were this ISO date-time (rehearsals, tests).", default=None
        )

    def handle(self, *args, now: str | None, **options) -> None:
        when = timezone.now()
        if now:
            try:
                when = dt.datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(
                    "--now must be an ISO date-time, e.g. 2027-04-01T09:00"
                ) from None
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        result = campaigns.reverification_cycle(now=when)
        dispatch.batches_enqueue(list(result.batches))
        self.stdout.write(
            f"expired {result.expired}, barred {result.barred}, suspended {result.suspended}, "
            f"{len(result.batches)} notice batch(es) queued"
        )
