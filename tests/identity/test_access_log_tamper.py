"""Tampering the database's own owner can do, caught by the keyed chain and the
signed checkpoints outside the database (PostgreSQL and SQLite alike)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from identity import access_log, checkpoints, tasks
from identity.models import AccessLogEntry, AccessPurpose
from tests.identity import tampering

pytestmark = pytest.mark.django_db

PURPOSE = AccessPurpose.COMPLIANCE_REVIEW


@pytest.fixture
def chain_of_three(alpha, alpha_compliance):
    entries = [
        access_log.append(
            operator=alpha, actor=alpha_compliance.user, purpose=PURPOSE, reason=f"case {n}"
        )
        for n in range(3)
    ]
    return entries


def _breaks() -> list[access_log.ChainBreak]:
    return list(access_log.verify())


def test_entries_are_chained_with_the_keyed_hmac_and_name_their_key(chain_of_three, settings):
    first = chain_of_three[0]
    values = AccessLogEntry.objects.filter(pk=first.pk).values().get()
    values.pop("id")
    values.pop("entry_hash")
    assert first.key_id == settings.TELEREG_AUDIT_ACTIVE_KEY
    assert first.entry_hash == access_log.entry_digest(**values)
    # the key matters: the same content under another key gives another digest
    settings.TELEREG_AUDIT_KEYS += ",other:" + base64.b64encode(b"\x09" * 32).decode()
    assert access_log.entry_digest(**{**values, "key_id": "other"}) != first.entry_hash


def test_deleting_the_last_entry_is_caught_by_the_checkpoint(chain_of_three):
    tasks.access_log_checkpoint()  # what beat runs every few minutes
    last = chain_of_three[-1]
    tampering.as_owner(("DELETE FROM identity_accesslogentry WHERE id = %s", [last.pk]))
    broken = _breaks()
    assert [(b.chain, b.seq) for b in broken] == [(last.chain, 2)]
    assert "entries 3-3 are missing from the end" in broken[0].problem
    with pytest.raises(CommandError, match=f"chain {last.chain}: entries 3-3 are missing"):
        call_command("verify_access_log")


def test_rewinding_the_chain_and_writing_a_new_head_is_caught_by_the_checkpoint(
    chain_of_three, alpha, alpha_compliance
):
    call_command("verify_access_log")  # checkpoint: the chain ends at entry 3
    last = chain_of_three[-1]
    tampering.as_owner(("DELETE FROM identity_accesslogentry WHERE id = %s", [last.pk]))
    # the application appends again: a valid entry 3, but not the one the checkpoint saw
    replacement = access_log.append(operator=alpha, actor=alpha_compliance.user, purpose=PURPOSE)
    assert replacement.seq == 3
    broken = _breaks()
    assert [(b.entry_id, b.seq) for b in broken] == [(replacement.pk, 3)]
    assert "differs from checkpoint" in broken[0].problem


def test_changed_actor_and_reason_with_the_chain_recomputed_without_the_key_is_caught(
    chain_of_three, alpha_clerk
):
    call_command("verify_access_log")
    target = chain_of_three[1]
    tampering.rechain_with_sha256(
        target.chain,
        changes={
            2: {
                "actor_id": alpha_clerk.user.pk,
                "actor_label": alpha_clerk.user.get_username(),
                "reason": "routine",
            }
        },
    )
    stored = AccessLogEntry.objects.get(pk=target.pk)
    assert stored.reason == "routine"
    assert AccessLogEntry.objects.get(pk=chain_of_three[2].pk).prev_hash == stored.entry_hash
    broken = _breaks()
    # entry 1 is untouched, but its digest was recomputed too: the key is what tells
    assert [b.entry_id for b in broken] == [chain_of_three[0].pk]
    assert "keyed hash" in broken[0].problem
    with pytest.raises(CommandError, match=f"entry #{chain_of_three[0].pk}"):
        call_command("verify_access_log")


def test_changed_entry_is_caught_even_before_any_checkpoint(chain_of_three, alpha_clerk):
    target = chain_of_three[2]
    tampering.rechain_with_sha256(target.chain, changes={3: {"reason": "nothing to see"}})
    assert _breaks()[0].problem == "content differs from its keyed hash"


def test_truncating_the_log_is_caught_by_the_checkpoint(chain_of_three, beta, make_staff):
    beta_entry = access_log.append(
        operator=beta, actor=make_staff(beta).user, purpose=PURPOSE, reason="b"
    )
    call_command("verify_access_log")
    tampering.truncate_log()
    assert not AccessLogEntry.objects.exists()
    broken = _breaks()
    assert {b.chain for b in broken} == {chain_of_three[0].chain, beta_entry.chain}
    assert all("chain is gone" in b.problem for b in broken)
    with pytest.raises(CommandError, match="chain is gone: checkpoint cp-"):
        call_command("verify_access_log")


def test_a_later_checkpoint_of_the_tampered_log_does_not_hide_the_earlier_one(chain_of_three):
    call_command("verify_access_log")
    tampering.as_owner(
        ("DELETE FROM identity_accesslogentry WHERE id = %s", [chain_of_three[-1].pk])
    )
    tasks.access_log_checkpoint()  # beat now signs the shortened chain
    with pytest.raises(CommandError):
        call_command("verify_access_log")
    assert "missing from the end" in _breaks()[0].problem


def test_checkpoint_whose_body_was_edited_fails_its_signature(chain_of_three):
    call_command("verify_access_log")
    (path,) = checkpoints.checkpoint_dir().glob("cp-*.json")
    document = json.loads(path.read_text())
    document["body"] = document["body"].replace('[3,"', '[2,"')
    path.write_text(json.dumps(document))
    broken = _breaks()
    assert [b.problem for b in broken] == [f"checkpoint {path.name}: bad signature"]
    with pytest.raises(CommandError, match="bad signature"):
        call_command("verify_access_log")


def test_checkpoint_signed_with_another_key_is_refused(chain_of_three, settings):
    settings.TELEREG_AUDIT_SIGNING_KEY = base64.b64encode(b"\x0a" * 32).decode()
    forged = checkpoints.write({chain_of_three[0].chain: (9, "a" * 64)}, scope="all")
    settings.TELEREG_AUDIT_SIGNING_KEY = base64.b64encode(b"\x05" * 32).decode()
    assert [b.problem for b in _breaks()] == [f"checkpoint {forged.name}: signed by an unknown key"]


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x00not json",
        b"[" * 100_000,
        json.dumps({"body": {"heads": {}}, "key": "k", "sig": "s"}).encode(),
    ],
    ids=["nul-bytes", "deep-nesting", "wrong-types"],
)
def test_malformed_checkpoint_file_is_reported_not_crashed_on(chain_of_three, content):
    directory = checkpoints.checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cp-20260101T000000000000Z-0badc0de.json").write_bytes(content)
    broken = _breaks()
    assert len(broken) == 1
    assert "cp-20260101T000000000000Z-0badc0de.json" in broken[0].problem


def test_retired_signing_key_still_verifies_its_checkpoints(chain_of_three, settings):
    old_seed = base64.b64decode(settings.TELEREG_AUDIT_SIGNING_KEY)
    checkpoints.write(access_log.verify_report().heads, scope="all")
    old_public = (
        Ed25519PrivateKey.from_private_bytes(old_seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    settings.TELEREG_AUDIT_SIGNING_KEY = base64.b64encode(b"\x0b" * 32).decode()
    assert "unknown key" in _breaks()[0].problem
    settings.TELEREG_AUDIT_VERIFY_KEYS = base64.b64encode(old_public).decode()
    assert _breaks() == []


def test_rotated_audit_key_chains_new_entries_and_old_ones_still_verify(
    alpha, alpha_compliance, settings
):
    old = access_log.append(operator=alpha, actor=alpha_compliance.user, purpose=PURPOSE)
    settings.TELEREG_AUDIT_KEYS += ",ta2:" + base64.b64encode(b"\x06" * 32).decode()
    settings.TELEREG_AUDIT_ACTIVE_KEY = "ta2"
    new = access_log.append(operator=alpha, actor=alpha_compliance.user, purpose=PURPOSE)
    assert (old.key_id, new.key_id) == ("ta1", "ta2")
    assert new.prev_hash == old.entry_hash
    assert _breaks() == []
    # a key taken out of the ring too early is named, not silently skipped
    settings.TELEREG_AUDIT_KEYS = settings.TELEREG_AUDIT_KEYS.split(",", 1)[1]
    broken = _breaks()
    assert [(b.entry_id, b.problem) for b in broken] == [
        (old.pk, "chained with a key id not in the key ring")
    ]


def test_verify_access_log_signs_a_new_checkpoint_on_every_run(chain_of_three, capsys):
    call_command("verify_access_log")
    call_command("verify_access_log")
    files = sorted(checkpoints.checkpoint_dir().glob("cp-*.json"))
    assert len(files) == 2
    found, problems = checkpoints.read_all()
    assert problems == []
    assert found[-1].scope == "all"
    assert found[-1].heads == {chain_of_three[0].chain: (3, chain_of_three[2].entry_hash)}
    assert "1 earlier checkpoint(s) agree" in capsys.readouterr().out


def test_beat_checkpoints_todays_chains_every_few_minutes(chain_of_three, beta):
    schedule = settings.CELERY_BEAT_SCHEDULE["access-log-checkpoint"]
    assert schedule["task"] == "identity.tasks.access_log_checkpoint"
    assert schedule["schedule"] <= 300
    name = tasks.access_log_checkpoint()
    (checkpoint,) = checkpoints.read_all()[0]
    assert checkpoint.name == name
    assert checkpoint.scope == "recent"
    assert checkpoint.heads == {chain_of_three[0].chain: (3, chain_of_three[2].entry_hash)}


def test_checkpoint_never_replaces_an_existing_file(chain_of_three, monkeypatch):
    heads = access_log.verify_report().heads
    at = chain_of_three[0].created_at
    names = iter(["00000001", "00000001", "00000002"])
    monkeypatch.setattr(checkpoints.secrets, "token_hex", lambda n: next(names))
    first = checkpoints.write(heads, scope="all", at=at)
    before = first.read_bytes()
    second = checkpoints.write({}, scope="all", at=at)
    assert first != second
    assert first.read_bytes() == before
    assert sorted(p.name for p in checkpoints.checkpoint_dir().iterdir()) == sorted(
        [first.name, second.name]
    )  # and no temporary file is left behind


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("TELEREG_AUDIT_KEYS", "ta1:not-base64!", "TELEREG_AUDIT_KEYS key 'ta1' is not valid"),
        ("TELEREG_AUDIT_ACTIVE_KEY", "nope", "TELEREG_AUDIT_ACTIVE_KEY is not one of"),
        ("TELEREG_AUDIT_SIGNING_KEY", "c2hvcnQ=", "TELEREG_AUDIT_SIGNING_KEY must decode"),
        ("TELEREG_AUDIT_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nx", "not a readable PEM"),
    ],
)
def test_malformed_audit_keys_fail_the_system_check_without_echoing_them(
    settings, setting, value, message
):
    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError) as info:
        call_command("check")
    assert message in str(info.value)
    assert value not in str(info.value)
