"""Walk every access-log chain; exit non-zero naming the first broken entry."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from identity import access_log
from identity.models import AccessLogEntry


class Command(BaseCommand):
    help = "Verify the hash chains of the access log."

    def handle(self, *args, **options) -> None:
        breaks = list(access_log.verify())
        if breaks:
            for b in breaks:
                where = f"entry #{b.entry_id}" if b.entry_id else "chain end"
                self.stderr.write(f"chain {b.chain}: {where} (seq {b.seq}): {b.problem}")
            first = breaks[0]
            raise CommandError(
                f"access log broken: first at entry #{first.entry_id} in chain {first.chain}"
            )
        self.stdout.write(f"access log intact: {AccessLogEntry.objects.count()} entries")
