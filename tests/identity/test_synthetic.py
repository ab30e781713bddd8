"""Synthetic identities: valid by construction, reproducible, never real people.

Pure Python: no database, no Django settings needed.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from stdnum.cn import ric

from identity.documents import age_on, country_by_numeric, validate_identity
from identity.synthetic import (
    GIVEN,
    LATIN_FIRST,
    LATIN_LAST,
    SUPPORTED_TYPES,
    SURNAMES,
    synthetic_identity,
    synthetic_permanent_residence_id,
    synthetic_resident_id,
)

TODAY = dt.date(2026, 11, 28)


def test_synthetic_resident_id_has_a_correct_check_digit_birth_date_and_sex_parity():
    rng = random.Random(1)
    for n in range(200):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=97 * n)
        sex = "MF"[n % 2]
        number = synthetic_resident_id(birth_date=born, sex=sex, rng=rng)
        assert ric.calc_check_digit(number) == number[-1]
        assert number[:6] == "110105"
        assert number[6:14] == born.strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if sex == "M" else 0)


def test_synthetic_resident_id_uses_the_region_given():
    number = synthetic_resident_id(
        birth_date=dt.date(1970, 5, 5), sex="F", region="310115", rng=random.Random(3)
    )
    assert number.startswith("31011519700505")


def test_synthetic_resident_id_is_reproducible_with_a_seeded_rng():
    def make(seed: int) -> str:
        return synthetic_resident_id(
            birth_date=dt.date(1990, 1, 1), sex="M", rng=random.Random(seed)
        )

    assert make(5) == make(5)
    assert len({make(seed) for seed in range(50)}) > 10


def test_synthetic_resident_id_works_without_an_rng():
    number = synthetic_resident_id(birth_date=dt.date(1990, 1, 1), sex="F")
    assert ric.calc_check_digit(number) == number[-1]


def test_synthetic_resident_id_refuses_a_sex_other_than_m_or_f():
    with pytest.raises(ValueError, match="sex"):
        synthetic_resident_id(birth_date=dt.date(1990, 1, 1), sex="X", rng=random.Random(1))


def test_synthetic_permanent_residence_id_encodes_the_nationality_numerically():
    number = synthetic_permanent_residence_id(
        birth_date=dt.date(1984, 6, 9), sex="M", nationality="NZL", rng=random.Random(2)
    )
    assert number[:1] == "9"
    assert country_by_numeric(number[3:6]) == "NZL"
    assert ric.calc_check_digit(number) == number[-1]


@pytest.mark.parametrize("id_type", SUPPORTED_TYPES)
@pytest.mark.parametrize(
    "today", [TODAY, dt.date(2028, 2, 29), dt.date(2025, 1, 1), dt.date(2030, 12, 31)]
)
def test_synthetic_identities_pass_every_document_rule(id_type, today):
    rng = random.Random(f"{id_type}-{today}")
    for _ in range(40):
        data = synthetic_identity(rng=rng, id_type=id_type, today=today)
        assert validate_identity(data, today=today, require_address=True) == data


@pytest.mark.parametrize("id_type", SUPPORTED_TYPES)
def test_synthetic_identity_is_reproducible_with_a_seeded_rng(id_type):
    def batch(seed: int) -> list:
        rng = random.Random(seed)
        return [synthetic_identity(rng=rng, id_type=id_type, today=TODAY) for _ in range(5)]

    assert batch(42) == batch(42)
    assert batch(42) != batch(43)


def test_synthetic_identity_defaults_to_a_resident_id():
    data = synthetic_identity(rng=random.Random(9), today=TODAY)
    assert data.id_type == "cn_resident_id"
    assert data.nationality == "CHN"


def test_synthetic_holders_are_adults_under_80():
    rng = random.Random(4)
    ages = [
        age_on(synthetic_identity(rng=rng, today=TODAY).date_of_birth, TODAY) for _ in range(500)
    ]
    assert min(ages) >= 18
    assert max(ages) <= 79


def test_synthetic_names_are_made_up_from_the_syllable_lists():
    rng = random.Random(8)
    for _ in range(100):
        name = synthetic_identity(rng=rng, today=TODAY).name
        assert name[0] in SURNAMES
        assert 2 <= len(name) <= 3
        assert all(ch in GIVEN for ch in name[1:])
        foreign = synthetic_identity(rng=rng, id_type="foreign_passport", today=TODAY).name
        first, last = foreign.split(" ")
        assert first in LATIN_FIRST
        assert last in LATIN_LAST


def test_synthetic_foreign_documents_carry_a_foreign_nationality():
    rng = random.Random(6)
    for id_type in ("foreign_passport", "foreign_permanent_residence"):
        data = synthetic_identity(rng=rng, id_type=id_type, today=TODAY)
        assert data.nationality
        assert data.nationality != "CHN"


def test_synthetic_documents_with_an_end_date_always_have_one():
    rng = random.Random(10)
    for id_type in SUPPORTED_TYPES[1:]:
        for _ in range(20):
            data = synthetic_identity(rng=rng, id_type=id_type, today=TODAY)
            assert data.id_expiry is not None
            assert data.id_expiry >= TODAY


def test_only_older_resident_id_holders_get_a_card_valid_for_life():
    rng = random.Random(12)
    lifelong = [synthetic_identity(rng=rng, today=TODAY) for _ in range(300)]
    lifelong = [d for d in lifelong if d.id_expiry is None]
    assert lifelong
    assert all(TODAY.year - d.date_of_birth.year >= 46 for d in lifelong)


def test_synthetic_identity_refuses_an_unsupported_document_type():
    with pytest.raises(ValueError, match="no synthetic generator"):
        synthetic_identity(rng=random.Random(1), id_type="library_card", today=TODAY)
