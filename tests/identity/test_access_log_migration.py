"""Upgrading an unkeyed log: migration 0003 re-chains intact entries under the
active audit key, and refuses to certify a chain that was already broken."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from identity import access_log
from identity.models import AccessLogEntry
from tests.factories import OperatorFactory
from tests.identity import tampering

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("identity", "0002_access_log_append_only_trigger")
AFTER = ("identity", "0003_h3_keyed_access_log")
legacy = importlib.import_module("identity.migrations.0003_h3_keyed_access_log")


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.fixture
def old_schema():
    """The schema before 0003, with an operator; always migrated forward again,
    to every app's latest migration (later tests need the tables that the
    migrations after 0003 add)."""
    operator = OperatorFactory(code="legacy-op")
    apps = _migrate(BEFORE)
    yield operator, apps
    if not _applied(AFTER):
        tampering.truncate_log()  # the broken legacy rows cannot be re-chained
    _migrate_to_latest()


def _migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _applied(target) -> bool:
    executor = MigrationExecutor(connection)
    return target in executor.loader.applied_migrations


def _write_legacy_chain(apps, operator, *, edit_seq: int | None = None) -> list[int]:
    """Three entries chained the old way (SHA-256, no key) and their head row."""
    Entry = apps.get_model("identity", "AccessLogEntry")  # noqa: N806
    Chain = apps.get_model("identity", "AccessLogChain")  # noqa: N806
    now = timezone.now()
    chain = access_log.chain_key(operator.pk, now)
    prev, ids = legacy.LEGACY_GENESIS, []
    for seq in (1, 2, 3):
        row = {
            "seq": seq,
            "prev_hash": prev,
            "operator_id": operator.pk,
            "actor_id": None,
            "actor_label": "system",
            "store_id": None,
            "person_id": None,
            "fields": ["name"],
            "purpose": "compliance_review",
            "reason": f"case {seq}",
            "detail": {},
            "request_id": "",
            "created_at": now + dt.timedelta(microseconds=seq),
        }
        digest = legacy._legacy_digest(row, chain)
        if seq == edit_seq:
            row["reason"] = "edited after the fact"
        ids.append(Entry.objects.create(chain=chain, entry_hash=digest, **row).pk)
        prev = digest
    Chain.objects.create(chain=chain, last_seq=3, last_hash=prev)
    return ids


def test_intact_unkeyed_chain_is_rechained_under_the_active_audit_key(old_schema, settings):
    operator, apps = old_schema
    ids = _write_legacy_chain(apps, operator)
    _migrate(AFTER)
    entries = list(AccessLogEntry.objects.filter(pk__in=ids).order_by("seq"))
    assert [e.key_id for e in entries] == [settings.TELEREG_AUDIT_ACTIVE_KEY] * 3
    assert entries[0].prev_hash == access_log.GENESIS
    assert [e.reason for e in entries] == ["case 1", "case 2", "case 3"]
    assert list(access_log.verify()) == []


def test_unkeyed_chain_already_broken_is_not_rechained(old_schema):
    operator, apps = old_schema
    _write_legacy_chain(apps, operator, edit_seq=2)
    with pytest.raises(ImproperlyConfigured, match="already broken at chain .*, entry 2"):
        _migrate(AFTER)
