"""Synthetic identities for tests and demo data: never real people.

Guarantees: every identity from :func:`synthetic_identity` passes
:func:`identity.documents.validate_identity` on the ``today`` it was made for (with the
default minimum age and ``require_address=True``); numbers carry correct check digits,
birth dates and sex parity. Names are assembled from short syllable lists and obviously
made-up surnames. All randomness comes from the ``rng`` passed in, so a seeded
``random.Random`` gives the same identities every time.
"""

from __future__ import annotations

import datetime as dt
import random

from .documents import country_by_numeric, gb11643_check_digit
from .types import IdentityData

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱"  # one character each
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明霞"
LATIN_FIRST = [
    "Alex",
    "Sam",
    "Robin",
    "Kim",
    "Jordan",
    "Casey",
    "Morgan",
    "Taylor",
    "Avery",
]
LATIN_LAST = ["Testa", "Sample", "Example", "Demo", "Synthe", "Fictus", "Placeholder"]

# Region codes that exist today (python-stdnum's data), with the district for the address.
# Pudong (310115) dates from 1992: still valid for older holders, a number keeps the code
# of the place where it was issued.
REGIONS = [
    ("110105", "北京市朝阳区"),
    ("110108", "北京市海淀区"),
    ("310115", "上海市浦东新区"),
    ("440106", "广东省广州市天河区"),
    ("440305", "广东省深圳市南山区"),
    ("330106", "浙江省杭州市西湖区"),
]
STREETS = ["样例路", "测试街", "示范大道", "模拟巷"]
HMT_PREFIXES = ["810000", "820000", "830000"]
# ISO 3166-1 alpha-3 and numeric codes of the nationalities used for foreigners.
FOREIGN = {
    "USA": "840",
    "GBR": "826",
    "FRA": "250",
    "DEU": "276",
    "JPN": "392",
    "KOR": "410",
    "AUS": "036",
    "CAN": "124",
    "SGP": "702",
}
PROVINCES = [
    "11",
    "31",
    "44",
    "33",
    "32",
]  # Beijing, Shanghai, Guangdong, Zhejiang, Jiangsu

SUPPORTED_TYPES = (
    "cn_resident_id",
    "hmt_residence_permit",
    "hk_macao_travel_permit",
    "taiwan_travel_permit",
    "cn_passport",
    "foreign_passport",
    "foreign_permanent_residence",
)


def _rng_or_new(rng: random.Random | None) -> random.Random:
    # Synthetic test data, never secrets: a non-cryptographic generator is the point.
    return rng if rng is not None else random.Random()  # noqa: S311


def _sequence(sex: str, rng: random.Random) -> str:
    """Three sequence digits whose last is odd for men, even for women (GB 11643)."""
    if sex not in ("M", "F"):
        raise ValueError("sex must be M or F")
    last = rng.choice([1, 3, 5, 7, 9] if sex == "M" else [0, 2, 4, 6, 8])
    return f"{rng.randrange(100):02d}{last}"


def synthetic_gb11643(*, prefix6: str, birth_date: dt.date, sex: str, rng: random.Random) -> str:
    """An 18-character GB 11643 number: ``prefix6``, the birth date, a sequence with the
    right sex parity and a correct check digit. The prefix is not checked here."""
    first17 = f"{prefix6}{birth_date:%Y%m%d}{_sequence(sex, rng)}"
    return first17 + gb11643_check_digit(first17)


def synthetic_resident_id(
    *,
    birth_date: dt.date,
    sex: str,
    region: str = "110105",
    rng: random.Random | None = None,
) -> str:
    """A resident ID number with a correct check digit, matching ``birth_date`` and ``sex``.

    Without an ``rng`` the sequence is random (not reproducible)."""
    return synthetic_gb11643(prefix6=region, birth_date=birth_date, sex=sex, rng=_rng_or_new(rng))


def synthetic_permanent_residence_id(
    *,
    birth_date: dt.date,
    sex: str,
    nationality: str,
    province: str = "11",
    rng: random.Random | None = None,
) -> str:
    """A 2023-form foreigner's permanent residence number: '9', province, the
    nationality's ISO numeric code, birth date, sequence, check digit."""
    numeric = FOREIGN.get(nationality) or _numeric_of(nationality)
    return synthetic_gb11643(
        prefix6=f"9{province}{numeric}",
        birth_date=birth_date,
        sex=sex,
        rng=_rng_or_new(rng),
    )


def _numeric_of(alpha3: str) -> str:
    for numeric in (f"{n:03d}" for n in range(1000)):
        if country_by_numeric(numeric) == alpha3:
            return numeric
    raise ValueError("not an ISO 3166-1 alpha-3 code")


def _chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


def _latin_name(rng: random.Random) -> str:
    return f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


def synthetic_identity(
    *,
    rng: random.Random,
    id_type: str = "cn_resident_id",
    today: dt.date | None = None,
) -> IdentityData:
    """A fully valid identity block of ``id_type`` for an adult (18 to 79 on ``today``).

    Deterministic for a seeded ``rng``. ``today`` defaults to the machine's date; pass the
    operator's local date where it matters."""
    if id_type not in SUPPORTED_TYPES:
        raise ValueError(f"no synthetic generator for document type {id_type!r}")
    today = today or dt.date.today()  # noqa: DTZ011 - a calendar date, not an instant
    oldest = _years_before(today, 80) + dt.timedelta(days=1)
    youngest = _years_before(today, 18)
    birth = oldest + dt.timedelta(days=rng.randrange((youngest - oldest).days + 1))
    sex = rng.choice(["M", "F"])
    region, district = rng.choice(REGIONS)
    address = f"{district}{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
    expiry: dt.date | None = today + dt.timedelta(days=rng.randrange(30, 3650))
    name = _chinese_name(rng)
    nationality: str | None = None

    if id_type == "cn_resident_id":
        number = synthetic_gb11643(prefix6=region, birth_date=birth, sex=sex, rng=rng)
        nationality = "CHN"
        # Cards issued at 46 or older are valid for life.
        if (today.year - birth.year) >= 46 and rng.random() < 0.5:
            expiry = None
    elif id_type == "hmt_residence_permit":
        number = synthetic_gb11643(
            prefix6=rng.choice(HMT_PREFIXES), birth_date=birth, sex=sex, rng=rng
        )
    elif id_type == "hk_macao_travel_permit":
        number = rng.choice("HM") + f"{rng.randrange(10**8):08d}"
    elif id_type == "taiwan_travel_permit":
        number = f"{rng.randrange(10**8):08d}"
    elif id_type == "cn_passport":
        number = rng.choice("EG") + f"{rng.randrange(10**8):08d}"
        nationality = "CHN"
    elif id_type == "foreign_passport":
        nationality = rng.choice(sorted(FOREIGN))
        number = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9))
        name = _latin_name(rng)
    else:  # foreign_permanent_residence, 2023 form
        nationality = rng.choice(sorted(FOREIGN))
        number = synthetic_permanent_residence_id(
            birth_date=birth,
            sex=sex,
            nationality=nationality,
            province=rng.choice(PROVINCES),
            rng=rng,
        )
        name = _latin_name(rng)

    return IdentityData(
        id_type=id_type,
        id_number=number,
        name=name,
        date_of_birth=birth,
        sex=sex,
        id_expiry=expiry,
        nationality=nationality,
        address=address,
    )
