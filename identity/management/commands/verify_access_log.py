"""Walk every access-log chain against the signed checkpoints; exit non-zero
naming what broke. Every run also signs a checkpoint of the heads it walked."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

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
        # Every run is kept (the console home shows the last), even one that
        # could not write its checkpoint.
        try:
            written = checkpoints.write(report.heads, scope="all").name
        except OSError as exc:
            access_log.verification_record(report=report)
            raise CommandError(
                _("could not write a checkpoint to TELEREG_AUDIT_CHECKPOINT_DIR: %(error)s")
                % {"error": exc.strerror}
            ) from None
        access_log.verification_record(report=report, checkpoint=written)
        if report.breaks:
            for b in report.breaks:
                where = _("entry #%(id)s") % {"id": b.entry_id} if b.entry_id else _("chain end")
                if b.chain == access_log.CHECKPOINTS:
                    self.stderr.write(b.problem)
                else:
                    self.stderr.write(
                        _("chain %(chain)s: %(where)s (seq %(seq)s): %(problem)s")
                        % {"chain": b.chain, "where": where, "seq": b.seq, "problem": b.problem}
                    )
            first = report.breaks[0]
            if first.chain == access_log.CHECKPOINTS:
                summary = first.problem
            elif first.entry_id:
                summary = _("entry #%(id)s in chain %(chain)s: %(problem)s") % {
                    "id": first.entry_id,
                    "chain": first.chain,
                    "problem": first.problem,
                }
            else:
                summary = _("chain %(chain)s: %(problem)s") % {
                    "chain": first.chain,
                    "problem": first.problem,
                }
            raise CommandError(
                _("access log broken (%(count)d problem(s)); first: %(summary)s")
                % {"count": len(report.breaks), "summary": summary}
            )
        self.stdout.write(
            _(
                "access log intact: %(entries)d entries in %(chains)d chains, "
                "%(checkpoints)d earlier checkpoint(s) agree; wrote checkpoint %(name)s"
            )
            % {
                "entries": report.entries,
                "chains": len(report.heads),
                "checkpoints": report.checkpoints,
                "name": written,
            }
        )
