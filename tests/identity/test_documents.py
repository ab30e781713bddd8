"""The identity document rules, one behaviour per test, on synthetic numbers only.

Pure Python: no database, no Django settings needed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest
from stdnum.cn import ric

from identity.documents import (
    DOCUMENT_TYPES,
    ID_TYPE_CHOICES,
    IdentityInvalid,
    document_type,
    gb11643_check_digit,
    normalise_document,
    validate_identity,
)
from identity.synthetic import (
    synthetic_gb11643,
    synthetic_identity,
    synthetic_permanent_residence_id,
    synthetic_resident_id,
)
from identity.types import IdentityData

TODAY = dt.date(2026, 11, 28)
ALL_TYPES = [
    "cn_resident_id",
    "hmt_residence_permit",
    "hk_macao_travel_permit",
    "taiwan_travel_permit",
    "cn_passport",
    "foreign_passport",
    "foreign_permanent_residence",
]


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11643)


def resident(
    rng: random.Random,
    *,
    born: dt.date = dt.date(1990, 3, 7),
    sex: str = "F",
    region: str = "110105",
    **fields: object,
) -> IdentityData:
    """A valid synthetic resident-ID identity; ``fields`` override the block."""
    data = IdentityData(
        id_type="cn_resident_id",
        id_number=synthetic_resident_id(birth_date=born, sex=sex, region=region, rng=rng),
        name="测试人",
        date_of_birth=born,
        sex=sex,
        id_expiry=dt.date(2035, 6, 30),
        nationality="CHN",
        address="北京市朝阳区样例路1号",
    )
    return replace(data, **fields)


def of_type(rng: random.Random, id_type: str, **fields: object) -> IdentityData:
    return replace(synthetic_identity(rng=rng, id_type=id_type, today=TODAY), **fields)


def errors_of(data: IdentityData, **options: object) -> dict[str, list[str]]:
    with pytest.raises(IdentityInvalid) as info:
        validate_identity(data, today=TODAY, **options)
    return info.value.errors


def with_check_digit_x(rng: random.Random, born: dt.date, sex: str) -> str:
    """A synthetic resident ID whose check character is X."""
    while True:
        number = synthetic_resident_id(birth_date=born, sex=sex, rng=rng)
        if number.endswith("X"):
            return number


def wrong_last_character(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


# --- The registry ---------------------------------------------------------------------


def test_registry_holds_the_seven_document_types_in_form_order():
    assert list(DOCUMENT_TYPES) == ALL_TYPES
    assert [code for code, _ in ID_TYPE_CHOICES] == ALL_TYPES
    assert all(label and DOCUMENT_TYPES[code].label_zh for code, label in ID_TYPE_CHOICES)


def test_document_type_returns_the_registered_type():
    assert document_type("cn_passport").label_zh == "中华人民共和国护照"


def test_unknown_document_type_is_refused_by_the_accessor():
    with pytest.raises(IdentityInvalid) as info:
        document_type("library_card")
    assert info.value.errors == {"id_type": ["unknown document type"]}


def test_only_the_resident_id_may_be_valid_for_life():
    assert [code for code, doc in DOCUMENT_TYPES.items() if not doc.has_expiry] == [
        "cn_resident_id"
    ]


def test_only_foreign_documents_require_a_nationality():
    assert {code for code, doc in DOCUMENT_TYPES.items() if doc.requires_nationality} == {
        "foreign_passport",
        "foreign_permanent_residence",
    }


# --- Resident identity card -------------------------------------------------------------


def test_valid_resident_id_is_accepted_and_returned_unchanged(rng):
    data = resident(rng)
    assert validate_identity(data, today=TODAY) == data


def test_resident_id_with_lower_case_x_and_spaces_is_normalised(rng):
    born = dt.date(1991, 8, 15)
    number = with_check_digit_x(rng, born, "M")
    typed = f" {number[:6]} {number[6:14]}  {number[14:-1]}x "
    data = resident(rng, born=born, sex="M", id_number=typed)
    assert validate_identity(data, today=TODAY).id_number == number


def test_resident_id_typed_in_full_width_characters_is_normalised(rng):
    data = resident(rng)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in data.id_number)
    clean = validate_identity(replace(data, id_number=full_width), today=TODAY)
    assert clean.id_number == data.id_number


def test_resident_id_with_wrong_check_digit_is_refused(rng):
    data = resident(rng)
    errors = errors_of(replace(data, id_number=wrong_last_character(data.id_number)))
    assert errors == {"id_number": ["check digit does not match"]}


@pytest.mark.parametrize("number", ["11010519900307", "1101051990030712345", "11010519900307ABCD"])
def test_resident_id_of_the_wrong_shape_is_refused(rng, number):
    errors = errors_of(resident(rng, id_number=number))
    assert errors["id_number"] == ["must be 18 characters: 17 digits, then a digit or X"]


def test_resident_id_with_birth_date_differing_from_the_declared_one_is_refused(rng):
    data = resident(rng, born=dt.date(1990, 3, 7))
    errors = errors_of(replace(data, date_of_birth=dt.date(1990, 3, 8)))
    assert errors == {"date_of_birth": ["birth date differs from the ID number"]}


def test_resident_id_whose_birth_date_is_not_a_real_date_is_refused(rng):
    first17 = "110105" + "19900230" + "123"
    number = first17 + gb11643_check_digit(first17)
    errors = errors_of(resident(rng, id_number=number))
    assert errors["id_number"] == ["the birth date inside the ID number is not a real date"]


@pytest.mark.parametrize(("on_card", "declared"), [("F", "M"), ("M", "F")])
def test_resident_id_sequence_parity_differing_from_declared_sex_is_refused(rng, on_card, declared):
    data = resident(rng, sex=on_card)
    assert errors_of(replace(data, sex=declared)) == {"sex": ["sex differs from the ID number"]}


@pytest.mark.parametrize("region", ["999999", "119999", "110199"])
def test_resident_id_with_unknown_region_is_refused(rng, region):
    assert errors_of(resident(rng, region=region)) == {"id_number": ["unknown region code"]}


def test_pudong_code_created_in_1992_is_accepted_for_a_holder_born_in_1970(rng):
    data = resident(rng, born=dt.date(1970, 5, 5), region="310115", id_expiry=None)
    assert validate_identity(data, today=TODAY) == data
    # python-stdnum's own validation refuses this genuine case, hence our own region rule.
    assert not ric.is_valid(data.id_number)


def test_chongwen_code_abolished_in_2010_is_accepted_for_a_holder_born_in_1985(rng):
    data = resident(rng, born=dt.date(1985, 5, 5), region="110103")
    assert validate_identity(data, today=TODAY) == data


def test_chongwen_code_is_accepted_for_a_holder_born_in_its_last_year(rng):
    data = resident(rng, born=dt.date(2010, 1, 5), region="110103")
    assert validate_identity(data, today=TODAY) == data


def test_chongwen_code_is_refused_for_a_holder_born_in_2012(rng):
    data = resident(rng, born=dt.date(2012, 5, 5), region="110103")
    errors = errors_of(data, min_age=0)
    assert errors == {"id_number": ["region code was abolished before the holder was born"]}


def test_region_code_reused_after_a_rename_is_accepted_in_both_periods(rng):
    # 120110: Tianjin's 东郊区 until 1991, then 东丽区 from 1992.
    for born in (dt.date(1980, 1, 1), dt.date(2000, 1, 1)):
        validate_identity(resident(rng, born=born, region="120110"), today=TODAY)


def test_residence_permit_number_entered_as_resident_id_is_refused_with_a_hint(rng):
    data = resident(rng, region="810000")
    assert "residence permit" in errors_of(data)["id_number"][0]


def test_resident_id_may_have_no_expiry_because_it_can_be_valid_for_life(rng):
    data = resident(rng, born=dt.date(1960, 1, 2), id_expiry=None)
    assert validate_identity(data, today=TODAY).id_expiry is None


def test_resident_id_holder_with_a_foreign_nationality_is_refused(rng):
    errors = errors_of(resident(rng, nationality="USA"))
    assert errors == {"nationality": ["this document is issued only to nationals of CHN"]}


# --- Residence permit for Hong Kong, Macao and Taiwan residents ------------------------


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_residence_permit_with_an_hmt_prefix_is_accepted(rng, prefix):
    born = dt.date(1990, 1, 1)
    number = synthetic_gb11643(prefix6=prefix, birth_date=born, sex="M", rng=rng)
    data = of_type(rng, "hmt_residence_permit", id_number=number, date_of_birth=born, sex="M")
    assert validate_identity(data, today=TODAY).id_number == number


def test_residence_permit_without_an_hmt_prefix_is_refused(rng):
    born = dt.date(1990, 1, 1)
    number = synthetic_gb11643(prefix6="110105", birth_date=born, sex="M", rng=rng)
    data = of_type(rng, "hmt_residence_permit", id_number=number, date_of_birth=born, sex="M")
    assert errors_of(data) == {"id_number": ["must start with 810000, 820000 or 830000"]}


def test_residence_permit_is_checked_for_check_digit_birth_date_and_sex(rng):
    data = of_type(rng, "hmt_residence_permit")
    bad = replace(
        data,
        id_number=wrong_last_character(data.id_number),
        date_of_birth=data.date_of_birth - dt.timedelta(days=1),
        sex="F" if data.sex == "M" else "M",
    )
    assert errors_of(bad) == {
        "id_number": ["check digit does not match"],
        "date_of_birth": ["birth date differs from the ID number"],
        "sex": ["sex differs from the ID number"],
    }


# --- Travel permits and passports -------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "typed", "normalised"),
    [
        ("hk_macao_travel_permit", "h12345678", "H12345678"),
        ("hk_macao_travel_permit", "M 1234567890", "M1234567890"),
        ("taiwan_travel_permit", "1234 5678", "12345678"),
        ("taiwan_travel_permit", "1234567890", "1234567890"),
        ("taiwan_travel_permit", "1234567890(b)", "1234567890B"),
        ("cn_passport", "e12345678", "E12345678"),
        ("cn_passport", "G12345678", "G12345678"),
        ("cn_passport", "ea1234567", "EA1234567"),
        ("foreign_passport", "x12 345 67", "X1234567"),
        ("foreign_passport", "AB123", "AB123"),
        ("foreign_passport", "A" * 20, "A" * 20),
    ],
)
def test_well_formed_document_numbers_are_accepted_and_normalised(rng, id_type, typed, normalised):
    clean = validate_identity(of_type(rng, id_type, id_number=typed), today=TODAY)
    assert clean.id_number == normalised


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("hk_macao_travel_permit", "X12345678"),
        ("hk_macao_travel_permit", "H1234567"),
        ("hk_macao_travel_permit", "H123456789"),
        ("taiwan_travel_permit", "1234567"),
        ("taiwan_travel_permit", "123456789"),
        ("taiwan_travel_permit", "T1234567"),
        ("cn_passport", "A12345678"),
        ("cn_passport", "E1234567"),
        ("cn_passport", "GA1234567"),
        ("foreign_passport", "AB12"),
        ("foreign_passport", "A" * 21),
        ("foreign_passport", "AB-12345"),
    ],
)
def test_malformed_document_numbers_are_refused(rng, id_type, number):
    errors = errors_of(of_type(rng, id_type, id_number=number))
    assert list(errors) == ["id_number"]


def test_chinese_passport_holder_with_a_foreign_nationality_is_refused(rng):
    errors = errors_of(of_type(rng, "cn_passport", nationality="GBR"))
    assert errors == {"nationality": ["this document is issued only to nationals of CHN"]}


# --- Foreign documents and nationality -------------------------------------------------


@pytest.mark.parametrize("id_type", ["foreign_passport", "foreign_permanent_residence"])
def test_foreign_document_without_nationality_is_refused(rng, id_type):
    errors = errors_of(of_type(rng, id_type, nationality=None))
    assert errors == {"nationality": ["nationality is required for this document"]}


@pytest.mark.parametrize("nationality", ["XXX", "US", "U5A"])
def test_nationality_that_is_not_an_iso_alpha_3_code_is_refused(rng, nationality):
    errors = errors_of(of_type(rng, "foreign_passport", nationality=nationality))
    assert errors == {"nationality": ["nationality is not an ISO 3166-1 alpha-3 country code"]}


def test_foreign_document_of_a_chinese_national_is_refused(rng):
    errors = errors_of(of_type(rng, "foreign_passport", nationality="CHN"))
    assert errors == {
        "nationality": ["a foreign document cannot be held by a Chinese national (CHN)"]
    }


def test_nationality_is_normalised_to_upper_case(rng):
    data = of_type(rng, "foreign_passport", nationality=" jpn ")
    assert validate_identity(data, today=TODAY).nationality == "JPN"


# --- Foreigner's permanent residence ID card ------------------------------------------


def permanent_resident(rng: random.Random, **fields: object) -> IdentityData:
    born = dt.date(1984, 6, 9)
    number = synthetic_permanent_residence_id(
        birth_date=born, sex="F", nationality="CAN", province="31", rng=rng
    )
    data = IdentityData(
        id_type="foreign_permanent_residence",
        id_number=number,
        name="Casey Example",
        date_of_birth=born,
        sex="F",
        id_expiry=dt.date(2031, 1, 31),
        nationality="CAN",
    )
    return replace(data, **fields)


def old_permanent_resident(**fields: object) -> IdentityData:
    born = dt.date(1980, 2, 29)
    data = IdentityData(
        id_type="foreign_permanent_residence",
        # 3 letters, issuing province 11, YYMMDD, then 4 digits (sequence and check).
        id_number=f"USA11{born:%y%m%d}0172",
        name="Alex Testa",
        date_of_birth=born,
        sex="M",
        id_expiry=dt.date(2030, 1, 1),
        nationality="USA",
    )
    return replace(data, **fields)


def test_new_permanent_residence_card_is_accepted(rng):
    data = permanent_resident(rng)
    assert data.id_number.startswith("931124")  # 9, Shanghai, Canada (124)
    assert validate_identity(data, today=TODAY) == data


def test_new_permanent_residence_card_with_wrong_check_digit_is_refused(rng):
    data = permanent_resident(rng)
    errors = errors_of(replace(data, id_number=wrong_last_character(data.id_number)))
    assert errors == {"id_number": ["check digit does not match"]}


def test_new_permanent_residence_card_must_start_with_9(rng):
    data = permanent_resident(rng)
    number = "8" + data.id_number[1:17]
    errors = errors_of(replace(data, id_number=number + gb11643_check_digit(number)))
    assert errors == {"id_number": ["the 18-character form starts with 9"]}


def test_new_permanent_residence_card_of_another_nationality_is_refused(rng):
    errors = errors_of(permanent_resident(rng, nationality="AUS"))
    assert errors == {"nationality": ["nationality differs from the ID number"]}


def test_new_permanent_residence_card_with_unknown_province_is_refused(rng):
    born = dt.date(1984, 6, 9)
    number = synthetic_gb11643(prefix6="999124", birth_date=born, sex="F", rng=rng)
    errors = errors_of(permanent_resident(rng, id_number=number))
    assert errors == {"id_number": ["unknown province code"]}


def test_new_permanent_residence_card_checks_birth_date_and_sex(rng):
    errors = errors_of(permanent_resident(rng, date_of_birth=dt.date(1984, 6, 10), sex="M"))
    assert errors == {
        "date_of_birth": ["birth date differs from the ID number"],
        "sex": ["sex differs from the ID number"],
    }


def test_old_permanent_residence_card_is_accepted():
    data = old_permanent_resident(id_number=" usa11800229 0172 ")
    assert validate_identity(data, today=TODAY).id_number == "USA118002290172"


def test_old_permanent_residence_card_of_another_nationality_is_refused():
    errors = errors_of(old_permanent_resident(nationality="GBR"))
    assert errors == {"nationality": ["nationality differs from the ID number"]}


def test_old_permanent_residence_card_with_another_birth_date_is_refused():
    errors = errors_of(old_permanent_resident(date_of_birth=dt.date(1980, 3, 1)))
    assert errors == {"date_of_birth": ["birth date differs from the ID number"]}


def test_old_permanent_residence_card_with_unknown_letters_is_refused():
    errors = errors_of(old_permanent_resident(id_number="QQQ118002290172"))
    assert errors == {"id_number": ["unknown nationality code in the ID number"]}


@pytest.mark.parametrize("number", ["USA1180022901", "1234567890ABCDE", "US1118002290172"])
def test_permanent_residence_card_of_the_wrong_shape_is_refused(number):
    errors = errors_of(old_permanent_resident(id_number=number))
    assert list(errors) == ["id_number"]


# --- Expiry ---------------------------------------------------------------------------


def test_expired_document_is_refused(rng):
    errors = errors_of(resident(rng, id_expiry=TODAY - dt.timedelta(days=1)))
    assert errors == {"id_expiry": ["document has expired"]}


def test_document_expiring_today_is_still_accepted(rng):
    validate_identity(resident(rng, id_expiry=TODAY), today=TODAY)


@pytest.mark.parametrize("id_type", [t for t in ALL_TYPES if t != "cn_resident_id"])
def test_missing_expiry_is_refused_where_the_document_has_one(rng, id_type):
    errors = errors_of(of_type(rng, id_type, id_expiry=None))
    assert errors == {"id_expiry": ["expiry date is required for this document"]}


# --- Birth date and minimum age ---------------------------------------------------------


def test_holder_under_the_default_minimum_age_of_16_is_refused(rng):
    data = resident(rng, born=dt.date(2011, 1, 1))
    assert errors_of(data) == {"date_of_birth": ["holder is under the minimum age of 16"]}


def test_minimum_age_is_the_operators_setting(rng):
    data = resident(rng, born=dt.date(2011, 1, 1))
    validate_identity(data, today=TODAY, min_age=14)
    assert errors_of(resident(rng, born=dt.date(2009, 1, 1)), min_age=18) == {
        "date_of_birth": ["holder is under the minimum age of 18"]
    }


def test_holder_turning_16_today_is_accepted_and_one_day_younger_is_not(rng):
    validate_identity(resident(rng, born=dt.date(2010, 11, 28)), today=TODAY)
    errors = errors_of(resident(rng, born=dt.date(2010, 11, 29)))
    assert errors == {"date_of_birth": ["holder is under the minimum age of 16"]}


def test_birth_date_in_the_future_is_refused(rng):
    born = TODAY + dt.timedelta(days=1)
    errors = errors_of(resident(rng, born=born, id_expiry=None), min_age=0)
    assert errors == {"date_of_birth": ["birth date is in the future"]}


# --- Name, sex, address ---------------------------------------------------------------


def test_name_is_stripped_and_inner_whitespace_collapsed(rng):
    data = resident(rng, name="  Robin \t  Q.\u3000Sample ")
    assert validate_identity(data, today=TODAY).name == "Robin Q. Sample"


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_missing_name_is_refused(rng, name):
    assert errors_of(resident(rng, name=name)) == {"name": ["name is required"]}


def test_name_of_100_characters_is_accepted_and_101_refused(rng):
    validate_identity(resident(rng, name="名" * 100), today=TODAY)
    assert errors_of(resident(rng, name="名" * 101)) == {
        "name": ["name is longer than 100 characters"]
    }


def test_sex_is_normalised_to_upper_case(rng):
    data = resident(rng, sex="F")
    assert validate_identity(replace(data, sex="f"), today=TODAY).sex == "F"


def test_sex_other_than_m_or_f_is_refused(rng):
    assert errors_of(replace(resident(rng), sex="X")) == {"sex": ["sex must be M or F"]}


def test_address_is_required_when_the_business_needs_one(rng):
    errors = errors_of(resident(rng, address="   "), require_address=True)
    assert errors == {"address": ["address is required"]}
    assert validate_identity(resident(rng, address=None), today=TODAY).address is None


def test_address_whitespace_is_collapsed(rng):
    data = resident(rng, address=" 北京市朝阳区\n样例路  1号 ")
    assert validate_identity(data, today=TODAY).address == "北京市朝阳区 样例路 1号"


# --- All together ---------------------------------------------------------------------


def test_all_errors_are_reported_at_once(rng):
    data = resident(rng, sex="F")
    bad = replace(
        data,
        id_number=wrong_last_character(data.id_number),
        sex="M",
        date_of_birth=dt.date(1991, 1, 1),
        name=" ",
        id_expiry=dt.date(2020, 1, 1),
        nationality="ZZZ",
        address=None,
    )
    errors = errors_of(bad, require_address=True)
    assert errors == {
        "id_number": ["check digit does not match"],
        "name": ["name is required"],
        "date_of_birth": ["birth date differs from the ID number"],
        "sex": ["sex differs from the ID number"],
        "id_expiry": ["document has expired"],
        "nationality": ["nationality is not an ISO 3166-1 alpha-3 country code"],
        "address": ["address is required"],
    }


def test_unknown_document_type_is_reported_with_the_other_errors(rng):
    errors = errors_of(resident(rng, id_type="library_card", name=""))
    assert errors == {"id_type": ["unknown document type"], "name": ["name is required"]}


def test_missing_id_number_is_refused(rng):
    assert errors_of(resident(rng, id_number="  ")) == {"id_number": ["ID number is required"]}


@pytest.mark.parametrize("id_type", ALL_TYPES)
def test_every_document_type_accepts_its_synthetic_identities(rng, id_type):
    for _ in range(25):
        data = synthetic_identity(rng=rng, id_type=id_type, today=TODAY)
        assert validate_identity(data, today=TODAY, require_address=True) == data


# --- normalise_document ---------------------------------------------------------------


def test_normalise_document_gives_the_same_form_however_the_number_is_typed(rng):
    number = with_check_digit_x(rng, dt.date(1975, 2, 3), "F")
    typed = f"{number[:9]} {number[9:-1].lower()}x"
    assert normalise_document("cn_resident_id", typed) == number
    assert normalise_document("taiwan_travel_permit", " 1234567890 (b) ") == "1234567890B"


def test_normalise_document_refuses_an_unknown_type():
    with pytest.raises(IdentityInvalid) as info:
        normalise_document("library_card", "123")
    assert info.value.errors == {"id_type": ["unknown document type"]}


# --- No personal data in errors -------------------------------------------------------


def test_error_text_and_identity_repr_hold_no_personal_data(rng):
    data = resident(rng, name="测试人甲")
    bad = replace(data, sex="M", name=data.name + " " * 200 + "乙")
    with pytest.raises(IdentityInvalid) as info:
        validate_identity(bad, today=TODAY)
    texts = [str(info.value), repr(info.value), repr(bad), str(bad), repr(info.value.args)]
    for text in texts:
        assert data.id_number not in text
        assert data.id_number[:6] + data.id_number[6:14] not in text
        assert "测试人" not in text
        assert data.address not in text
        assert "1990" not in text
