"""The checks of a restore drill on a restored database (deploy/scripts/
restore-drill runs it after verify_access_log): a sample of persons opens with
the key ring (each read logged), every crypto-shredded person stays unreadable,
and the backup's files hold no key. Exits non-zero naming what failed (persons
by uid, never by a value)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from identity import restore_check


class Command(BaseCommand):
    help = (
        "Restore drill: open a sample of persons with the key ring, confirm shredded "
        "persons stay unreadable, confirm the backup's files hold no key."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sample", type=int, default=20)
        parser.add_argument(
            "--require-shredded",
            action="store_true",
            help="fail when the backup holds no shredded person to check",
        )
        parser.add_argument(
            "--scan",
            action="append",
            type=Path,
            default=[],
            help="a file of the backup that must hold no key (repeatable)",
        )

    def handle(self, *args, sample: int, require_shredded: bool, scan: list[Path], **options):
        problems: list[str] = []
        opened = restore_check.persons_sample_open(sample=sample)
        self.stdout.write(
            f"persons: {opened.opened} of a sample of {opened.sampled} opened with the key ring"
        )
        if opened.sampled == 0:
            problems.append("no person to open in the restored database")
        if opened.failed:
            problems.append(f"{len(opened.failed)} person(s) did not open: {opened.failed[:10]}")
        shredded = restore_check.shredded_stay_unreadable()
        self.stdout.write(
            f"shredded persons: {shredded.shredded}, "
            f"{shredded.shredded - len(shredded.readable)} unreadable"
        )
        if shredded.readable:
            problems.append(
                f"{len(shredded.readable)} shredded person(s) still readable: "
                f"{shredded.readable[:10]}"
            )
        if require_shredded and shredded.shredded == 0:
            problems.append("no shredded person in the backup to check")
        if scan:
            holding = restore_check.key_material_in(scan)
            self.stdout.write(f"key material: none in {len(scan) - len(holding)} of {len(scan)}")
            if holding:
                problems.append(f"the backup holds key material: {holding}")
        if problems:
            raise CommandError("restore drill failed: " + "; ".join(problems))
        self.stdout.write("restore drill checks passed")
