"""``manage.py regulator_report --operator CODE --period YYYY-MM --out FILE``:
the month's figures for the regulator (reverification.reports) as canonical
JSON, with a detached Ed25519 signature in ``FILE.sig``."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from operators.models import Operator
from reverification import reports

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


class Command(BaseCommand):
    help = "Write an operator's monthly regulator report, signed (FILE and FILE.sig)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--operator", required=True, help="The operator's code.")
        parser.add_argument("--period", required=True, help="The month, YYYY-MM.")
        parser.add_argument("--out", required=True, help="The report file to write.")

    def handle(self, *args, operator: str, period: str, out: str, **options) -> None:
        match = _PERIOD.fullmatch(period.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise CommandError("--period must be a month written YYYY-MM (e.g. 2026-11).")
        year, month = int(match[1]), int(match[2])
        if not reports.MIN_YEAR <= year <= reports.MAX_YEAR:
            raise CommandError("--period is out of range.")
        found = Operator.objects.filter(code=operator.strip()).first()
        if found is None:
            raise CommandError("No operator has this code.")
        try:
            reports.signing_key()
        except reports.ReportKeyError as exc:
            raise CommandError(str(exc)) from None
        figures = reports.registrations_report(
            operator=found, period=reports.Period.month(found, year, month)
        )
        signed = reports.report_sign(report=figures, period=f"{year:04d}-{month:02d}")
        path = Path(out)
        path.write_bytes(signed.content)
        Path(f"{path}.sig").write_bytes(signed.signature)
        self.stdout.write(
            f"wrote {path} and {path}.sig (key fingerprint sha256:{signed.fingerprint})"
        )
