"""SM4-GCM and HMAC-SM3 beside AES-256-GCM and HMAC-SHA256 (identity.crypto). No Django."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from identity import crypto
from identity.crypto import DecryptionError, KeyRing, KeyRingError

K1 = base64.b64encode(b"\x11" * 32).decode()  # AES-256
S1 = base64.b64encode(b"\x55" * 16).decode()  # SM4
S2 = base64.b64encode(b"\x66" * 16).decode()
INDEX = base64.b64encode(b"\x33" * 32).decode()
SUBJECT = "person:3f2b1c9e-0000-4000-8000-000000000001"
PLAINTEXT = "110101199003071234"


def ring(keys: str = f"k1:{K1},s1:sm4-gcm:{S1}", active: str = "s1", index: str = INDEX):
    return KeyRing.from_config(keys, active, index)


# --- The primitives are the standard ones ---------------------------------------------


def test_sm4_and_sm3_of_this_library_match_the_standards_test_vectors():
    # GB/T 32907-2016 appendix A.1: key = plaintext = 0123456789abcdeffedcba9876543210.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - KAT only
    assert (encryptor.update(key) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )
    # GB/T 32905-2016 appendix A.1: SM3("abc").
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"abc")
    assert digest.finalize().hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_sm4_gcm_agrees_with_the_library_directly():
    # Our SM4-GCM blob is header | nonce | ct | tag with the header + context as AAD.
    keys = ring()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(keys, dek, subject=SUBJECT)
    assert wrapped[:4] == b"v2\x02\x02"
    assert wrapped[4:6] == b"s1"
    header, nonce, sealed = wrapped[:6], wrapped[6:18], wrapped[18:]
    context = crypto._dek_context(SUBJECT)
    decryptor = Cipher(algorithms.SM4(b"\x55" * 16), modes.GCM(nonce, sealed[-16:])).decryptor()
    decryptor.authenticate_additional_data(header + context)
    assert decryptor.update(sealed[:-16]) + decryptor.finalize() == dek


# --- Key ring syntax -------------------------------------------------------------------


def test_entries_may_name_their_cipher_and_unnamed_ones_stay_aes():
    keys = KeyRing.from_config(
        f"k1:{K1}, s1:SM4-GCM:{S1}, k2:aes-256-gcm:{K1[:-4]}ESI=", "s1", INDEX
    )
    assert keys.kids == ("k1", "s1", "k2")
    assert keys.cipher_of("k1") == crypto.AES_256_GCM
    assert keys.cipher_of("s1") == crypto.SM4_GCM
    assert keys.cipher_of("k2") == crypto.AES_256_GCM
    assert keys.active_cipher == crypto.SM4_GCM
    assert "s1(sm4-gcm)" in repr(keys)
    with pytest.raises(DecryptionError, match="not in the key ring"):
        keys.cipher_of("nope")


SM_RING_ERRORS = [
    pytest.param(f"s1:sm4-gcm:{K1}", "s1", INDEX, "16 bytes", id="32-byte-sm4"),
    pytest.param(f"k1:aes-256-gcm:{S1}", "k1", INDEX, "32 bytes", id="16-byte-aes"),
    pytest.param(f"k1:rot13:{K1}", "k1", INDEX, "unknown cipher", id="unknown-cipher"),
    pytest.param(f"k1:{K1}:{S1}", "k1", INDEX, "unknown cipher", id="two-keys"),
    pytest.param(f"k1:sm4-gcm:{S1}:x", "k1", INDEX, "form", id="too-many-parts"),
    pytest.param(f"sm4-gcm:{K1}", "sm4-gcm", INDEX, "cipher name", id="cipher-as-kid"),
    pytest.param("s1:sm4-gcm:", "s1", INDEX, "form", id="no-key"),
    pytest.param(f"k1:{K1}", "k1", f"hmac-md5:{INDEX}", "unknown algorithm", id="bad-index-alg"),
    pytest.param(f"k1:{K1}", "k1", f"hmac-sm3:{S1}", "32 bytes", id="short-sm3-index"),
    pytest.param(f"k1:{K1}", "k1", f"{K1}:{INDEX}", "unknown algorithm", id="key-as-alg"),
]


@pytest.mark.parametrize(("keys", "active", "index_key", "message"), SM_RING_ERRORS)
def test_bad_cipher_configuration_is_refused_without_key_material(keys, active, index_key, message):
    with pytest.raises(KeyRingError, match=message) as caught:
        KeyRing.from_config(keys, active, index_key)
    text = str(caught.value)
    for secret in (K1, S1, INDEX, K1[:16], S1[:12], INDEX[:16]):
        assert secret not in text
    assert caught.value.__cause__ is None


def test_generate_keys_env_for_sm4_and_sm3():
    env = crypto.generate_keys_env("gm1", cipher=crypto.SM4_GCM, index_algorithm=crypto.HMAC_SM3)
    assert env["TELEREG_KEYS"].startswith("gm1:sm4-gcm:")
    assert env["TELEREG_INDEX_KEY"].startswith("hmac-sm3:")
    keys = KeyRing.from_config(**_as_args(env))
    assert keys.active_cipher == crypto.SM4_GCM
    assert keys.index_algorithm == crypto.HMAC_SM3
    assert len(base64.b64decode(crypto.generate_key(crypto.SM4_GCM))) == 16
    # The defaults still write the old syntax.
    assert crypto.generate_keys_env()["TELEREG_KEYS"].count(":") == 1


def _as_args(env: dict[str, str]) -> dict[str, str]:
    return {
        "keys": env["TELEREG_KEYS"],
        "active": env["TELEREG_ACTIVE_KEY"],
        "index_key": env["TELEREG_INDEX_KEY"],
    }


# --- SM4 data keys and fields ---------------------------------------------------------


def test_sm4_wrap_and_field_round_trip_and_the_header_names_sm4():
    keys = ring()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(keys, dek, subject=SUBJECT)
    assert crypto.key_id_of(wrapped) == "s1"
    assert crypto.cipher_of(wrapped) == crypto.SM4_GCM
    assert crypto.unwrap_data_key(keys, wrapped, subject=SUBJECT) == dek
    for value in (PLAINTEXT, "张三丰", "北京市朝阳区建国路88号", ""):
        blob = crypto.encrypt_field(
            dek, value, subject=SUBJECT, field="name", cipher=crypto.SM4_GCM
        )
        assert blob[:4] == b"v2\x02\x00"
        assert crypto.cipher_of(blob) == crypto.SM4_GCM
        assert crypto.key_id_of(blob) == ""
        assert value.encode() not in blob or value == ""
        assert crypto.decrypt_field(dek, blob, subject=SUBJECT, field="name") == value


def test_aes_blobs_keep_the_v1_format_byte_for_byte():
    keys = ring(active="k1")
    wrapped = crypto.wrap_data_key(keys, crypto.new_data_key(), subject=SUBJECT)
    assert wrapped[:5] == b"v1\x02k1"
    field = crypto.encrypt_field(crypto.new_data_key(), "x", subject=SUBJECT, field="name")
    assert field[:3] == b"v1\x00"
    assert len(field) == 31 + 1


def test_sm4_field_key_is_not_the_aes_field_key():
    # The same DEK seals an AES and an SM4 blob; neither opens as the other.
    dek = crypto.new_data_key()
    aes = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="name")
    sm4 = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="name", cipher="sm4-gcm")
    relabelled = b"v2\x02" + aes[2:]  # an AES blob claiming to be SM4
    with pytest.raises(DecryptionError, match="failed authentication"):
        crypto.decrypt_field(dek, relabelled, subject=SUBJECT, field="name")
    downgraded = b"v1" + sm4[3:]  # an SM4 blob claiming to be AES
    with pytest.raises(DecryptionError, match="failed authentication"):
        crypto.decrypt_field(dek, downgraded, subject=SUBJECT, field="name")


@pytest.mark.parametrize("position", [0, 2, 3, 5, 10, 20, -1])
def test_flipping_any_byte_of_an_sm4_blob_fails(position):
    keys = ring()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(keys, dek, subject=SUBJECT)
    data = bytearray(wrapped)
    data[position] ^= 0x01
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(keys, bytes(data), subject=SUBJECT)
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="name", cipher="sm4-gcm")
    data = bytearray(blob)
    data[position] ^= 0x01
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, bytes(data), subject=SUBJECT, field="name")


def test_sm4_field_bound_to_its_subject_and_field():
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="name", cipher="sm4-gcm")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, blob, subject=SUBJECT + "x", field="name")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, blob, subject=SUBJECT, field="id_number")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(crypto.new_data_key(), blob, subject=SUBJECT, field="name")


def test_a_key_id_reconfigured_with_another_cipher_fails_closed():
    wrapped = crypto.wrap_data_key(ring(), crypto.new_data_key(), subject=SUBJECT)
    # s1 is now (wrongly) an AES key: the SM4 blob names s1 and sm4-gcm.
    wrong = KeyRing.from_config(f"s1:{K1}", "s1", INDEX)
    with pytest.raises(DecryptionError, match="configured as aes-256-gcm") as caught:
        crypto.unwrap_data_key(wrong, wrapped, subject=SUBJECT)
    assert K1 not in str(caught.value)
    with pytest.raises(DecryptionError, match="configured as aes-256-gcm"):
        crypto.rewrap_data_keys(wrong, [(wrapped, SUBJECT)])


def test_a_missing_key_id_fails_closed():
    wrapped = crypto.wrap_data_key(ring(), crypto.new_data_key(), subject=SUBJECT)
    only_aes = KeyRing.from_config(f"k1:{K1}", "k1", INDEX)
    with pytest.raises(DecryptionError, match="'s1' is not in the key ring"):
        crypto.unwrap_data_key(only_aes, wrapped, subject=SUBJECT)


def test_an_unknown_cipher_byte_fails():
    blob = crypto.encrypt_field(
        crypto.new_data_key(), "x", subject=SUBJECT, field="name", cipher="sm4-gcm"
    )
    with pytest.raises(DecryptionError, match="unknown cipher"):
        crypto.cipher_of(b"v2\x09" + blob[3:])
    with pytest.raises(DecryptionError):
        crypto.cipher_of(b"v2")


def test_rewrap_moves_a_data_key_between_aes_and_sm4_both_ways():
    to_sm4 = ring(active="s1")
    to_aes = ring(active="k1")
    dek = crypto.new_data_key()
    aes_wrapped = crypto.wrap_data_key(to_aes, dek, subject=SUBJECT)
    sm4_wrapped = crypto.rewrap_data_key(to_sm4, aes_wrapped, subject=SUBJECT)
    assert crypto.cipher_of(sm4_wrapped) == crypto.SM4_GCM
    assert crypto.key_id_of(sm4_wrapped) == "s1"
    back = crypto.rewrap_data_key(to_aes, sm4_wrapped, subject=SUBJECT)
    assert crypto.cipher_of(back) == crypto.AES_256_GCM
    assert crypto.unwrap_data_key(to_aes, back, subject=SUBJECT) == dek
    # Already under the active key: the very same bytes.
    assert crypto.rewrap_data_key(to_sm4, sm4_wrapped, subject=SUBJECT) == sm4_wrapped


def test_reencrypt_field_moves_between_ciphers_and_is_idempotent():
    dek = crypto.new_data_key()
    aes = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    sm4 = crypto.reencrypt_field(dek, aes, subject=SUBJECT, field="id_number", cipher="sm4-gcm")
    assert crypto.cipher_of(sm4) == crypto.SM4_GCM
    assert crypto.decrypt_field(dek, sm4, subject=SUBJECT, field="id_number") == PLAINTEXT
    same = crypto.reencrypt_field(dek, sm4, subject=SUBJECT, field="id_number", cipher="sm4-gcm")
    assert same == sm4
    back = crypto.reencrypt_field(
        dek, sm4, subject=SUBJECT, field="id_number", cipher="aes-256-gcm"
    )
    assert back[:3] == b"v1\x00"
    assert crypto.decrypt_field(dek, back, subject=SUBJECT, field="id_number") == PLAINTEXT
    with pytest.raises(DecryptionError):
        crypto.reencrypt_field(dek, aes, subject=SUBJECT, field="name", cipher="sm4-gcm")


# --- HMAC-SM3 blind index --------------------------------------------------------------


def test_sm3_blind_index_is_hmac_sm3_and_differs_from_sha256():
    sha = ring()
    sm3 = ring(index=f"hmac-sm3:{INDEX}")
    assert sm3.index_algorithm == crypto.HMAC_SM3
    assert ring(index=f"hmac-sha256:{INDEX}").index_key_id == sha.index_key_id
    one = crypto.blind_index(sm3, "document", "cn_resident", PLAINTEXT)
    assert one == crypto.blind_index(sm3, "document", "cn_resident", PLAINTEXT)
    assert len(one) == 64
    assert one != crypto.blind_index(sha, "document", "cn_resident", PLAINTEXT)
    # The index is HMAC-SM3 of the length-prefixed parts, nothing home-made.
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    mac = crypto_hmac.HMAC(b"\x33" * 32, hashes.SM3())
    mac.update(crypto._encode_parts(b"telereg/blind-index/v1", "a", "b"))
    assert crypto.blind_index(sm3, "a", "b") == mac.finalize().hex()


def test_index_key_id_fingerprints_key_and_algorithm_without_revealing_the_key():
    sha = ring()
    sm3 = ring(index=f"hmac-sm3:{INDEX}")
    other = ring(index=f"hmac-sm3:{K1[:-4]}RCI=")
    ids = {sha.index_key_id, sm3.index_key_id, other.index_key_id}
    assert len(ids) == 3
    assert sha.index_key_id.startswith("hmac-sha256:")
    assert sm3.index_key_id.startswith("hmac-sm3:")
    assert len(sm3.index_key_id) <= 40
    for text in ids:
        assert INDEX not in text
        assert (b"\x33" * 32).hex()[:16] not in text
    # Independent of the encryption keys.
    assert ring(keys=f"k1:{K1}", active="k1").index_key_id == sha.index_key_id
