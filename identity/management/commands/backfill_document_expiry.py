"""Fill the document-expiry date (``Person.id_expires_on``) of persons stored
before it existed, so the standing "document expiring" campaign finds them:
``backfill_document_expiry [--batch-size N] [--dry-run]``.

Each person read is written to the access log (purpose ``maintenance``) before
their encrypted expiry is opened; batches commit one by one, so an interrupted
run is resumed by running it again. The output counts, never shows values."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity import services


class Command(BaseCommand):
    help = "Fill Person.id_expires_on from the encrypted expiry (audited, resumable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=services.EXPIRY_BACKFILL_BATCH_SIZE)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the persons to fill; read and change nothing.",
        )

    def handle(self, *args, batch_size: int, dry_run: bool = False, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if dry_run:
            pending = services.document_expiry_backfill_pending()
            self.stdout.write(f"would fill {pending} person(s); nothing was read or changed")
            return

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"read {done}/{total}")

        result = services.document_expiry_backfill(batch_size=batch_size, progress=progress)
        self.stdout.write(
            f"done: {result.filled} filled, {result.unreadable} not a date, "
            f"{result.remaining} remaining"
        )
