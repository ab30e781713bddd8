"""Crypto-shred persons whose retention term has elapsed (also run daily by
beat): ``run_retention [--now ISO-DATETIME] [--dry-run]``. With ``--dry-run``
it lists who is due and why, changing nothing. The output names persons by
id only, never by anything personal."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from config.commands import add_now_argument
from identity import organisations, services


class Command(BaseCommand):
    help = "Crypto-shred persons whose retention term has elapsed (also run daily by beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_now_argument(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List who is due and why (ids only); change nothing.",
        )

    def handle(self, *args, now=None, dry_run: bool = False, **options) -> None:
        if dry_run:
            due = services.retention_due_list(now=now)
            for entry in due:
                self.stdout.write(f"due: {entry}")
            self.stdout.write(f"would erase {len(due)} person(s); nothing was changed")
            return
        count = services.retention_run(now=now)
        # Issue 15: organisations past their term (before the persons' line,
        # which stays the command's last).
        self.stdout.write(
            f"erased {organisations.organisations_retention_run(now=now)} organisation(s)"
        )
        self.stdout.write(f"erased {count} person(s)")
