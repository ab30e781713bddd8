"""Walk every access-log chain against the signed checkpoints; exit non-zero
naming what broke. Every run also signs a checkpoint of the heads it walked."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from identity import access_log, checkpoints


class Command(BaseCommand):
    help = (
        "Verify the keyed hash chains of the access log against the signed checkpoints, "
        "then write a new checkpoint."
    )

    def handle(self, *args, **options) -> None:
        report = access_log.verify_report()
        # Checkpoint even a broken log: it records what was seen, and the earlier
        # checkpoints that disagree with it keep telling (they are never replaced).
        try:
            written = checkpoints.write(report.heads, scope="all").name
        except OSError as exc:
            raise CommandError(
                f"could not write a checkpoint to TELEREG_AUDIT_CHECKPOINT_DIR: {exc.strerror}"
            ) from None
        if report.breaks:
            for b in report.breaks:
                where = f"entry #{b.entry_id}" if b.entry_id else "chain end"
                if b.chain == access_log.CHECKPOINTS:
                    self.stderr.write(b.problem)
                else:
                    self.stderr.write(f"chain {b.chain}: {where} (seq {b.seq}): {b.problem}")
            first = report.breaks[0]
            if first.chain == access_log.CHECKPOINTS:
                summary = first.problem
            elif first.entry_id:
                summary = f"entry #{first.entry_id} in chain {first.chain}: {first.problem}"
            else:
                summary = f"chain {first.chain}: {first.problem}"
            raise CommandError(
                f"access log broken ({len(report.breaks)} problem(s)); first: {summary}"
            )
        self.stdout.write(
            f"access log intact: {report.entries} entries in {len(report.heads)} chains, "
            f"{report.checkpoints} earlier checkpoint(s) agree; wrote checkpoint {written}"
        )
