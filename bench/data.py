"""The benchmark's data: its own PostgreSQL database, persons and lines loaded
with COPY (never through the API, which is what is measured), an inventory of
free numbers, store clerks with API tokens, and fresh synthetic citizens known
to the simulated authority for the registration load.

Every identity is synthetic (``identity.synthetic``) and passes the checksums;
the files handed to the load generator live in a temporary directory that the
run deletes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import asdict
from pathlib import Path

REG_STORES = 16  # one clerk per load-generator client, each at their own store
BULK_STORE = "bulk"  # the store of the COPY-loaded lines (campaign criteria select it)


def recreate_database(pg: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(pg: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _copy(model, columns: list[str], rows) -> int:
    """COPY rows (tuples in ``columns`` order) into a model's table."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _identity_block(identity) -> dict:
    block = asdict(identity)
    for key, value in block.items():
        if isinstance(value, dt.date):
            block[key] = value.isoformat()
    return block


def operator_setup(workdir: Path) -> dict:
    """One operator, its published notice, the bulk store and 16 store clerks
    with tokens (written to ``workdir/tokens.json``)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from identity import services as identity_services
    from operators import selectors as operator_selectors
    from operators import services as operator_services
    from operators.models import Operator, StaffMember, Store
    from operators.roles import Role
    from registration.models import LineKind, Service

    operator = Operator.objects.create(code="bench", name="Bench Telecom")
    Store.objects.create(
        operator=operator, code=BULK_STORE, name="Bulk", region_code="110105", address="x"
    )
    draft = identity_services.notice_draft_create(
        operator=operator,
        language="zh-hans",
        parts={
            p: "Synthetic benchmark notice."
            for p in (
                "purpose",
                "manner",
                "scope",
                "retention",
                "query_and_correction",
                "consequences_of_refusal",
            )
        },
    )
    notice = identity_services.notice_publish(notice=draft, actor=None)
    Service.objects.create(
        operator=operator, code="roaming", name="Roaming", line_kinds=[LineKind.MOBILE]
    )
    undertaking = operator_selectors.undertaking_current()
    tokens = []
    user_model = get_user_model()
    for n in range(REG_STORES):
        store = Store.objects.create(
            operator=operator,
            code=f"s{n:02d}",
            name=f"Store {n}",
            region_code="110105",
            address="x",
        )
        user = user_model(username=f"bench-clerk-{n:02d}")
        user.set_unusable_password()  # token sign-in only: hashing is not what is measured
        user.save()
        StaffMember.objects.create(user=user, operator=operator, store=store, role=Role.CLERK)
        operator_services.undertaking_accept(user=user, undertaking=undertaking)
        tokens.append(Token.objects.create(user=user).key)
    (workdir / "tokens.json").write_text(json.dumps(tokens))
    return {"operator": operator, "notice_hash": notice.content_hash}


def persons_and_lines(operator, scale: int, workdir: Path, *, sample: int = 20_000) -> None:
    """``scale`` persons (encrypted as the application does it, under their own
    data keys) and one active mobile line each, both with COPY. Writes a sample
    of documents and numbers to ``workdir/lookups.json`` for the look-up load."""
    from django.utils import timezone

    from identity import documents, vault
    from identity.models import Person
    from identity.synthetic import synthetic_identity
    from operators.models import Store
    from registration.models import Line

    rng = random.Random(6)  # noqa: S311 - synthetic data
    today = timezone.localdate()
    now = timezone.now()
    store = Store.objects.get(operator=operator, code=BULK_STORE)
    columns = [
        "uid",
        "operator_id",
        "id_type",
        "doc_index",
        "index_key_id",
        "wrapped_key",
        "key_id",
        "name_enc",
        "id_number_enc",
        "date_of_birth_enc",
        "sex_enc",
        "id_expiry_enc",
        "nationality_enc",
        "address_enc",
        "verification_status",
        "language",
        "retention_held",
        "lines_held",
        "version",
        "created_at",
        "updated_at",
        # Columns added since (NOT NULL, defaults kept by Django, not the database).
        "language",
        "retention_held",
    ]
    seen: set[str] = set()
    documents_sample: list[dict] = []
    step = max(1, scale // sample)

    index_key_id = vault.index_key_id()

    def person_rows():
        n = 0
        while n < scale:
            identity = synthetic_identity(rng=rng, today=today)
            number = documents.normalise_document(identity.id_type, identity.id_number)
            index = vault.document_index(identity.id_type, number)
            if index in seen:
                continue  # the generator can repeat a document at this scale
            seen.add(index)
            person = Person(operator=operator, id_type=identity.id_type, doc_index=index)
            vault.seal_new(person, vault.identity_values(identity))
            if n % step == 0 and len(documents_sample) < sample:
                documents_sample.append({"id_type": identity.id_type, "id_number": number})
            n += 1
            yield (
                person.uid,
                operator.pk,
                person.id_type,
                index,
                index_key_id,
                person.wrapped_key,
                person.key_id,
                person.name_enc,
                person.id_number_enc,
                person.date_of_birth_enc,
                person.sex_enc,
                person.id_expiry_enc,
                person.nationality_enc,
                person.address_enc,
                "never",
                "zh-hans",
                False,
                1,
                1,
                now,
                now,
                "zh-hans",
                False,
            )

    _copy(Person, columns, person_rows())
    seen.clear()
    first = Person.objects.filter(operator=operator).order_by("pk").values_list("pk", flat=True)[0]
    _copy(
        Line,
        [
            "uid",
            "number",
            "kind",
            "operator_id",
            "holder_id",
            "status",
            "store_id",
            "registered_at",
            "updated_at",
            "status_reason",
            "close_reason",
        ],
        (
            (uuid.uuid4(), f"+86137{n:08d}", "mobile", operator.pk, first + n, "active")
            + (store.pk, now, now, "", "")
            for n in range(scale)
        ),
    )
    numbers = [f"+86137{n:08d}" for n in range(0, scale, step)][:sample]
    (workdir / "lookups.json").write_text(
        json.dumps({"documents": documents_sample, "numbers": numbers})
    )


def registration_inputs(operator, count: int, workdir: Path, free_numbers: int) -> None:
    """``count`` fresh synthetic citizens in the simulated authority's registry
    (their identity blocks in ``workdir/citizens.jsonl`` for the load generator)
    and ``free_numbers`` free mobile numbers in the inventory."""
    from django.utils import timezone

    from identity import services as identity_services
    from identity.services import CitizenRow
    from identity.synthetic import synthetic_identity
    from registration.models import PhoneNumber

    rng = random.Random(16)  # noqa: S311 - synthetic data (another seed: not the loaded persons)
    today = timezone.localdate()
    identities, seen = [], set()
    while len(identities) < count:
        identity = synthetic_identity(rng=rng, today=today)
        if identity.id_number not in seen:  # a repeated document would overwrite its twin
            seen.add(identity.id_number)
            identities.append(identity)
    identity_services.authority_registry_load(
        (
            CitizenRow(
                id_type=i.id_type,
                id_number=i.id_number,
                name=i.name,
                date_of_birth=i.date_of_birth,
                sex=i.sex,
                revoked=False,
            )
            for i in identities
        ),
        batch_size=5000,
    )
    with (workdir / "citizens.jsonl").open("w", encoding="utf-8") as handle:
        for identity in identities:
            handle.write(json.dumps(_identity_block(identity), ensure_ascii=False) + "\n")
    now = timezone.now()
    _copy(
        PhoneNumber,
        ["operator_id", "number", "kind", "status", "updated_at"],
        ((operator.pk, f"+86139{n:08d}", "mobile", "available", now) for n in range(free_numbers)),
    )


# The live portraits of the portrait scenario (issue 14): one ~200 KB JPEG
# whose average hash matches every portrait citizen's (small) reference.
PORTRAIT_BITS = 0x6699_C3C3_1E1E_A55A


def portrait_inputs(count: int, workdir: Path) -> None:
    """``count`` more fresh citizens, each with a reference portrait in the
    simulated registry (``workdir/citizens-portrait.jsonl``), and the live
    JPEG the load generator sends (``workdir/portrait.b64``)."""
    import base64

    from django.utils import timezone

    from identity import portraits
    from identity import services as identity_services
    from identity.services import CitizenRow
    from identity.synthetic import synthetic_identity
    from identity.synthetic_portraits import pattern_image, sized_live_jpeg

    rng = random.Random(14)  # noqa: S311 - synthetic data, another seed again
    today = timezone.localdate()
    reference = portraits.image_clean(pattern_image(PORTRAIT_BITS))
    identities, seen = [], set()
    while len(identities) < count:
        identity = synthetic_identity(rng=rng, today=today)
        if identity.id_number not in seen:
            seen.add(identity.id_number)
            identities.append(identity)
    identity_services.authority_registry_load(
        (
            CitizenRow(
                id_type=i.id_type,
                id_number=i.id_number,
                name=i.name,
                date_of_birth=i.date_of_birth,
                sex=i.sex,
                revoked=False,
                portrait=reference,
            )
            for i in identities
        ),
        batch_size=2000,
    )
    with (workdir / "citizens-portrait.jsonl").open("w", encoding="utf-8") as handle:
        for identity in identities:
            handle.write(json.dumps(_identity_block(identity), ensure_ascii=False) + "\n")
    live = sized_live_jpeg(PORTRAIT_BITS)
    (workdir / "portrait.b64").write_text(base64.b64encode(live).decode("ascii"))
