"""seed_demo's cast (issue 12, "Demo and first run"): each operator has
landlines and mobile lines; newcomers who hold nothing, one citizen at 4 of
5 mobile lines, one whose authority check gets no answer, and the CSV says
which is which. Tried through the counter's own service, as a clerk would."""

from __future__ import annotations

import csv
import hashlib
import re

import pytest
from django.core.management import call_command

from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.demo import DemoRole, demo_citizens
from identity.models import Person
from identity.services import ConsentInput
from operators.models import Operator, StaffMember
from registration.errors import CapReached
from registration.models import Line, LineKind, LineStatus, Transaction, TransactionState
from registration.services import TransactionRequest, transaction_submit

pytestmark = pytest.mark.django_db

COUNTS = (Line, Person, Transaction)


@pytest.fixture
def seeded(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.TELEREG_DEMO_PASSWORD = "demo-pass-for-tests"  # noqa: S105
    call_command("seed_demo")
    return tmp_path


def _citizens_csv(var) -> list[dict[str, str]]:
    with (var / "demo-citizens.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _by_role(role: DemoRole):
    return [c.identity for c in demo_citizens() if c.role is role]


def _open_mobile(identity, *, code: str = "alpha") -> Transaction:
    clerk = StaffMember.objects.get(user__username=f"{code}-clerk")
    notice = identity_services.current_notices(clerk.operator)[0]
    return transaction_submit(
        actor=clerk.user,
        request=TransactionRequest(
            kind="mobile_open",
            applicant=identity,
            consent=ConsentInput(notice.content_hash, True),
        ),
    )


def _held(identity, code: str, kind: str) -> int:
    return Line.objects.filter(
        operator__code=code,
        kind=kind,
        holder__doc_index=identity_selectors.document_index(
            id_type=identity.id_type, id_number=identity.id_number
        ),
    ).count()


def test_seed_demo_gives_each_operator_both_kinds_of_line_writes_the_cast_and_adds_nothing_twice(
    seeded,
):
    for operator in Operator.objects.filter(code__in=["alpha", "beta"]):
        lines = Line.objects.filter(operator=operator, status=LineStatus.ACTIVE)
        assert lines.filter(kind=LineKind.MOBILE).count() == 300
        assert lines.filter(kind=LineKind.LANDLINE).count() == 40
        assert not lines.filter(kind=LineKind.LANDLINE, installation_address_enc=None).exists()
        with (seeded / f"demo-lines-{operator.code}.csv").open(encoding="utf-8") as handle:
            kinds = [row["kind"] for row in csv.DictReader(handle)]
        assert kinds.count("mobile") == 300
        assert kinds.count("landline") == 40
        # Its subscriber pages carry its own name and colour, not the product's.
        assert operator.display_name_zh
        assert operator.display_name_en
        assert re.fullmatch(r"#[0-9a-f]{6}", operator.brand_colour)

    rows = _citizens_csv(seeded)
    roles = [row["role"] for row in rows]
    assert set(roles) == set(DemoRole)
    assert roles.count("no_line") >= 3
    assert roles.count("four_of_five") == 1
    assert roles.count("authority_unavailable") == 1
    (unreachable,) = [row for row in rows if row["role"] == "authority_unavailable"]
    assert unreachable["status"] == "unavailable"
    assert {row["status"] for row in rows if row["role"] == "revoked"} == {"revoked"}

    # A second run adds nothing and writes the same files.
    before = {model: model.objects.count() for model in COUNTS}
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in seeded.glob("demo-*.csv")}
    call_command("seed_demo")
    assert {model: model.objects.count() for model in COUNTS} == before
    again = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in seeded.glob("demo-*.csv")}
    assert again == files


def test_each_role_shows_at_the_counter_what_the_csv_says(seeded):
    # Newcomers hold nothing at either operator and open a line at once.
    newcomers = _by_role(DemoRole.NO_LINE)
    for identity in newcomers:
        for code in ("alpha", "beta"):
            assert _held(identity, code, LineKind.MOBILE) == 0
            assert _held(identity, code, LineKind.LANDLINE) == 0
    assert _open_mobile(newcomers[0]).state == TransactionState.COMPLETED

    # Four of five: the fifth opens, the sixth is refused at the cap.
    (four,) = _by_role(DemoRole.FOUR_OF_FIVE)
    assert _held(four, "alpha", LineKind.MOBILE) == 4
    assert _held(four, "beta", LineKind.MOBILE) == 4
    assert _open_mobile(four).state == TransactionState.COMPLETED
    with pytest.raises(CapReached):
        _open_mobile(four)
    assert _held(four, "alpha", LineKind.MOBILE) == 5

    # The unreachable citizen's opening waits for the authority, with no line.
    (unreachable,) = _by_role(DemoRole.AUTHORITY_UNAVAILABLE)
    tx = _open_mobile(unreachable)
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert tx.line is None
    assert _held(unreachable, "alpha", LineKind.MOBILE) == 0
