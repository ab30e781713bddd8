"""Demo lines with synthetic holders (some never verified) and a draft
re-verification campaign per demo operator, so `make run` shows the whole
re-verification flow. Idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity import services as identity_services
from identity.demo import demo_citizens
from identity.services import ConsentInput
from operators.models import Operator
from registration.models import Line, LineHolding, LineKind, NumberStatus, PhoneNumber, Transaction

from . import campaigns
from .models import Campaign

DEMO_LINES = 300


@transaction.atomic
def seed_lines(operator: Operator, *, count: int = DEMO_LINES) -> int:
    """Give ``count`` inventory numbers to synthetic holders (registered as if
    years ago, two thirds of them verified). Returns how many were created."""
    if Line.objects.filter(operator=operator).exists():
        return 0
    notices = identity_services.current_notices(operator)
    store = operator.stores.filter(active=True).order_by("code").first()
    staff = operator.staff.filter(store=store).select_related("user").first()
    if not notices or store is None or staff is None:
        return 0
    consent = ConsentInput(notices[0].content_hash, True)
    numbers = list(
        PhoneNumber.objects.filter(
            operator=operator, kind=LineKind.MOBILE, status=NumberStatus.AVAILABLE
        ).order_by("-number")[:count]
    )
    citizens = [c for c in demo_citizens() if not c[1]]  # not revoked
    rng = random.Random(operator.code)  # noqa: S311 - demo data only
    created = 0
    holders: list[tuple[str, object]] = []
    for index, phone in enumerate(numbers):
        identity = citizens[index % len(citizens)][0]
        holders.append((phone.number, identity))
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
        tx = Transaction.objects.create(
            reference=f"DEMO-{operator.code.upper()}-{index:05d}",
            kind="mobile_open",
            state="completed",
            operator=operator,
            store=store,
            staff=staff.user,
            line_kind=LineKind.MOBILE,
            number=phone.number,
            applicant=person,
        )
        line = Line.objects.create(
            number=phone.number,
            kind=LineKind.MOBILE,
            operator=operator,
            holder=person,
            store=store,
        )
        registered = timezone.now() - dt.timedelta(days=rng.randrange(400, 3000))
        Line.objects.filter(pk=line.pk).update(registered_at=registered)
        LineHolding.objects.create(line=line, holder=person, started_at=registered, transaction=tx)
        Transaction.objects.filter(pk=tx.pk).update(line=line)
        created += 1
    PhoneNumber.objects.filter(pk__in=[p.pk for p in numbers]).update(status=NumberStatus.ASSIGNED)
    for person_id in {line.holder_id for line in Line.objects.filter(operator=operator)}:
        identity_services.Person.objects.filter(pk=person_id).update(
            lines_held=Line.objects.filter(holder_id=person_id).count()
        )
    _write_holders(operator, holders)
    return created


def _write_holders(operator: Operator, holders) -> None:
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
            ]
        )
        for number, i in holders:
            writer.writerow(
                [
                    number,
                    i.id_type,
                    i.id_number,
                    i.name,
                    i.date_of_birth.isoformat(),
                    i.sex,
                    i.id_expiry.isoformat() if i.id_expiry else "",
                    i.nationality or "",
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
