"""Re-wrap every person's data key with the active key (TELEREG_ACTIVE_KEY).

Runs in committed batches: interrupt it at any point and run it again to
continue. When it reports 0 remaining, old keys can leave TELEREG_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from identity import organisations, services, vault
from identity.models import Person


class Command(BaseCommand):
    help = "Re-wrap data keys with the active key, in resumable batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=services.KEYS_ROTATE_BATCH_SIZE)

    def handle(self, *args, batch_size: int, **options) -> None:
        active = vault.ring().active_kid

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"re-wrapped {done}/{total}")

        done = services.keys_rotate(batch_size=batch_size, progress=progress)
        # Issue 15: organisations have data keys of their own.
        self.stdout.write(f"organisations re-wrapped: {organisations.organisations_keys_rotate()}")
        remaining = Person.objects.filter(wrapped_key__isnull=False).exclude(key_id=active).count()
        self.stdout.write(f"done: {done} re-wrapped with {active}; {remaining} remaining")
