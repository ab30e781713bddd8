"""Identity demo data: published privacy notices for each demo operator and a
registry of synthetic citizens for the simulated authority, also written to
var/demo-citizens.csv so people can try the system with identities that pass.

The citizens are a cast: each has a demo role (:class:`DemoRole`) that says
what a newcomer can try with them; the demo lines (``reverification.demo``)
are given by role, and the CSV's ``role`` column says which is which."""

from __future__ import annotations

import csv
import enum
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from operators.models import Operator

from . import portraits, services, synthetic_portraits
from .models import NoticeLanguage, PrivacyNotice
from .synthetic import synthetic_identity
from .types import IdentityData

DEMO_NOTICE = {
    NoticeLanguage.EN: {
        "purpose": "We collect your identity to register you as the real user of your telephone "
        "line, as the real-name registration rules require, and to protect your account.",
        "manner": "A store clerk, or you on our self-service pages, enter the details of your "
        "identity document; we check them with the issuing authority.",
        "scope": "Your name, sex, date of birth, identity document type, number and expiry, "
        "nationality for foreign documents, and your address.",
        "retention": "While you hold a line with us and for two years after your last line "
        "closes; then the data is erased.",
        "query_and_correction": "Ask in any of our stores or on the self-service pages to see "
        "the data we hold about you, or to have it corrected.",
        "consequences_of_refusal": "Without this information we cannot open, transfer or "
        "change a telephone line in your name.",
    },
    NoticeLanguage.ZH: {
        "purpose": "依照电话用户真实身份信息登记规定，我们收集您的身份信息，用于登记您为电话号码的实际使用人，并保护您的账户安全。",
        "manner": "由营业厅工作人员或您本人通过自助页面录入身份证件信息，并经发证机关核验。",
        "scope": "姓名、性别、出生日期、证件类型、证件号码及有效期、外国证件的国籍，以及地址。",
        "retention": "在您使用我们号码期间及最后一个号码注销后两年内保存，期满后删除。",
        "query_and_correction": "您可在任一营业厅或自助页面查询我们保存的您的信息，或申请更正。",
        "consequences_of_refusal": "如不提供上述信息，我们无法为您办理入网、过户或变更业务。",
    },
}

CITIZENS_PER_SEED = 200


class DemoRole(enum.StrEnum):
    """What a demo citizen is for (the ``role`` column of var/demo-citizens.csv)."""

    HOLDER = "holder"  # holds one or two demo lines at each operator
    NO_LINE = "no_line"  # holds nothing yet: open a first line at once
    FOUR_OF_FIVE = "four_of_five"  # holds 4 of the 5 mobile lines allowed: the cap shows
    AUTHORITY_UNAVAILABLE = "authority_unavailable"  # no answer: the waiting flow shows
    REVOKED = "revoked"  # the document was revoked: the authority refuses it


# Positions in the seeded cast (fixed, so the CSV and the lines agree on
# every run); every tenth citizen is a foreigner, so one newcomer is too.
UNAVAILABLE_AT = frozenset({0})
NO_LINE_AT = frozenset({1, 2, 3, 4, 9})
FOUR_OF_FIVE_AT = frozenset({5})


@dataclass(frozen=True)
class DemoCitizen:
    identity: IdentityData
    role: DemoRole

    def __repr__(self) -> str:
        return f"DemoCitizen(role={self.role!r}, <personal fields hidden>)"

    @property
    def status(self) -> str:
        """What the simulated authority answers for them (the CSV's ``status``)."""
        return {DemoRole.REVOKED: "revoked", DemoRole.AUTHORITY_UNAVAILABLE: "unavailable"}.get(
            self.role, "valid"
        )


def _role_at(position: int) -> DemoRole:
    if position % 50 == 49:
        return DemoRole.REVOKED
    if position in UNAVAILABLE_AT:
        return DemoRole.AUTHORITY_UNAVAILABLE
    if position in NO_LINE_AT:
        return DemoRole.NO_LINE
    if position in FOUR_OF_FIVE_AT:
        return DemoRole.FOUR_OF_FIVE
    return DemoRole.HOLDER


