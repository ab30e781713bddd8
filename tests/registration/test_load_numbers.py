"""The load_numbers management command: ranges and files, idempotent, all or nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from registration.models import LineKind, NumberStatus, PhoneNumber

pytestmark = pytest.mark.django_db


def load(*args: str) -> str:
    out = StringIO()
    call_command("load_numbers", *args, stdout=out)
    return out.getvalue()


def test_load_numbers_from_a_range_prints_counts_and_is_idempotent(alpha):
    spec = "+8613800000000-+8613800000999"
    assert "1000 created, 0 skipped" in load("--operator", "alpha", "--kind", "mobile", spec)
    assert "0 created, 1000 skipped" in load("--operator", "alpha", "--kind", "mobile", spec)
    numbers = PhoneNumber.objects.filter(operator=alpha)
    assert numbers.count() == 1000
    assert set(numbers.values_list("kind", "status").distinct()) == {
        (LineKind.MOBILE, NumberStatus.AVAILABLE)
    }
    assert numbers.order_by("number").first().number == "+8613800000000"
    assert numbers.order_by("number").last().number == "+8613800000999"


def test_load_numbers_from_a_file_accepts_national_format_blank_lines_and_comments(alpha, tmp_path):
    path = tmp_path / "landlines.txt"
    path.write_text("# Beijing block\n010 6234 0000\n\n+861062340001\n01062340002\n")
    assert "3 created, 0 skipped" in load("--operator", "alpha", "--kind", "landline", str(path))
    path.write_text("+861062340001\n+861062340003\n")
    assert "1 created, 1 skipped" in load("--operator", "alpha", "--kind", "landline", str(path))
    assert PhoneNumber.objects.filter(operator=alpha, kind=LineKind.LANDLINE).count() == 4


def test_load_numbers_refuses_a_file_with_an_invalid_number_naming_its_line(alpha, tmp_path):
    path = tmp_path / "numbers.txt"
    path.write_text("+8613800000000\n+8613800000001\n\n+8613800000\n+8613800000003\n")
    with pytest.raises(
        CommandError,
        match=r"numbers\.txt, line 4 \('\+8613800000'\) is refused: not a valid number",
    ):
        load("--operator", "alpha", "--kind", "mobile", str(path))
    assert not PhoneNumber.objects.exists()


def test_load_numbers_refuses_landline_numbers_loaded_as_mobile(alpha):
    with pytest.raises(CommandError, match="not a mobile number"):
        load("--operator", "alpha", "--kind", "mobile", "+861062340000-+861062340009")
    assert not PhoneNumber.objects.exists()


def test_load_numbers_refuses_a_range_over_one_million(alpha):
    with pytest.raises(CommandError, match="1,000,000"):
        load("--operator", "alpha", "--kind", "mobile", "+8613800000000-+8613801000000")


def test_load_numbers_refuses_ranges_with_ends_written_differently(alpha):
    with pytest.raises(CommandError, match="written alike"):
        load("--operator", "alpha", "--kind", "mobile", "+8613800000000-+86138000099")


def test_load_numbers_refuses_an_unknown_operator(db):
    with pytest.raises(CommandError, match="No operator with code 'gamma'"):
        load("--operator", "gamma", "--kind", "mobile", "+8613800000000-+8613800000009")


def test_load_numbers_refuses_a_source_that_is_neither_file_nor_range(alpha, tmp_path):
    with pytest.raises(CommandError, match="neither a readable file nor a range"):
        load("--operator", "alpha", "--kind", "mobile", str(tmp_path / "missing.txt"))


def test_load_numbers_refuses_an_unknown_kind(alpha):
    with pytest.raises(CommandError, match="invalid choice"):
        load("--operator", "alpha", "--kind", "satellite", "+8613800000000-+8613800000009")
