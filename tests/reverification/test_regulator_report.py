"""The signed monthly report (issue 16): canonical JSON with the key's
fingerprint, a detached Ed25519 signature, and verify_report failing on one
changed byte of the file or of the signature."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import timezone

from reverification import reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def month():
    return timezone.localdate().strftime("%Y-%m")


@pytest.fixture
def written(alpha, open_mobile, tmp_path, month):
    open_mobile()
    out = tmp_path / "alpha.json"
    call_command("regulator_report", operator="alpha", period=month, out=str(out))
    return out


def _flip(path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def test_the_file_is_canonical_json_with_the_month_and_the_key_fingerprint(
    written, settings, month
):
    content = written.read_bytes()
    parsed = json.loads(content.decode("utf-8"))
    assert reports.canonical_json(parsed) == content
    assert parsed["envelope"]["period"] == month
    seed = base64.b64decode(settings.TELEREG_REPORT_SIGNING_KEY)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert (
        parsed["envelope"]["key_fingerprint"]
        == hashlib.sha256(reports.public_raw(public)).hexdigest()
    )
    public.verify((written.parent / "alpha.json.sig").read_bytes(), content)
    assert parsed["report"]["transactions"]["by_kind"]["mobile_open"] == 1
    assert parsed["report"]["from"].endswith("-01")


def test_verify_report_accepts_the_untouched_file(written, capsys):
    call_command("verify_report", str(written))
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("position", [0, 10, -2])
def test_one_changed_byte_of_the_file_fails(written, position):
    _flip(written, position)
    with pytest.raises(CommandError):
        call_command("verify_report", str(written))


@pytest.mark.parametrize("position", [0, 31, 63])
def test_one_changed_byte_of_the_signature_fails(written, position):
    _flip(written.parent / "alpha.json.sig", position)
    with pytest.raises(CommandError):
        call_command("verify_report", str(written))


def test_a_changed_figure_re_signed_with_another_key_fails(written):
    parsed = json.loads(written.read_bytes())
    parsed["report"]["transactions"]["total"] = 0
    other = Ed25519PrivateKey.generate()
    parsed["envelope"]["public_key"] = base64.b64encode(
        reports.public_raw(other.public_key())
    ).decode()
    parsed["envelope"]["key_fingerprint"] = reports.fingerprint(other.public_key())
    content = reports.canonical_json(parsed)
    written.write_bytes(content)
    (written.parent / "alpha.json.sig").write_bytes(other.sign(content))
    with pytest.raises(CommandError, match="not trusted"):
        call_command("verify_report", str(written))


def test_a_missing_signature_file_fails(written):
    (written.parent / "alpha.json.sig").unlink()
    with pytest.raises(CommandError):
        call_command("verify_report", str(written))


def test_the_commands_say_the_key_is_missing(alpha, settings, tmp_path, month):
    settings.TELEREG_REPORT_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="TELEREG_REPORT_SIGNING_KEY is missing"):
        call_command("regulator_report", operator="alpha", period=month, out=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-01", "2026-01\x00"])
def test_a_bad_period_is_refused(alpha, tmp_path, period):
    with pytest.raises(CommandError, match="period"):
        call_command("regulator_report", operator="alpha", period=period, out=str(tmp_path / "r"))


def test_an_unknown_operator_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="operator"):
        call_command(
            "regulator_report", operator="nobody", period="2026-01", out=str(tmp_path / "r")
        )
