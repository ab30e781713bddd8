"""Demo data for `make run` and for people trying the system. Idempotent."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy

from . import selectors, services, two_factor
from .models import Operator, Partner, StaffMember, Store
from .roles import SECOND_FACTOR, Role


@dataclass(frozen=True)
class DemoStore:
    code: str
    name: str
    region_code: str
    address: str


DEMO_OPERATORS = {
    "alpha": (
        "Alpha Telecom",
        [
            DemoStore(
                "bj-chaoyang", "Chaoyang flagship", "110105", "1 Demo Road, Chaoyang, Beijing"
            ),
            DemoStore("sh-pudong", "Pudong store", "310115", "2 Sample Avenue, Pudong, Shanghai"),
        ],
    ),
    "beta": (
        "Beta Mobile",
        [
            DemoStore("gz-tianhe", "Tianhe store", "440106", "3 Example Street, Tianhe, Guangzhou"),
            DemoStore("sz-nanshan", "Nanshan store", "440305", "4 Test Lane, Nanshan, Shenzhen"),
        ],
    ),
}

# Each demo operator's brand on the subscriber pages (names per language, colour).
DEMO_BRANDS = {
    "alpha": {
        "display_name_zh": "阿尔法电信",
        "display_name_en": "Alpha Telecom",
        "brand_colour": "#0b5cad",
    },
    "beta": {
        "display_name_zh": "贝塔移动",
        "display_name_en": "Beta Mobile",
        "brand_colour": "#b3261e",
    },
}
# The portrait check at the counter (issue 14): beta requires a portrait, alpha does not.
DEMO_PORTRAIT_POLICY = {"alpha": "off", "beta": "required"}

DEMO_ROLES = {
    "clerk": Role.CLERK,
    "manager": Role.STORE_MANAGER,
    "compliance": Role.COMPLIANCE_OFFICER,
    "admin": Role.OPERATOR_ADMIN,
}


# Each demo operator's partner (a bank's fraud check): API only, CAMARA endpoints.
DEMO_PARTNER_SUFFIX = "partner"
PARTNER_LABEL = gettext_lazy("Partner (CAMARA API only)")


def demo_usernames() -> list[tuple[str, str]]:
    staff = [
        (f"{op}-{suffix}", role.label)
        for op in DEMO_OPERATORS
        for suffix, role in DEMO_ROLES.items()
    ]
    partners = [(f"{op}-{DEMO_PARTNER_SUFFIX}", PARTNER_LABEL) for op in DEMO_OPERATORS]
    return staff + partners


@transaction.atomic
def seed_partners(*, password: str | None = None) -> list[Partner]:
    """Create (or bring back) each demo operator's partner account,
    ``<operator>-partner``: signs in at /api/v1/auth/token/ and calls only the
    CAMARA endpoints. Run after :func:`seed_operators`."""
    password = password or settings.TELEREG_DEMO_PASSWORD
    user_model = get_user_model()
    partners = []
    for code, (name, _stores) in DEMO_OPERATORS.items():
        operator = Operator.objects.get(code=code)
        username = f"{code}-{DEMO_PARTNER_SUFFIX}"
        user, created = user_model.objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
        user.is_active = True
        user.save()
        partner = Partner.objects.filter(user=user).first()
        if partner is None:
            partner = services.partner_create(
                user=user, operator=operator, name=f"{name} demo bank"
            )
        elif not partner.active:
            partner.active = True
            partner.save(update_fields=["active"])
        partners.append(partner)
    return partners


@transaction.atomic
def seed_operators(*, password: str | None = None) -> list[Operator]:
    """Create (or bring back to their demo state) the demo operators, stores and staff."""
    password = password or settings.TELEREG_DEMO_PASSWORD
    user_model = get_user_model()
    undertaking = selectors.undertaking_current()
    operators = []
    for code, (name, stores) in DEMO_OPERATORS.items():
        operator, _ = Operator.objects.get_or_create(code=code, defaults={"name": name})
        brand = {**DEMO_BRANDS.get(code, {}), "portrait_policy": DEMO_PORTRAIT_POLICY[code]}
        if any(getattr(operator, field) != value for field, value in brand.items()):
            for field, value in brand.items():
                setattr(operator, field, value)
            # updated_at too: the brand style sheet's address changes with it.
            operator.save(update_fields=[*brand, "updated_at"])
        operators.append(operator)
        store_objs = []
        for demo in stores:
            store, _ = Store.objects.update_or_create(
                operator=operator,
                code=demo.code,
                defaults={
                    "name": demo.name,
                    "region_code": demo.region_code,
                    "address": demo.address,
                    "active": True,
                },
            )
            store_objs.append(store)
        for suffix, role in DEMO_ROLES.items():
            user, created = user_model.objects.get_or_create(username=f"{code}-{suffix}")
            if created or not user.check_password(password):
                user.set_password(password)
            user.is_active = True
            user.save()
            in_store = role in (Role.CLERK, Role.STORE_MANAGER)
            StaffMember.objects.update_or_create(
                user=user,
                defaults={
                    "operator": operator,
                    "store": store_objs[0] if in_store else None,
                    "role": role,
                    "active": True,
                },
            )
            if undertaking is not None:
                services.undertaking_accept(user=user, undertaking=undertaking)
    return operators


def demo_otp_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-otp.csv"


@transaction.atomic
def seed_otp_devices(*, path: Path | None = None) -> Path:
    """Give every privileged demo user (the roles that sign in with a second
    factor) a TOTP device and write ``username,base32 secret`` lines to
    ``var/demo-otp.csv``. A device that exists is kept (same secret on every
    run) and unlocked; the file is rewritten from the devices each time."""
    path = path or demo_otp_path()
    user_model = get_user_model()
    rows = []
    for code in DEMO_OPERATORS:
        for suffix, role in DEMO_ROLES.items():
            if role not in SECOND_FACTOR:
                continue
            user = user_model.objects.get(username=f"{code}-{suffix}")
            device = two_factor.device_of(user=user)
            if device is None:
                device = two_factor.device_set_up(user=user, actor=None, name="demo").device
            else:
                two_factor.device_unlock(device=device, actor=None)
            rows.append((user.get_username(), two_factor.device_secret(device)))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".csv.partial")
    # Owner-only: the secrets are sign-in credentials, if only the demo's.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="ascii") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    partial.replace(path)
    return path


def demo_otp_secrets(path: Path | None = None) -> list[tuple[str, str]]:
    """The ``(username, secret)`` pairs of ``var/demo-otp.csv``."""
    with (path or demo_otp_path()).open(newline="", encoding="ascii") as handle:
        return [(row[0], row[1]) for row in csv.reader(handle) if len(row) == 2]
