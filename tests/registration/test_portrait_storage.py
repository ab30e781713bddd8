"""Where portraits live: the registry CSV's ``portrait`` column loads
reference portraits for the simulated matcher, and a pg_dump of the whole
database finds no image bytes in clear (raw, hex or base64)."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from identity import portraits, services
from identity.models import CitizenRecord
from identity.synthetic_portraits import live_variant, synthetic_portrait
from registration.models import Transaction
from tests.registration.conftest import api_block


def _csv(tmp_path, identity, portrait_path: str) -> str:
    path = tmp_path / "citizens.csv"
    path.write_text(
        "id_type,id_number,name,date_of_birth,sex,status,portrait\n"
        f"{identity.id_type},{identity.id_number},{identity.name},"
        f"{identity.date_of_birth.isoformat()},{identity.sex},valid,{portrait_path}\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.django_db
def test_the_registry_loads_a_reference_portrait_beside_the_csv(tmp_path, make_identity):
    identity = make_identity()
    (tmp_path / "portraits").mkdir()
    (tmp_path / "portraits" / "c1.png").write_bytes(synthetic_portrait(identity.id_number))
    call_command("load_authority_registry", _csv(tmp_path, identity, "portraits/c1.png"))
    record = CitizenRecord.objects.get()
    assert record.portrait_enc is not None
    reference = services.citizen_portrait(identity)
    assert portraits.average_hash(reference) == portraits.average_hash(
        synthetic_portrait(identity.id_number)
    )
    result = portraits.SimulatedMatcher().compare(
        identity, portraits.image_clean(live_variant(identity.id_number))
    )
    assert result.score >= 0.9


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["missing.png", "not-an-image.png"])
def test_a_bad_portrait_stops_the_load(tmp_path, make_identity, name):
    (tmp_path / "not-an-image.png").write_text("hello")
    with pytest.raises(CommandError, match="Line 2"):
        call_command("load_authority_registry", _csv(tmp_path, make_identity(), name))
    assert not CitizenRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_pg_dump_finds_no_image_bytes_in_clear(
    alpha_clerk, api_client_for, consent, make_identity, inventory, tmp_path
):
    identity = make_identity()
    reference = portraits.image_clean(synthetic_portrait(identity.id_number))
    services.authority_registry_load(
        [
            services.CitizenRow(
                id_type=identity.id_type,
                id_number=identity.id_number,
                name=identity.name,
                date_of_birth=identity.date_of_birth,
                sex=identity.sex,
                revoked=False,
                portrait=reference,
            )
        ]
    )
    sent = live_variant(identity.id_number)
    stored = portraits.image_clean(sent)
    body = {
        "kind": "mobile_open",
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
        "portrait": {"image": base64.b64encode(sent).decode(), "liveness": "not_checked"},
    }
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert response.status_code == 202, response.json()
    assert Transaction.objects.get().portrait_id is not None
    db = connection.settings_dict
    out = tmp_path / "dump.sql"
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    subprocess.run(  # noqa: S603 - fixed arguments, the test database
        [
            "pg_dump",
            "--data-only",
            "-h",
            db.get("HOST") or "127.0.0.1",
            "-p",
            str(db.get("PORT") or 5432),
            "-U",
            db.get("USER") or "postgres",
            "-f",
            str(out),
            db["NAME"],
        ],
        check=True,
        env=env,
    )
    dump = out.read_bytes()
    assert b"identity_portrait" in dump  # the table was dumped
    for image in (sent, stored, reference):
        for start in (200, len(image) // 2):
            piece = image[start : start + 48]
            assert piece not in dump
            assert piece.hex().encode() not in dump
            assert base64.b64encode(image[start - start % 3 :][:48]) not in dump
