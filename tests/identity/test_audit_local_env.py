"""`make run` gives a fresh machine its access-log keys, and an older var/local.env
gets them added without a line already there changing."""

from __future__ import annotations

from config import local_env
from identity.audit_crypto import AuditKeyRing, CheckpointSigner


def _values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_fresh_local_env_carries_usable_access_log_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(local_env, "ENV_FILE", tmp_path / "local.env")
    monkeypatch.setattr(local_env, "BASE_DIR", tmp_path)
    local_env.main()
    values = _values((tmp_path / "local.env").read_text())
    ring = AuditKeyRing.from_config(
        values["TELEREG_AUDIT_KEYS"], values["TELEREG_AUDIT_ACTIVE_KEY"]
    )
    assert ring.active_kid == "audit1"
    signer = CheckpointSigner.from_config(values["TELEREG_AUDIT_SIGNING_KEY"])
    assert signer.verify(signer.key_id, b"x", signer.sign(b"x")) is None


def test_older_local_env_gets_the_missing_audit_keys_and_keeps_its_own(tmp_path, monkeypatch):
    path = tmp_path / "local.env"
    older = "SECRET_KEY=kept\nTELEREG_KEYS=local1:AAAA\nTELEREG_AUDIT_ACTIVE_KEY=audit1"
    path.write_text(older)
    monkeypatch.setattr(local_env, "ENV_FILE", path)
    monkeypatch.setattr(local_env, "BASE_DIR", tmp_path)
    local_env.main()
    text = path.read_text()
    assert text.startswith(older + "\n")
    values = _values(text)
    assert values["SECRET_KEY"] == "kept"
    assert text.count("TELEREG_AUDIT_ACTIVE_KEY=") == 1
    assert {"TELEREG_AUDIT_KEYS", "TELEREG_AUDIT_SIGNING_KEY"} <= set(values)
    local_env.main()  # a second run adds nothing
    assert path.read_text() == text


def test_local_env_carries_a_report_signing_key_and_adds_it_to_an_older_file(tmp_path, monkeypatch):
    import base64

    path = tmp_path / "local.env"
    monkeypatch.setattr(local_env, "ENV_FILE", path)
    monkeypatch.setattr(local_env, "BASE_DIR", tmp_path)
    local_env.main()
    assert len(base64.b64decode(_values(path.read_text())["TELEREG_REPORT_SIGNING_KEY"])) == 32
    older = "SECRET_KEY=kept\n"
    path.write_text(older)
    local_env.main()
    text = path.read_text()
    assert text.startswith(older)
    assert text.count("TELEREG_REPORT_SIGNING_KEY=") == 1
    local_env.main()
    assert path.read_text() == text
