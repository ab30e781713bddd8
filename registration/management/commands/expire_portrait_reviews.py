"""Reject the transactions whose portrait review was not decided in time and
release their numbers (also run by beat): ``expire_portrait_reviews [--now ISO-DATETIME]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from config.commands import add_now_argument
from registration import reviews


class Command(BaseCommand):
    help = "Expire the portrait reviews past their time limit (also run by beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_now_argument(parser)

    def handle(self, *args, now=None, **options) -> None:
        count = reviews.reviews_expire(now=now)
        self.stdout.write(f"expired {count} portrait review(s)")
