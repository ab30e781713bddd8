"""Telephone numbers grouped for reading (issue 12): national format at home,
international abroad, masks kept, anything else unchanged."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from identity.masking import mask_phone
from identity.phone_format import phone_for_reading


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("+8613800138000", "138 0013 8000"),
        ("+8613912345678", "139 1234 5678"),
        ("13800138000", "138 0013 8000"),
    ],
)
def test_a_mobile_number_is_grouped_three_four_four(stored, read):
    assert phone_for_reading(stored) == read


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("+861062345678", "010-6234 5678"),
        ("+862112345678", "021-1234 5678"),
        ("+8675512345678", "0755-1234 5678"),
    ],
)
def test_a_landline_shows_its_area_code_with_a_hyphen(stored, read):
    assert phone_for_reading(stored) == read


def test_a_number_of_another_country_keeps_its_country_code():
    assert phone_for_reading("+442079460958") == "+44 20 7946 0958"
    assert phone_for_reading("+14155552671") == "+1 415-555-2671"


def test_the_home_region_decides_what_is_national(settings):
    settings.TELEREG_PHONE_HOME_REGION = "GB"
    assert phone_for_reading("+442079460958") == "020 7946 0958"
    assert phone_for_reading("+8613800138000") == "+86 138 0013 8000"
    assert phone_for_reading("+8613800138000", home_region="cn") == "138 0013 8000"


@pytest.mark.parametrize(
    "value",
    [
        "hello",
        "+86123",
        "+8613800138000x",
        "+86 138 0013 8000; DROP",
        "<b>+8613800138000</b>",
        "+8613800\x00138000",
        "1" * 200,
        "****",
        "+86****",
        "",
        "   ",
    ],
)
def test_what_is_not_a_telephone_number_is_returned_unchanged(value):
    assert phone_for_reading(value) == value


def test_nothing_gives_an_empty_text():
    assert phone_for_reading(None) == ""


@pytest.mark.parametrize(
    ("clear", "read"),
    [
        ("+8613800138000", "138 **** 8000"),
        ("+861062345678", "010-6*** *678"),
        ("+8675512345678", "0755-**** 5678"),
        ("+442079460958", "+44 20 7*** *958"),
    ],
)
def test_a_masked_number_keeps_its_mask_and_is_grouped_like_the_clear_one(clear, read):
    masked = mask_phone(clear)
    grouped = phone_for_reading(masked)
    assert grouped == read
    # Grouping only adds separators: the same characters, in the same order.
    assert grouped.replace(" ", "").replace("-", "") in masked.replace("+86", "0")


def test_a_masked_number_never_shows_a_digit_that_was_masked():
    clear = "+8613812345678"
    grouped = phone_for_reading(mask_phone(clear))
    assert grouped == "138 **** 5678"
    assert "1234" not in grouped


def test_the_filter_is_there_without_load_and_escapes_what_it_returns():
    rendered = Template("{{ a|phone }}|{{ b|phone }}|{{ c|phone }}").render(
        Context({"a": "+8613800138000", "b": "+86138****8000", "c": "<script>"})
    )
    assert rendered == "138 0013 8000|138 **** 8000|&lt;script&gt;"
