"""The document rules, one by one, on synthetic numbers."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest

from identity.documents import (
    DOCUMENT_TYPES,
    IdentityInvalid,
    normalise_document,
    validate_identity,
)
from identity.synthetic import synthetic_gb11643, synthetic_identity
from identity.types import IdentityData

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def rng():
    return random.Random(7)


def resident(rng, *, born=dt.date(1990, 3, 7), sex="F", region="110105", **kw) -> IdentityData:
    number = synthetic_gb11643(prefix6=region, birth_date=born, sex=sex, rng=rng)
    return IdentityData(
        id_type="cn_resident_id",
        id_number=number,
        name="测试人",
        date_of_birth=born,
        sex=sex,
        id_expiry=kw.pop("id_expiry", dt.date(2035, 6, 30)),
        **kw,
    )


def errors_of(data: IdentityData, **kw) -> dict[str, list[str]]:
    with pytest.raises(IdentityInvalid) as info:
        validate_identity(data, today=TODAY, **kw)
    return info.value.errors


def test_valid_resident_id_passes_and_is_normalised(rng):
    data = resident(rng, born=dt.date(1988, 1, 1), sex="M")
    spaced = replace(data, id_number=" " + data.id_number[:6] + " " + data.id_number[6:].lower())
    assert validate_identity(spaced, today=TODAY).id_number == data.id_number


def test_resident_id_with_wrong_check_digit_is_refused(rng):
    data = resident(rng)
    wrong = "0" if data.id_number[-1] != "0" else "1"
    errors = errors_of(replace(data, id_number=data.id_number[:-1] + wrong))
    assert errors == {"id_number": ["check digit does not match"]}


def test_birth_date_differing_from_the_number_is_refused(rng):
    data = resident(rng, born=dt.date(1990, 3, 7))
    errors = errors_of(replace(data, date_of_birth=dt.date(1990, 3, 8)))
    assert errors["date_of_birth"] == ["birth date differs from the ID number"]


def test_sex_differing_from_the_sequence_parity_is_refused(rng):
    data = resident(rng, sex="F")
    assert errors_of(replace(data, sex="M"))["sex"] == ["sex differs from the ID number"]


def test_unknown_region_is_refused(rng):
    assert errors_of(resident(rng, region="999999"))["id_number"] == ["unknown region code"]


def test_pudong_code_created_in_1992_is_valid_for_someone_born_in_1970(rng):
    validate_identity(resident(rng, born=dt.date(1970, 5, 5), region="310115"), today=TODAY)


def test_chongwen_code_abolished_in_2010_is_valid_on_an_older_card(rng):
    validate_identity(resident(rng, born=dt.date(1985, 5, 5), region="110103"), today=TODAY)


def test_chongwen_code_cannot_appear_on_a_card_of_someone_born_after_2010(rng):
    data = resident(rng, born=dt.date(2005, 5, 5), region="110103")
    # born 2005 is still before abolition: accepted
    validate_identity(data, today=TODAY, min_age=16)
    young = resident(rng, born=dt.date(2011, 5, 5), region="110103")
    errors = errors_of(young, min_age=0)
    assert errors["id_number"] == ["region code was abolished before the holder was born"]


def test_expired_document_is_refused(rng):
    errors = errors_of(resident(rng, id_expiry=dt.date(2026, 11, 27)))
    assert errors["id_expiry"] == ["document has expired"]


def test_resident_id_may_be_valid_for_life(rng):
    validate_identity(resident(rng, born=dt.date(1960, 1, 2), id_expiry=None), today=TODAY)


@pytest.mark.parametrize(
    "id_type",
    [t for t, d in DOCUMENT_TYPES.items() if d.expiry == "required"],
)
def test_expiry_is_required_where_the_document_has_one(rng, id_type):
    data = (
        synthetic_identity(rng=rng, id_type=id_type, today=TODAY)
        if id_type not in ("hk_macao_travel_permit", "taiwan_travel_permit", "cn_passport")
        else replace(synthetic_identity(rng=rng, id_type=id_type, today=TODAY))
    )
    errors = errors_of(replace(data, id_expiry=None))
    assert errors["id_expiry"] == ["expiry date is required for this document"]


def test_holder_under_the_minimum_age_is_refused(rng):
    data = resident(rng, born=dt.date(2012, 1, 1), region="110105")
    assert errors_of(data)["date_of_birth"] == ["holder is under the minimum age of 16"]
    validate_identity(data, today=TODAY, min_age=14)


def test_all_errors_are_reported_at_once(rng):
    data = resident(rng, sex="F")
    errors = errors_of(
        replace(
            data,
            sex="M",
            date_of_birth=dt.date(1991, 1, 1),
            name=" ",
            id_expiry=dt.date(2020, 1, 1),
        )
    )
    assert set(errors) == {"sex", "date_of_birth", "name", "id_expiry"}


@pytest.mark.parametrize(
    "id_type",
    [
        "cn_resident_id",
        "hmt_residence_permit",
        "hk_macao_travel_permit",
        "taiwan_travel_permit",
        "cn_passport",
        "foreign_passport",
        "foreign_permanent_residence",
    ],
)
def test_every_document_type_accepts_a_synthetic_identity(rng, id_type):
    for _ in range(20):
        validate_identity(synthetic_identity(rng=rng, id_type=id_type, today=TODAY), today=TODAY)


def test_residence_permit_needs_an_hmt_prefix(rng):
    born = dt.date(1990, 1, 1)
    number = synthetic_gb11643(prefix6="110105", birth_date=born, sex="M", rng=rng)
    data = IdentityData("hmt_residence_permit", number, "测试", born, "M", dt.date(2030, 1, 1))
    assert "must start with" in errors_of(data)["id_number"][0]


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("hk_macao_travel_permit", "X12345678"),
        ("taiwan_travel_permit", "1234"),
        ("cn_passport", "A12345678"),
        ("foreign_passport", "AB!"),
    ],
)
def test_malformed_numbers_are_refused(rng, id_type, number):
    data = replace(synthetic_identity(rng=rng, id_type=id_type, today=TODAY), id_number=number)
    assert "id_number" in errors_of(data)


def test_foreign_documents_need_a_real_non_chinese_nationality(rng):
    data = synthetic_identity(rng=rng, id_type="foreign_passport", today=TODAY)
    assert errors_of(replace(data, nationality=None))["nationality"] == [
        "nationality is required for this document"
    ]
    assert "ISO 3166" in errors_of(replace(data, nationality="XXX"))["nationality"][0]
    assert "Chinese" in errors_of(replace(data, nationality="CHN"))["nationality"][0]


def test_old_15_character_permanent_residence_card_is_checked_against_the_holder(rng):
    born = dt.date(1980, 2, 29)
    number = f"USA11{born:%y%m%d}0172"  # 3 letters, province, YYMMDD, sequence, check
    data = IdentityData(
        "foreign_permanent_residence", number, "Alex Testa", born, "M", dt.date(2030, 1, 1), "USA"
    )
    validate_identity(data, today=TODAY)
    assert "nationality" in errors_of(replace(data, nationality="GBR"))
    assert "date_of_birth" in errors_of(replace(data, date_of_birth=dt.date(1980, 3, 1)))


def test_unknown_document_type_is_refused():
    with pytest.raises(IdentityInvalid) as info:
        normalise_document("library_card", "123")
    assert info.value.errors == {"id_type": ["unknown document type"]}


def test_address_is_required_when_asked(rng):
    data = resident(rng)
    assert errors_of(replace(data, address=None), require_address=True)["address"] == [
        "address is required"
    ]


def test_errors_and_reprs_hold_no_personal_data(rng):
    data = resident(rng)
    bad = replace(data, sex="M")
    with pytest.raises(IdentityInvalid) as info:
        validate_identity(bad, today=TODAY)
    for text in (str(info.value), repr(info.value), repr(bad), str(bad)):
        assert data.id_number not in text
        assert data.name not in text
