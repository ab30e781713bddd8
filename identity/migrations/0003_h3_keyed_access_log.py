"""The access log's chain becomes keyed (HMAC-SHA256 under TELEREG_AUDIT_KEYS),
and the chain-head table goes: a chain's head is its highest entry, so the
application only ever INSERTs into the log (see identity/access_log.py).

Existing entries are re-chained under the active audit key, after checking
their old (unkeyed SHA-256) chain: a migration that finds the old chain broken
refuses to certify it, naming the chain and sequence number, so nothing that
was tampered with before the upgrade is whitewashed by it. The re-chain needs
the audit key in the environment when there are entries; on PostgreSQL the
append-only trigger is switched off for this one transaction (migrations run
as the owner role)."""

import datetime as dt
import hashlib
import json

from django.core.exceptions import ImproperlyConfigured
from django.db import migrations, models

LEGACY_GENESIS = "0" * 64
TRIGGER = "identity_access_log_append_only"


def _legacy_digest(row, chain):
    payload = {
        "chain": chain,
        "seq": row["seq"],
        "prev": row["prev_hash"],
        "operator": row["operator_id"],
        "actor": row["actor_id"],
        "actor_label": row["actor_label"],
        "store": row["store_id"],
        "person": row["person_id"],
        "fields": list(row["fields"]),
        "purpose": row["purpose"],
        "reason": row["reason"],
        "detail": row["detail"],
        "request_id": row["request_id"],
        "at": row["created_at"].astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


FIELDS = (
    "id",
    "seq",
    "prev_hash",
    "entry_hash",
    "operator_id",
    "actor_id",
    "actor_label",
    "store_id",
    "person_id",
    "fields",
    "purpose",
    "reason",
    "detail",
    "request_id",
    "created_at",
)


def rechain(apps, schema_editor):
    from identity.access_log import GENESIS, canonical_payload
    from identity.audit_crypto import AuditKeyRing, KeyRingError

    Entry = apps.get_model("identity", "AccessLogEntry")
    Chain = apps.get_model("identity", "AccessLogChain")
    db = schema_editor.connection.alias
    if not Entry.objects.using(db).exists():
        return
    try:
        ring = AuditKeyRing.from_settings()
    except KeyRingError as exc:
        raise ImproperlyConfigured(
            f"Re-chaining the access log needs its key: {exc}. "
            "Set TELEREG_AUDIT_KEYS and TELEREG_AUDIT_ACTIVE_KEY, then migrate again."
        ) from None
    heads = {c.chain: (c.last_seq, c.last_hash) for c in Chain.objects.using(db).all()}
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE identity_accesslogentry DISABLE TRIGGER {TRIGGER}")
    chains = Entry.objects.using(db).order_by().values_list("chain", flat=True).distinct()
    for chain in sorted(set(chains)):
        old_prev, new_prev, expected = LEGACY_GENESIS, GENESIS, 1
        rows = list(Entry.objects.using(db).filter(chain=chain).order_by("seq").values(*FIELDS))
        for row in rows:
            if (
                row["seq"] != expected
                or row["prev_hash"] != old_prev
                or _legacy_digest(row, chain) != row["entry_hash"]
            ):
                raise ImproperlyConfigured(
                    f"The access log is already broken at chain {chain}, entry {row['seq']}: "
                    "not re-chaining it. Investigate with the previous release's verify_access_log."
                )
            old_prev, expected = row["entry_hash"], row["seq"] + 1
            values = {k: row[k] for k in FIELDS if k not in ("id", "entry_hash")}
            values.update(chain=chain, prev_hash=new_prev, key_id=ring.active_kid)
            digest = ring.mac(ring.active_kid, canonical_payload(**values))
            Entry.objects.using(db).filter(pk=row["id"]).update(
                prev_hash=new_prev, entry_hash=digest, key_id=ring.active_kid
            )
            new_prev = digest
        if chain in heads and heads[chain] != (expected - 1, old_prev):
            raise ImproperlyConfigured(
                f"The access log's chain {chain} is shorter than its head says: not re-chaining it."
            )
    if postgres:
        schema_editor.execute(f"ALTER TABLE identity_accesslogentry ENABLE TRIGGER {TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0002_access_log_append_only_trigger"),
    ]

    operations = [
        migrations.AddField(
            model_name="accesslogentry",
            name="key_id",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.RunPython(rechain, migrations.RunPython.noop),
        migrations.DeleteModel(
            name="AccessLogChain",
        ),
    ]
