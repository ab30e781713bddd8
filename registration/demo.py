"""Registration demo data: a number inventory and a service catalog for each
demo operator. Idempotent: a second run adds nothing.

The ranges are disjoint, valid Chinese numbers of their kind (checked by
phonenumbers through number_load): China Mobile-style 138/139 mobile blocks and
fixed lines in Beijing (010) and Guangzhou (020), where the demo stores are."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from operators.models import Operator

from .inventory import number_load, number_range
from .models import LineKind, Service


@dataclass(frozen=True)
class DemoService:
    code: str
    name: str
    line_kinds: tuple[str, ...]


DEMO_INVENTORY: dict[str, dict[str, str]] = {
    "alpha": {
        LineKind.MOBILE: "+8613800000000-+8613800009999",
        LineKind.LANDLINE: "+861062340000-+861062341999",
    },
    "beta": {
        LineKind.MOBILE: "+8613900000000-+8613900009999",
        LineKind.LANDLINE: "+862083340000-+862083341999",
    },
}

DEMO_CATALOG = [
    DemoService("intl_roaming", "International roaming", (LineKind.MOBILE,)),
    DemoService("call_forwarding", "Call forwarding", (LineKind.MOBILE, LineKind.LANDLINE)),
    DemoService("data_pack", "Data pack", (LineKind.MOBILE,)),
]


def seed_inventory(operator: Operator) -> dict[str, tuple[int, int]]:
    """Load the operator's demo ranges; ``{kind: (created, skipped)}``."""
    return {
        str(kind): number_load(operator=operator, kind=kind, numbers=number_range(spec))
        for kind, spec in DEMO_INVENTORY.get(operator.code, {}).items()
    }


@transaction.atomic
def seed_catalog(operator: Operator) -> int:
    """Create the demo services the operator lacks (an operator's own edits
    to them are kept); return how many were created."""
    created = 0
    for demo in DEMO_CATALOG:
        _, was_created = Service.objects.get_or_create(
            operator=operator,
            code=demo.code,
            defaults={"name": demo.name, "line_kinds": [str(kind) for kind in demo.line_kinds]},
        )
        created += was_created
    return created


def seed_registration(operator: Operator) -> tuple[int, int]:
    """Inventory and catalog for one demo operator; ``(numbers, services)`` created."""
    loaded = seed_inventory(operator)
    return sum(created for created, _ in loaded.values()), seed_catalog(operator)
