"""Synthetic identities that pass every checksum, for tests and demo data.

They are made up from small lists of syllables and random numbers: never
real people. The same seeded ``random.Random`` gives the same identities."""

from __future__ import annotations

import datetime as dt
import random

from .documents import gb11643_check_digit
from .types import IdentityData

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱"]
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "霞",
]
LATIN_FIRST = ["Alex", "Sam", "Robin", "Kim", "Jordan", "Casey", "Morgan", "Taylor", "Avery"]
LATIN_LAST = ["Testa", "Sample", "Example", "Demo", "Synthe", "Fictus", "Placeholder"]
# Region codes that exist today (stdnum's data) and a district for the address.
REGIONS = [
    ("110105", "北京市朝阳区"),
    ("110108", "北京市海淀区"),
    ("310115", "上海市浦东新区"),
    ("440106", "广东省广州市天河区"),
    ("440305", "广东省深圳市南山区"),
    ("330106", "浙江省杭州市西湖区"),
]
STREETS = ["样例路", "测试街", "示范大道", "模拟巷"]
FOREIGN = ["USA", "GBR", "FRA", "DEU", "JPN", "KOR", "AUS", "CAN", "SGP"]


def synthetic_gb11643(*, prefix6: str, birth_date: dt.date, sex: str, rng: random.Random) -> str:
    """An 18-character number with a correct check digit and matching sex parity."""
    seq = rng.randrange(0, 100) * 10 + rng.choice(
        [1, 3, 5, 7, 9] if sex == "M" else [0, 2, 4, 6, 8]
    )
    first17 = f"{prefix6}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + gb11643_check_digit(first17)


def synthetic_resident_id(
    *, birth_date: dt.date, sex: str, region: str = "110105", rng: random.Random | None = None
) -> str:
    return synthetic_gb11643(
        prefix6=region,
        birth_date=birth_date,
        sex=sex,
        rng=rng or random.Random(),  # noqa: S311
    )


def _chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


def synthetic_identity(
    *,
    rng: random.Random,
    id_type: str = "cn_resident_id",
    today: dt.date | None = None,
) -> IdentityData:
    """A fully valid identity block of the given type for an adult (18–80)."""
    today = today or dt.date.today()  # noqa: DTZ011 - a calendar date, not an instant
    birth = today - dt.timedelta(days=rng.randrange(18 * 366, 80 * 365))
    sex = rng.choice(["M", "F"])
    region, district = rng.choice(REGIONS)
    address = f"{district}{rng.choice(STREETS)}{rng.randrange(1, 999)}号"
    expiry = today + dt.timedelta(days=rng.randrange(200, 3650))
    name = _chinese_name(rng)
    nationality: str | None = None
    if id_type == "cn_resident_id":
        number = synthetic_gb11643(prefix6=region, birth_date=birth, sex=sex, rng=rng)
    elif id_type == "hmt_residence_permit":
        prefix = rng.choice(["810000", "820000", "830000"])
        number = synthetic_gb11643(prefix6=prefix, birth_date=birth, sex=sex, rng=rng)
    elif id_type == "hk_macao_travel_permit":
        number = rng.choice("HM") + f"{rng.randrange(10**8):08d}"
    elif id_type == "taiwan_travel_permit":
        number = f"{rng.randrange(10**8):08d}"
    elif id_type == "cn_passport":
        number = rng.choice("EG") + f"{rng.randrange(10**8):08d}"
    elif id_type == "foreign_passport":
        nationality = rng.choice(FOREIGN)
        number = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(9))
        name = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    elif id_type == "foreign_permanent_residence":
        nationality = rng.choice(FOREIGN)
        # New (2023) form: 9, province (2), nationality numeric code (3), birth, sequence, check.
        import pycountry

        numeric = pycountry.countries.get(alpha_3=nationality).numeric
        number = synthetic_gb11643(
            prefix6=f"9{rng.choice(['11', '31', '44'])}{numeric}",
            birth_date=birth,
            sex=sex,
            rng=rng,
        )
        name = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    else:
        raise ValueError(f"no synthetic generator for {id_type}")
    return IdentityData(
        id_type=id_type,
        id_number=number,
        name=name,
        date_of_birth=birth,
        sex=sex,
        id_expiry=None if id_type == "cn_resident_id" and rng.random() < 0.2 else expiry,
        nationality=nationality,
        address=address,
    )
