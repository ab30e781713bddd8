"""Demo lines with synthetic holders (some never verified), mobile and
landline, given by the cast's roles (``identity.demo.DemoRole``), and a draft
re-verification campaign per demo operator, so `make run` shows the counter's
and the re-verification flows. Idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity import services as identity_services
from identity.demo import DemoCitizen, DemoRole, demo_citizens
from identity.models import Person
from identity.services import ConsentInput
from operators.models import Operator, StaffMember
from registration import kind_rules
from registration.models import (
    Line,
    LineHolding,
    LineKind,
    NumberStatus,
    PhoneNumber,
    Transaction,
    TransactionKind,
    TransactionState,
)

from . import campaigns
from .models import Campaign

DEMO_LINES = 300  # mobile lines per operator
DEMO_LANDLINES = 40  # landlines per operator
FOUR_OF_FIVE_LINES = 4  # the cap (5 by default) shows on the next opening


@dataclass(frozen=True)
class DemoLine:
    """One demo line to create: its number, kind and holder."""

    number: str
    kind: str
    citizen: DemoCitizen


def _line_plan(operator: Operator, *, mobile: int, landlines: int) -> list[DemoLine]:
    """Which citizen holds which free number: the four-of-five citizen four
    mobile lines, the holders the rest (one or two each, far from any cap),
    landlines from the end of the cast so they fall on other people too;
    newcomers, the revoked and the unreachable hold nothing."""
    cast = demo_citizens()
    holders = [c for c in cast if c.role is DemoRole.HOLDER]
    four = [c for c in cast if c.role is DemoRole.FOUR_OF_FIVE]
    mobile_owners = [c for c in four for _ in range(FOUR_OF_FIVE_LINES)]
    mobile_owners += itertools.islice(itertools.cycle(holders), max(mobile - len(mobile_owners), 0))
    landline_owners = itertools.cycle(reversed(holders))
    # Fewer free numbers than planned (a small inventory) give fewer lines.
    plan = [
        DemoLine(number, LineKind.MOBILE, owner)
        for number, owner in zip(
            _free_numbers(operator, LineKind.MOBILE, mobile), mobile_owners, strict=False
        )
    ]
    plan += [
        DemoLine(number, LineKind.LANDLINE, owner)
        for number, owner in zip(
            _free_numbers(operator, LineKind.LANDLINE, landlines), landline_owners, strict=False
        )
    ]
    return plan


def _free_numbers(operator: Operator, kind: str, count: int) -> list[str]:
    return list(
        PhoneNumber.objects.filter(operator=operator, kind=kind, status=NumberStatus.AVAILABLE)
        .order_by("-number")
        .values_list("number", flat=True)[:count]
    )


@transaction.atomic
def seed_lines(
    operator: Operator, *, count: int = DEMO_LINES, landlines: int = DEMO_LANDLINES
) -> int:
    """Give ``count`` mobile and ``landlines`` fixed inventory numbers to
    synthetic holders (registered as if years ago, about two thirds of the
    holders verified), following the cast's roles. Returns how many were
    created; nothing when the operator has lines already."""
    if Line.objects.filter(operator=operator).exists():
        return 0
    notices = identity_services.current_notices(operator)
    store = operator.stores.filter(active=True).order_by("code").first()
    staff = operator.staff.filter(store=store).select_related("user").first()
    if not notices or store is None or staff is None:
        return 0
    consent = ConsentInput(notices[0].content_hash, True)
    rng = random.Random(operator.code)  # noqa: S311 - demo data only
    persons: dict[str, Person] = {}
    plan = _line_plan(operator, mobile=count, landlines=landlines)
    for index, demo_line in enumerate(plan):
        identity = demo_line.citizen.identity
        person = persons.get(identity.id_number)
        if person is None:
            person = identity_services.person_register(
                operator=operator,
                identity=identity,
                consent=consent,
                channel="store",
                actor=staff.user,
                store=store,
            )
            if rng.random() < 2 / 3:
                identity_services.person_verification_record(person=person, matched=True)
            persons[identity.id_number] = person
        registered = timezone.now() - dt.timedelta(days=rng.randrange(400, 3000))
        _line_create(
            demo_line, person, staff, f"DEMO-{operator.code.upper()}-{index:05d}", registered
        )
    PhoneNumber.objects.filter(operator=operator, number__in=[d.number for d in plan]).update(
        status=NumberStatus.ASSIGNED
    )
    for person in persons.values():
        Person.objects.filter(pk=person.pk).update(
            lines_held=Line.objects.filter(holder=person).count()
        )
    _write_holders(operator, plan)
    return len(plan)


def _line_create(
    demo_line: DemoLine,
    person: Person,
    staff: StaffMember,
    reference: str,
    registered: dt.datetime,
) -> Line:
    """A completed opening (or installation) and its line, as if done at
    ``registered``; a landline's installation address is the holder's own,
    sealed like any other."""
    operator, store = staff.operator, staff.store
    landline = demo_line.kind == LineKind.LANDLINE
    tx = Transaction.objects.create(
        reference=reference,
        kind=TransactionKind.LANDLINE_INSTALL if landline else TransactionKind.MOBILE_OPEN,
        state=TransactionState.COMPLETED,
        operator=operator,
        store=store,
        staff=staff.user,
        line_kind=demo_line.kind,
        number=demo_line.number,
        applicant=person,
    )
    line = Line.objects.create(
        number=demo_line.number, kind=demo_line.kind, operator=operator, holder=person, store=store
    )
    if landline:
        kind_rules.store_address(
            line, tx, demo_line.citizen.identity.address or "", registered, first=True
        )
    Line.objects.filter(pk=line.pk).update(registered_at=registered)
    LineHolding.objects.create(line=line, holder=person, started_at=registered, transaction=tx)
    Transaction.objects.filter(pk=tx.pk).update(line=line)
    return line


def _write_holders(operator: Operator, plan: list[DemoLine]) -> None:
    """var/demo-lines-<operator>.csv: which synthetic identity holds which demo
    line, so a person trying the demo can answer a notice."""
    path = Path(settings.VAR_DIR) / f"demo-lines-{operator.code}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "number",
                "id_type",
                "id_number",
                "name",
                "date_of_birth",
                "sex",
                "id_expiry",
                "nationality",
                "kind",
            ]
        )
        for demo_line in plan:
            i = demo_line.citizen.identity
            writer.writerow(
                [
                    demo_line.number,
                    i.id_type,
                    i.id_number,
                    i.name,
                    i.date_of_birth.isoformat(),
                    i.sex,
                    i.id_expiry.isoformat() if i.id_expiry else "",
                    i.nationality or "",
                    demo_line.kind,
                ]
            )


def seed_campaign(operator: Operator) -> Campaign | None:
    """A draft campaign over lines whose holders never verified."""
    if Campaign.objects.filter(operator=operator).exists():
        return None
    officer = operator.staff.filter(role="compliance_officer").select_related("user").first()
    return campaigns.campaign_create(
        operator=operator,
        data=campaigns.CampaignInput(
            name="Demo: mobile lines never verified",
            criteria={"line_kind": "mobile", "holder_verification": "never"},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[14, 7, 2],
            channels=["file"],
        ),
        actor=officer.user if officer else None,
    )
