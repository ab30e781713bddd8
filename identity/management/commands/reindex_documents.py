"""Recompute every person's document index under TELEREG_INDEX_KEY.

Run it after changing the index key or its algorithm (e.g. to
``hmac-sm3:…``): until it finishes, look-ups by document miss the persons it
has not reached. Each person's document number is decrypted to compute the
index and logged (purpose maintenance). Committed batches: interrupt it and
run it again to continue. ``--check`` only counts (decrypts nothing)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from identity import services


class Command(BaseCommand):
    help = "Recompute document blind indexes under the configured index key, resumably."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=services.REINDEX_BATCH_SIZE)
        parser.add_argument(
            "--check", action="store_true", help="only count the persons to re-index"
        )

    def handle(self, *args, batch_size: int, check: bool, **options) -> None:
        if check:
            self.stdout.write(f"{services.document_reindex_pending()} to re-index")
            return

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"re-indexed {done}/{total}")

        result = services.document_reindex(batch_size=batch_size, progress=progress)
        self.stdout.write(
            f"done: {result.reindexed} re-indexed, {result.conflicts} conflicts; "
            f"{result.remaining} remaining"
        )
