"""Load numbers into an operator's inventory from a file or a range:

manage.py load_numbers --operator alpha --kind mobile numbers.txt
manage.py load_numbers --operator alpha --kind mobile +8613800000000-+8613800009999
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from operators.models import Operator
from registration.inventory import (
    InventoryLoadRefused,
    file_entries,
    is_range,
    number_load,
    number_range,
)
from registration.models import LineKind


class Command(BaseCommand):
    help = (
        "Add numbers to an operator's inventory as available. SOURCE is a text file with "
        "one number per line, or a CSV file with the number in its first column (a header "
        "line, blank lines and # comments ignored), or an inclusive range "
        "FIRST-LAST. Numbers already loaded are skipped; one invalid number refuses the "
        "whole load."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operator", required=True, help="operator code, e.g. alpha")
        parser.add_argument("--kind", required=True, choices=LineKind.values)
        parser.add_argument("source", help="a file path, or a range like +86138...0-+86138...9")

    def handle(self, *args, operator: str, kind: str, source: str, **options) -> None:
        try:
            operator_obj = Operator.objects.get(code=operator)
        except Operator.DoesNotExist:
            raise CommandError(
                gettext("No operator with code %(code)r.") % {"code": operator}
            ) from None
        path = Path(source)
        try:
            if path.is_file():
                with path.open(encoding="utf-8-sig") as lines:
                    created, skipped = number_load(
                        operator=operator_obj, kind=kind, numbers=file_entries(lines)
                    )
            elif is_range(source):
                created, skipped = number_load(
                    operator=operator_obj, kind=kind, numbers=number_range(source)
                )
            else:
                raise CommandError(
                    gettext(
                        "%(source)r is neither a readable file nor a range like "
                        "+8613800000000-+8613800009999."
                    )
                    % {"source": source}
                )
        except InventoryLoadRefused as exc:
            if exc.position and path.is_file():
                raise CommandError(
                    gettext(
                        "%(source)s, line %(line)s (%(entry)r) is refused: %(reason)s. "
                        "Nothing was loaded."
                    )
                    % {
                        "source": source,
                        "line": exc.position,
                        "entry": exc.entry,
                        "reason": exc.reason,
                    }
                ) from None
            raise CommandError(exc.message) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                gettext("Cannot read %(source)s: %(error)s") % {"source": source, "error": exc}
            ) from None
        self.stdout.write(
            gettext("%(operator)s %(kind)s: %(created)s created, %(skipped)s skipped")
            % {"operator": operator_obj.code, "kind": kind, "created": created, "skipped": skipped}
        )
