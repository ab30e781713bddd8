"""Identity demo data: published privacy notices for each demo operator and a
registry of synthetic citizens for the simulated authority, also written to
var/demo-citizens.csv so people can try the system with identities that pass."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from operators.models import Operator

from . import services
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


def seed_notices(operator: Operator) -> None:
    for language, parts in DEMO_NOTICE.items():
        if PrivacyNotice.objects.filter(
            operator=operator, language=language, published_at__isnull=False
        ).exists():
            continue
        draft = services.notice_draft_create(operator=operator, language=language, parts=parts)
        services.notice_publish(notice=draft, actor=None)


def demo_citizens(count: int = CITIZENS_PER_SEED) -> list[tuple[IdentityData, bool]]:
    """The seeded set of synthetic citizens, as (identity, revoked)."""
    rng = random.Random(2013)  # noqa: S311 - synthetic demo data, not security
    today = timezone.localdate()
    id_types = ["cn_resident_id"] * 8 + ["hmt_residence_permit", "foreign_passport"]
    return [
        (
            synthetic_identity(rng=rng, id_type=id_types[n % len(id_types)], today=today),
            n % 50 == 49,
        )
        for n in range(count)
    ]


def seed_citizens(*, count: int = CITIZENS_PER_SEED, path: Path | None = None) -> Path:
    """A fixed (seeded) set of synthetic citizens: the same file every time."""
    path = path or Path(settings.VAR_DIR) / "demo-citizens.csv"
    rows = demo_citizens(count)
    services.authority_registry_load(
        services.CitizenRow(
            id_type=i.id_type,
            id_number=i.id_number,
            name=i.name,
            date_of_birth=i.date_of_birth,
            sex=i.sex,
            revoked=revoked,
        )
        for i, revoked in rows
    )
    path.parent.mkdir(parents=True, exist_ok=True)
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
            ]
        )
        for i, revoked in rows:
            writer.writerow(
                [
                    i.id_type,
                    i.id_number,
                    i.name,
                    i.date_of_birth.isoformat(),
                    i.sex,
                    "revoked" if revoked else "valid",
                    i.id_expiry.isoformat() if i.id_expiry else "",
                    i.nationality or "",
                    i.address or "",
                ]
            )
    return path
