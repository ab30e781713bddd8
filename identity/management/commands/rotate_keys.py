"""Re-wrap every person's data key with the active key (TELEREG_ACTIVE_KEY).

Runs in committed batches: interrupt it at any point and run it again to
continue. When it reports 0 remaining, old keys can leave TELEREG_KEYS.

When the active key is of another cipher family than a person's key (moving
from AES-256-GCM to SM4-GCM or back), that person's stored ciphertexts are
sealed again under the new cipher in the same batch (logged as maintenance)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from identity import organisations, services, vault
from identity.models import Person


class Command(BaseCommand):
    help = "Re-wrap data keys with the active key (re-encrypting across ciphers), resumably."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=services.KEYS_ROTATE_BATCH_SIZE)

    def handle(self, *args, batch_size: int, **options) -> None:
        ring = vault.ring()
        active, cipher = ring.active_kid, ring.active_cipher

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"re-wrapped {done}/{total}")

        stats: dict[str, int] = {}
        try:
            done = services.keys_rotate(batch_size=batch_size, progress=progress, stats=stats)
        except services.KeyRotationError as exc:
            raise CommandError(
                f"rotation stopped, the failing batch rolled back: {exc}. Put the key id "
                "back into TELEREG_KEYS (with its cipher) and run rotate_keys again."
            ) from None
        # Issue 15: organisations have data keys of their own.
        self.stdout.write(f"organisations re-wrapped: {organisations.organisations_keys_rotate()}")
        remaining = Person.objects.filter(wrapped_key__isnull=False).exclude(key_id=active).count()
        self.stdout.write(
            f"done: {done} re-wrapped with {active} ({cipher}), "
            f"{stats.get('reencrypted', 0)} of them re-encrypted; {remaining} remaining"
        )
