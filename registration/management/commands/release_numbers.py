"""Give back to the inventory the numbers whose quarantine ended (also run
hourly by beat): ``release_numbers [--now ISO-DATETIME]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from config.commands import add_now_argument
from registration import closing


class Command(BaseCommand):
    help = "Make the numbers whose quarantine ended available again (also run by beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_now_argument(parser)

    def handle(self, *args, now=None, **options) -> None:
        count = closing.numbers_release_due(now=now)
        self.stdout.write(f"released {count} number(s)")
