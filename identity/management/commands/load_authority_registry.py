"""Load synthetic citizens into the simulated authority's registry.

CSV columns: id_type,id_number,name,date_of_birth,sex,status (valid|revoked|
unavailable: the simulated authority gives no answer for that citizen, so the
waiting flow, pending_verification, can be tried), and optionally ``portrait``:
the path of the citizen's reference portrait (PNG or JPEG), relative to the CSV.
Rows are checked first; any bad row stops the load before anything is stored,
and the error names the line, never its contents."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from identity import documents, portraits, services

COLUMNS = ["id_type", "id_number", "name", "date_of_birth", "sex", "status"]
# status → (revoked, unavailable)
STATUSES = {"valid": (False, False), "revoked": (True, False), "unavailable": (False, True)}


OPTIONAL_COLUMNS = ["portrait"]


def _portrait(base: Path, value: str | None, line: int) -> bytes | None:
    value = (value or "").strip()
    if not value:
        return None
    target = (base / value).resolve()
    try:
        return portraits.image_clean(target.read_bytes())
    except (OSError, portraits.ImageRefused):
        raise CommandError(
            f"Line {line}: its portrait is missing or not a PNG/JPEG image. Nothing was loaded."
        ) from None


def read_rows(path: Path) -> list[services.CitizenRow]:
    rows: list[services.CitizenRow] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [c.strip() for c in reader.fieldnames or []]
        if header not in (COLUMNS, COLUMNS + OPTIONAL_COLUMNS):
            raise CommandError(
                f"The header must be exactly: {','.join(COLUMNS)} (optionally ,portrait)"
            )
        for line, raw in enumerate(reader, start=2):
            try:
                revoked, unavailable = STATUSES[raw["status"].strip().lower()]
                row = services.CitizenRow(
                    id_type=raw["id_type"].strip(),
                    id_number=raw["id_number"].strip(),
                    name=raw["name"].strip(),
                    date_of_birth=dt.date.fromisoformat(raw["date_of_birth"].strip()),
                    sex=raw["sex"].strip().upper(),
                    revoked=revoked,
                    unavailable=unavailable,
                )
                if row.sex not in ("M", "F") or not row.name:
                    raise ValueError
                documents.normalise_document(row.id_type, row.id_number)
            except (KeyError, ValueError, AttributeError, documents.IdentityInvalid):
                raise CommandError(
                    f"Line {line} is not valid (check id_type, date_of_birth as YYYY-MM-DD, "
                    "sex M/F, status valid/revoked/unavailable). Nothing was loaded."
                ) from None
            portrait = _portrait(path.parent, raw.get("portrait"), line)
            if portrait is not None:
                row = dataclasses.replace(row, portrait=portrait)
            rows.append(row)
    return rows


class Command(BaseCommand):
    help = "Load the simulated authority's registry from a CSV file (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        if not file.exists():
            raise CommandError(f"{file} does not exist.")
        rows = read_rows(file)
        with transaction.atomic():
            count = services.authority_registry_load(rows)
        self.stdout.write(f"loaded {count} citizen records")
