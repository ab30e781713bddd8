"""``manage.py verify_report FILE``: check a regulator report against its
detached signature ``FILE.sig`` (exit status 1 when one byte of either
changed, or the key is not this installation's)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reverification import reports


class Command(BaseCommand):
    help = "Verify a signed regulator report (FILE with FILE.sig beside it)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--fingerprint",
            action="append",
            default=None,
            help=(
                "A trusted key fingerprint (SHA-256 hex of the raw public key); repeatable. "
                "Default: the key of TELEREG_REPORT_SIGNING_KEY."
            ),
        )

    def handle(self, *args, file: str, fingerprint: list[str] | None, **options) -> None:
        path = Path(file)
        sig = Path(f"{path}.sig")
        if not path.is_file() or not sig.is_file():
            raise CommandError(f"{path} and {sig} must both exist.")
        try:
            parsed = reports.report_verify(
                content=path.read_bytes(),
                signature=sig.read_bytes(),
                trusted_fingerprints=set(fingerprint) if fingerprint else None,
            )
        except reports.ReportKeyError as exc:
            raise CommandError(str(exc)) from None
        except reports.ReportInvalid as exc:
            raise CommandError(f"INVALID: {exc}") from None
        envelope = parsed["envelope"]
        self.stdout.write(
            f"OK: {envelope['format']} {envelope['period']} of {parsed['report']['operator']}, "
            f"key sha256:{envelope['key_fingerprint']}"
        )
