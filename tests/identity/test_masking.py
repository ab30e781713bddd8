"""Display masking of personal data (identity.masking). No Django."""

from __future__ import annotations

import datetime as dt

import pytest

from identity.masking import mask_address, mask_date, mask_id_number, mask_name, mask_phone

ALL_MASKERS = [mask_name, mask_id_number, mask_address, mask_phone, mask_date]


@pytest.mark.parametrize("masker", ALL_MASKERS)
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_every_masker_turns_missing_values_into_empty_string(masker, empty):
    assert masker(empty) == ""


# --- Names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("Ann Lee", "A******"),
        ("  Ann Lee  ", "A******"),
        ("欧阳娜娜", "欧***"),
    ],
)
def test_name_shows_first_character_and_one_star_per_other_character(name, masked):
    assert mask_name(name) == masked


def test_one_character_name_is_fully_masked():
    assert mask_name("张") == "*"


def test_masked_name_hides_word_boundaries():
    assert " " not in mask_name("Maria de la Cruz")


# --- Document numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110101199003071234", "1101**********1234"),
        ("11010119900307123X", "1101**********123X"),
        ("E12345678", "E1*****78"),
        ("12345678", "12****78"),
        ("1234567", "1*****7"),
        ("12345", "1***5"),
        ("1234", "****"),
        ("12", "**"),
        ("1", "*"),
        (" 1101 0119 ", "11****19"),
    ],
)
def test_id_number_shows_at_most_four_at_each_end(number, masked):
    assert mask_id_number(number) == masked


@pytest.mark.parametrize("length", range(1, 30))
def test_id_number_never_shows_more_than_half_and_keeps_length(length):
    number = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123"[:length]
    masked = mask_id_number(number)
    assert len(masked) == length
    visible = sum(1 for ch in masked if ch != "*")
    assert visible * 2 <= length
    assert visible <= 8


# --- Phone numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613800138000", "+86138****8000"),
        ("+86 138-0013-8000", "+86138****8000"),
        ("13800138000", "138****8000"),
        ("+14155552671", "+1415****671"),
        ("+442071838750", "+44207****750"),
        ("+254712345678", "+25471****678"),
        ("+1234", "+1***"),
    ],
)
def test_phone_shows_country_code_first_three_and_last_four_at_most(phone, masked):
    assert mask_phone(phone) == masked


def test_phone_that_is_not_a_number_reveals_nothing():
    assert mask_phone("call me maybe") == "***"


@pytest.mark.parametrize("national", ["12345", "1234567", "1234567890", "123456789012"])
def test_phone_always_masks_at_least_four_digits(national):
    assert mask_phone("+86" + national).count("*") >= 4


# --- Dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (dt.date(1990, 5, 17), "1990-**-**"),
        ("1990-05-17", "1990-**-**"),
        (dt.datetime(1990, 5, 17, 8, 30, tzinfo=dt.UTC), "1990-**-**"),
        ("17/05/1990", "****-**-**"),
    ],
)
def test_date_shows_the_year_only(value, masked):
    assert mask_date(value) == masked


# --- Addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("北京市朝阳区建国路88号", "北京市朝阳区***"),
        ("广东省深圳市南山区科技园路1号", "广东省深圳市南山区***"),
        ("上海市浦东新区世纪大道100号", "上海市浦东新区***"),
        ("江苏省苏州市昆山市玉山镇人民路5号", "江苏省苏州市昆山市***"),
        ("内蒙古自治区呼和浩特市新城区中山路", "内蒙古自治区呼和浩特市新城区***"),
        ("四川省阿坝藏族羌族自治州汶川县映秀镇", "四川省阿坝藏族羌族自治州汶川县***"),
        ("深圳市福田区福华路1号", "深圳市福田区***"),
        ("北京市 朝阳区 建国路88号", "北京市朝阳区***"),
    ],
)
def test_chinese_address_keeps_up_to_the_district(address, masked):
    assert mask_address(address) == masked


def test_chinese_address_without_a_district_is_fully_masked():
    assert mask_address("建国路88号") == "***"


def test_chinese_district_that_looks_like_a_street_falls_back_to_coarser_level():
    # 市中区 starts with 市: the mask keeps the city rather than guess further.
    assert mask_address("山东省济南市市中区经四路") == "山东省济南市***"


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("1600 Amphitheatre Parkway, Mountain View, CA 94043, USA", "***, Mountain View, CA, USA"),
        ("Flat 3, 10 Downing St, Westminster, London SW1A 2AA, UK", "***, Westminster, London, UK"),
        (
            "12 Rizal Ave, Barangay 5, Makati City, Metro Manila 1200",
            "***, Barangay, Makati City, Metro Manila",
        ),
        ("Baker Street, London", "***, London"),
    ],
)
def test_latin_address_keeps_locality_components_and_drops_street_and_postcode(address, masked):
    assert mask_address(address) == masked


@pytest.mark.parametrize("address", ["221B Baker Street", "Rose Cottage", "12, 34"])
def test_latin_address_without_a_district_is_fully_masked(address):
    assert mask_address(address) == "***"


@pytest.mark.parametrize(
    "address",
    [
        "北京市朝阳区建国路88号",
        "1600 Amphitheatre Parkway, Mountain View, CA 94043, USA",
        "Flat 3, 10 Downing St, Westminster, London SW1A 2AA, UK",
    ],
)
def test_masked_address_never_contains_house_number_or_street(address):
    masked = mask_address(address)
    for secret in ("88", "建国路", "1600", "Amphitheatre", "94043", "Downing", "SW1A", "2AA"):
        assert secret not in masked