def seed_notices(operator: Operator) -> None:
    for language, parts in DEMO_NOTICE.items():
        if PrivacyNotice.objects.filter(
            operator=operator, language=language, published_at__isnull=False
        ).exists():
            continue
        draft = services.notice_draft_create(operator=operator, language=language, parts=parts)
        services.notice_publish(notice=draft, actor=None)


def demo_citizens(count: int = CITIZENS_PER_SEED) -> list[DemoCitizen]:
    """The seeded cast of synthetic citizens: the same people, in the same
    roles, on every run."""
    rng = random.Random(2013)  # noqa: S311 - synthetic demo data, not security
    today = timezone.localdate()
    id_types = ["cn_resident_id"] * 8 + ["hmt_residence_permit", "foreign_passport"]
    return [
        DemoCitizen(
            synthetic_identity(rng=rng, id_type=id_types[n % len(id_types)], today=today),
            _role_at(n),
        )
        for n in range(count)
    ]


# The demo citizens' synthetic portraits (drawn by code, never photographs),
# beside var/demo-citizens.csv: NN-reference.png (the authority's) and
# NN-live.jpg (what a counter's camera would take: it matches its reference).
PORTRAITS_DIR = "demo-portraits"


def _portrait_files(n: int) -> tuple[str, str]:
    return (f"{PORTRAITS_DIR}/{n:02d}-reference.png", f"{PORTRAITS_DIR}/{n:02d}-live.jpg")


def _write_portraits(base: Path, rows: list[DemoCitizen]) -> list[bytes]:
    """Write each citizen's reference and live portraits; returns the
    references, cleaned as the registry keeps them."""
    (base / PORTRAITS_DIR).mkdir(parents=True, exist_ok=True)
    references = []
    for n, citizen in enumerate(rows):
        reference_path, live_path = _portrait_files(n)
        reference = synthetic_portraits.synthetic_portrait(citizen.identity.id_number)
        (base / reference_path).write_bytes(reference)
        (base / live_path).write_bytes(synthetic_portraits.live_variant(citizen.identity.id_number))
        references.append(portraits.image_clean(reference))
    return references


def _registry_row(citizen: DemoCitizen, portrait: bytes | None = None) -> services.CitizenRow:
    """What the simulated authority keeps of a demo citizen (digests, status)."""
    i = citizen.identity
    return services.CitizenRow(
        portrait=portrait,
        id_type=i.id_type,
        id_number=i.id_number,
        name=i.name,
        date_of_birth=i.date_of_birth,
        sex=i.sex,
        revoked=citizen.role is DemoRole.REVOKED,
        unavailable=citizen.role is DemoRole.AUTHORITY_UNAVAILABLE,
    )


def seed_citizens(*, count: int = CITIZENS_PER_SEED, path: Path | None = None) -> Path:
    """A fixed (seeded) set of synthetic citizens: the same file every time."""
    path = path or Path(settings.VAR_DIR) / "demo-citizens.csv"
    rows = demo_citizens(count)
    path.parent.mkdir(parents=True, exist_ok=True)
    references = _write_portraits(path.parent, rows)
    services.authority_registry_load(
        _registry_row(c, reference) for c, reference in zip(rows, references, strict=True)
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "id_type",
                "id_number",
                "name",
                "date_of_birth",
                "sex",
                "status",
                "id_expiry",
                "nationality",
                "address",
                "role",
                "portrait",
                "live_portrait",
            ]
        )
        for n, c in enumerate(rows):
            i = c.identity
            writer.writerow(
                [
                    i.id_type,
                    i.id_number,
                    i.name,
                    i.date_of_birth.isoformat(),
                    i.sex,
                    c.status,
                    i.id_expiry.isoformat() if i.id_expiry else "",
                    i.nationality or "",
                    i.address or "",
                    c.role,
                    *_portrait_files(n),
                ]
            )
    return path
