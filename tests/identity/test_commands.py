from __future__ import annotations

import csv

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from identity.authority_simulated import SimulatedBackend
from identity.models import CitizenRecord

pytestmark = pytest.mark.django_db


def _write(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_type", "id_number", "name", "date_of_birth", "sex", "status"])
        writer.writerows(rows)


def _row(identity, status="valid"):
    return [
        identity.id_type,
        identity.id_number,
        identity.name,
        identity.date_of_birth.isoformat(),
        identity.sex,
        status,
    ]


def test_load_authority_registry_loads_valid_and_revoked_and_is_idempotent(tmp_path, make_identity):
    good, revoked = make_identity(), make_identity()
    path = tmp_path / "citizens.csv"
    _write(path, [_row(good), _row(revoked, "revoked")])
    call_command("load_authority_registry", str(path))
    call_command("load_authority_registry", str(path))
    assert CitizenRecord.objects.count() == 2
    backend = SimulatedBackend()
    assert backend.verify(good).outcome == "match"
    assert backend.verify(revoked).outcome == "revoked"


def test_bad_row_loads_nothing_and_names_the_line_not_the_data(tmp_path, make_identity):
    good = make_identity()
    path = tmp_path / "citizens.csv"
    _write(path, [_row(good), [*_row(make_identity())[:5], "maybe"]])
    with pytest.raises(CommandError) as info:
        call_command("load_authority_registry", str(path))
    assert "Line 3" in str(info.value)
    assert good.name not in str(info.value)
    assert CitizenRecord.objects.count() == 0


def test_wrong_header_is_refused(tmp_path):
    path = tmp_path / "citizens.csv"
    path.write_text("number,name\n1,2\n")
    with pytest.raises(CommandError, match="header"):
        call_command("load_authority_registry", str(path))


def test_a_citizen_loaded_as_unavailable_gets_no_answer_from_the_simulated_authority(
    tmp_path, make_identity
):
    unreachable, good = make_identity(), make_identity()
    path = tmp_path / "citizens.csv"
    _write(path, [_row(unreachable, "unavailable"), _row(good)])
    call_command("load_authority_registry", str(path))
    backend = SimulatedBackend()
    result = backend.verify(unreachable)
    assert result.outcome == "unavailable"
    assert not result.is_definitive
    assert result.reference.startswith("LOCAL-")
    assert backend.verify(good).outcome == "match"
    # Loaded again as valid, the same citizen is answered again.
    _write(path, [_row(unreachable)])
    call_command("load_authority_registry", str(path))
    assert backend.verify(unreachable).outcome == "match"
