"""Inventory services: loading numbers, quarantine and release, and the demo seed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from registration.demo import DEMO_INVENTORY
from registration.inventory import (
    InventoryLoadRefused,
    number_load,
    number_quarantine,
    number_range,
    number_release,
)
from registration.models import (
    Line,
    LineKind,
    NumberStatus,
    PhoneNumber,
    Service,
    Transaction,
    TransactionKind,
    TransactionState,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers_in_every_state(alpha, make_staff):
    """Four alpha mobile numbers: available, reserved, assigned, quarantined."""
    clerk = make_staff(alpha)
    tx = Transaction.objects.create(
        reference="ALPHA-TEST-1",
        kind=TransactionKind.MOBILE_OPEN,
        state=TransactionState.PENDING_VERIFICATION,
        operator=alpha,
        store=clerk.store,
        staff=clerk.user,
        line_kind=LineKind.MOBILE,
    )
    rows = {
        NumberStatus.AVAILABLE: {},
        NumberStatus.RESERVED: {"reserved_for": tx},
        NumberStatus.ASSIGNED: {},
        NumberStatus.QUARANTINED: {"quarantined_until": timezone.now() + dt.timedelta(days=3)},
    }
    return {
        status: PhoneNumber.objects.create(
            operator=alpha,
            number=f"+861380000000{n}",
            kind=LineKind.MOBILE,
            status=status,
            **extra,
        )
        for n, (status, extra) in enumerate(rows.items())
    }


def _statuses(numbers: dict) -> dict:
    return {
        key: PhoneNumber.objects.values_list("status", flat=True).get(pk=number.pk)
        for key, number in numbers.items()
    }


def test_number_range_is_inclusive_and_keeps_leading_zeros():
    assert number_range("+8613800000098-+8613800000101") == [
        "+8613800000098",
        "+8613800000099",
        "+8613800000100",
        "+8613800000101",
    ]
    assert number_range("01062340009-01062340010") == ["01062340009", "01062340010"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("+8613800000000-+861380000999", "written alike"),
        ("+8613800000000-8613800000009", "written alike"),
        ("+8613800000009-+8613800000000", "backwards"),
        ("+8613800000000-+8613801000000", "1,000,000"),
        ("13800000000", "not a range"),
    ],
)
def test_number_range_refuses_malformed_backwards_and_oversized_ranges(spec, says):
    with pytest.raises(InventoryLoadRefused, match=says):
        number_range(spec)


def test_number_load_creates_available_numbers_and_skips_them_on_a_second_load(alpha):
    numbers = number_range("+8613800000000-+8613800000099")
    assert number_load(operator=alpha, kind=LineKind.MOBILE, numbers=numbers) == (100, 0)
    assert number_load(operator=alpha, kind=LineKind.MOBILE, numbers=numbers) == (0, 100)
    assert (
        PhoneNumber.objects.filter(
            operator=alpha, kind=LineKind.MOBILE, status=NumberStatus.AVAILABLE
        ).count()
        == 100
    )


def test_number_load_normalises_national_numbers_and_skips_repeats(alpha):
    created, skipped = number_load(
        operator=alpha,
        kind=LineKind.LANDLINE,
        numbers=["010 6234 0000", "+861062340000", "", "# a comment", "(010) 62340001"],
    )
    assert (created, skipped) == (2, 1)
    assert sorted(PhoneNumber.objects.values_list("number", flat=True)) == [
        "+861062340000",
        "+861062340001",
    ]


def test_number_load_refuses_the_whole_load_naming_the_first_invalid_entry(alpha):
    with pytest.raises(InventoryLoadRefused) as refused:
        number_load(
            operator=alpha,
            kind=LineKind.MOBILE,
            numbers=["+8613800000000", "", "+86123", "not a number"],
        )
    assert refused.value.position == 3
    assert "Entry 3 ('+86123')" in refused.value.message
    assert not PhoneNumber.objects.exists()


def test_number_load_refuses_numbers_of_the_other_kind(alpha):
    with pytest.raises(InventoryLoadRefused, match="not a mobile number"):
        number_load(
            operator=alpha, kind=LineKind.MOBILE, numbers=["+8613800000000", "+861062340000"]
        )
    assert not PhoneNumber.objects.exists()


def test_number_load_refuses_another_operators_number_and_loads_nothing(alpha, beta):
    number_load(operator=beta, kind=LineKind.MOBILE, numbers=["+8613900000005"])
    with pytest.raises(InventoryLoadRefused, match="another operator's inventory"):
        number_load(
            operator=alpha,
            kind=LineKind.MOBILE,
            numbers=number_range("+8613900000000-+8613900000009"),
        )
    assert not PhoneNumber.objects.filter(operator=alpha).exists()


def test_number_load_refuses_a_number_of_another_country(alpha):
    with pytest.raises(InventoryLoadRefused, match="not a number of CN"):
        number_load(operator=alpha, kind=LineKind.MOBILE, numbers=["+14155550123"])


def test_quarantine_takes_only_available_numbers_and_reports_the_rest_skipped(
    numbers_in_every_state,
):
    before = timezone.now()
    changed, skipped = number_quarantine(numbers=PhoneNumber.objects.all(), days=90)
    assert (changed, skipped) == (1, 3)
    assert _statuses(numbers_in_every_state) == {
        NumberStatus.AVAILABLE: NumberStatus.QUARANTINED,
        NumberStatus.RESERVED: NumberStatus.RESERVED,
        NumberStatus.ASSIGNED: NumberStatus.ASSIGNED,
        NumberStatus.QUARANTINED: NumberStatus.QUARANTINED,
    }
    rested = PhoneNumber.objects.get(pk=numbers_in_every_state[NumberStatus.AVAILABLE].pk)
    assert rested.quarantined_until >= before + dt.timedelta(days=90)
    reserved = PhoneNumber.objects.get(pk=numbers_in_every_state[NumberStatus.RESERVED].pk)
    assert reserved.reserved_for is not None


def test_release_makes_only_quarantined_numbers_available(numbers_in_every_state):
    changed, skipped = number_release(numbers=PhoneNumber.objects.all())
    assert (changed, skipped) == (1, 3)
    assert _statuses(numbers_in_every_state) == {
        NumberStatus.AVAILABLE: NumberStatus.AVAILABLE,
        NumberStatus.RESERVED: NumberStatus.RESERVED,
        NumberStatus.ASSIGNED: NumberStatus.ASSIGNED,
        NumberStatus.QUARANTINED: NumberStatus.AVAILABLE,
    }
    released = PhoneNumber.objects.get(pk=numbers_in_every_state[NumberStatus.QUARANTINED].pk)
    assert released.quarantined_until is None


def test_quarantine_needs_at_least_one_day(numbers_in_every_state):
    with pytest.raises(ValueError, match="at least one day"):
        number_quarantine(numbers=PhoneNumber.objects.all(), days=0)


def test_demo_ranges_are_disjoint_and_valid_for_their_kind():
    seen: set[str] = set()
    for ranges in DEMO_INVENTORY.values():
        for spec in ranges.values():
            numbers = set(number_range(spec))
            assert not numbers & seen
            seen |= numbers
    assert len(seen) == 2 * (10_000 + 2_000)


def test_seed_demo_twice_gives_each_operator_its_inventory_and_catalog_once(settings):
    settings.TELEREG_DEMO_PASSWORD = "demo-pass-for-tests"  # noqa: S105
    call_command("seed_demo")
    call_command("seed_demo")
    for code in ("alpha", "beta"):
        numbers = PhoneNumber.objects.filter(operator__code=code)
        assert numbers.filter(kind=LineKind.MOBILE).count() == 10_000
        assert numbers.filter(kind=LineKind.LANDLINE).count() == 2_000
        # The demo lines hold 300 mobile and 40 fixed numbers; every other one is free.
        assigned = numbers.filter(status=NumberStatus.ASSIGNED).count()
        assert assigned == Line.objects.filter(operator__code=code).count() == 300 + 40
        assert numbers.filter(status=NumberStatus.AVAILABLE).count() == 12_000 - assigned
        services = dict(
            Service.objects.filter(operator__code=code).values_list("code", "line_kinds")
        )
        assert services == {
            "intl_roaming": ["mobile"],
            "call_forwarding": ["mobile", "landline"],
            "data_pack": ["mobile"],
        }
    assert PhoneNumber.objects.count() == 24_000
