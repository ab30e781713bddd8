"""Envelope encryption, key ring, rotation and blind index (identity.crypto). No Django."""

from __future__ import annotations

import base64

import pytest

from identity import crypto
from identity.crypto import DecryptionError, KeyRing, KeyRingError

K1 = base64.b64encode(b"\x11" * 32).decode()
K2 = base64.b64encode(b"\x22" * 32).decode()
INDEX = base64.b64encode(b"\x33" * 32).decode()
OTHER_INDEX = base64.b64encode(b"\x44" * 32).decode()
SUBJECT = "3f2b1c9e-0000-4000-8000-000000000001"
OTHER_SUBJECT = "3f2b1c9e-0000-4000-8000-000000000002"
PLAINTEXT = "110101199003071234"


def ring_k1() -> KeyRing:
    return KeyRing.from_config(f"k1:{K1}", "k1", INDEX)


def ring_k1_k2_active_k2() -> KeyRing:
    return KeyRing.from_config(f"k1:{K1},k2:{K2}", "k2", INDEX)


def ring_k2_only() -> KeyRing:
    return KeyRing.from_config(f"k2:{K2}", "k2", INDEX)


def flip(blob: bytes, index: int) -> bytes:
    data = bytearray(blob)
    data[index] ^= 0x01
    return bytes(data)


# --- Round trips and format -----------------------------------------------------------


def test_data_key_wrap_unwrap_round_trip():
    ring = ring_k1()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(ring, dek, subject=SUBJECT)
    assert crypto.unwrap_data_key(ring, wrapped, subject=SUBJECT) == dek


def test_new_data_keys_are_32_random_bytes():
    keys = {crypto.new_data_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(key) == 32 for key in keys)


def test_field_encrypt_decrypt_round_trip_including_unicode_and_empty():
    dek = crypto.new_data_key()
    for value in (PLAINTEXT, "张三丰", "北京市朝阳区建国路88号", ""):
        blob = crypto.encrypt_field(dek, value, subject=SUBJECT, field="name")
        assert crypto.decrypt_field(dek, blob, subject=SUBJECT, field="name") == value


def test_field_ciphertext_does_not_contain_plaintext_and_is_randomised():
    dek = crypto.new_data_key()
    one = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    two = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    assert PLAINTEXT.encode() not in one
    assert one != two  # fresh nonce each time


def test_blob_format_is_version_kid_nonce_ciphertext_tag():
    ring = ring_k1()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(ring, dek, subject=SUBJECT)
    assert wrapped[:2] == b"v1"
    assert wrapped[2] == len(b"k1")
    assert wrapped[3:5] == b"k1"
    assert len(wrapped) == 2 + 1 + 2 + 12 + 32 + 16
    field = crypto.encrypt_field(dek, "abc", subject=SUBJECT, field="name")
    assert field[:3] == b"v1\x00"
    assert len(field) == 2 + 1 + 12 + 3 + 16


def test_key_id_of_names_the_wrapping_key_and_is_empty_for_fields():
    ring = ring_k1()
    dek = crypto.new_data_key()
    assert crypto.key_id_of(crypto.wrap_data_key(ring, dek, subject=SUBJECT)) == "k1"
    field = crypto.encrypt_field(dek, "x", subject=SUBJECT, field="name")
    assert crypto.key_id_of(field) == ""


def test_memoryview_blobs_from_the_database_are_accepted():
    ring = ring_k1()
    dek = crypto.new_data_key()
    wrapped = memoryview(crypto.wrap_data_key(ring, dek, subject=SUBJECT))
    assert crypto.unwrap_data_key(ring, wrapped, subject=SUBJECT) == dek


# --- Tamper detection and binding -----------------------------------------------------


@pytest.mark.parametrize("position", [0, 3, 6, 20, -1])
def test_flipping_any_byte_of_a_wrapped_key_fails(position):
    ring = ring_k1()
    wrapped = crypto.wrap_data_key(ring, crypto.new_data_key(), subject=SUBJECT)
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(ring, flip(wrapped, position), subject=SUBJECT)


@pytest.mark.parametrize("position", [0, 2, 5, 15, -1])
def test_flipping_any_byte_of_a_field_ciphertext_fails(position):
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, flip(blob, position), subject=SUBJECT, field="id_number")


def test_truncated_blob_fails():
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, blob[:-1], subject=SUBJECT, field="id_number")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, blob[:10], subject=SUBJECT, field="id_number")


def test_field_ciphertext_copied_to_another_subject_fails():
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, blob, subject=OTHER_SUBJECT, field="id_number")


def test_field_ciphertext_copied_to_another_field_fails():
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, blob, subject=SUBJECT, field="address")


def test_field_ciphertext_under_another_data_key_fails():
    blob = crypto.encrypt_field(crypto.new_data_key(), "x", subject=SUBJECT, field="name")
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(crypto.new_data_key(), blob, subject=SUBJECT, field="name")


def test_wrapped_key_copied_to_another_subject_fails():
    ring = ring_k1()
    wrapped = crypto.wrap_data_key(ring, crypto.new_data_key(), subject=SUBJECT)
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(ring, wrapped, subject=OTHER_SUBJECT)


def test_wrapped_key_and_field_ciphertext_cannot_stand_in_for_each_other():
    ring = ring_k1()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(ring, dek, subject=SUBJECT)
    field = crypto.encrypt_field(dek, "x", subject=SUBJECT, field="name")
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(ring, field, subject=SUBJECT)
    with pytest.raises(DecryptionError):
        crypto.decrypt_field(dek, wrapped, subject=SUBJECT, field="name")


def test_unknown_key_id_fails_with_decryption_error_naming_the_kid():
    wrapped = crypto.wrap_data_key(ring_k1(), crypto.new_data_key(), subject=SUBJECT)
    with pytest.raises(DecryptionError, match="k1"):
        crypto.unwrap_data_key(ring_k2_only(), wrapped, subject=SUBJECT)


def test_shredded_empty_wrapped_key_and_empty_field_fail():
    with pytest.raises(DecryptionError, match="erased"):
        crypto.unwrap_data_key(ring_k1(), b"", subject=SUBJECT)
    with pytest.raises(DecryptionError, match="erased"):
        crypto.decrypt_field(crypto.new_data_key(), b"", subject=SUBJECT, field="name")


def test_unknown_format_version_fails():
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, "x", subject=SUBJECT, field="name")
    with pytest.raises(DecryptionError, match="version"):
        crypto.decrypt_field(dek, b"v9" + blob[2:], subject=SUBJECT, field="name")
    # v2 names its cipher in the next byte: 0 is none of them (v1's kid length there).
    with pytest.raises(DecryptionError, match="unknown cipher"):
        crypto.decrypt_field(dek, b"v2" + blob[2:], subject=SUBJECT, field="name")


def test_data_key_of_wrong_length_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.wrap_data_key(ring_k1(), b"short", subject=SUBJECT)
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.encrypt_field(b"short", "x", subject=SUBJECT, field="name")


def test_decryption_error_never_contains_plaintext_or_key_material():
    ring = ring_k1()
    dek = crypto.new_data_key()
    blob = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    wrapped = crypto.wrap_data_key(ring, dek, subject=SUBJECT)
    failures = [
        lambda: crypto.decrypt_field(dek, flip(blob, -1), subject=SUBJECT, field="id_number"),
        lambda: crypto.decrypt_field(dek, blob, subject=OTHER_SUBJECT, field="id_number"),
        lambda: crypto.decrypt_field(dek, blob, subject=SUBJECT, field="name"),
        lambda: crypto.unwrap_data_key(ring, flip(wrapped, -1), subject=SUBJECT),
        lambda: crypto.unwrap_data_key(ring_k2_only(), wrapped, subject=SUBJECT),
        lambda: crypto.unwrap_data_key(ring, wrapped, subject=OTHER_SUBJECT),
    ]
    for fail in failures:
        with pytest.raises(DecryptionError) as caught:
            fail()
        text = str(caught.value) + repr(caught.value)
        assert PLAINTEXT not in text
        assert SUBJECT not in text
        assert OTHER_SUBJECT not in text
        for secret in (dek, b"\x11" * 32, b"\x22" * 32):
            assert secret.hex() not in text
            assert base64.b64encode(secret).decode() not in text
            assert repr(secret) not in text
        # No chained library exception that could carry bytes.
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__


# --- Rotation -------------------------------------------------------------------------


def test_rotation_rewraps_to_active_key_and_survives_removal_of_the_old_key():
    dek = crypto.new_data_key()
    old_wrapped = crypto.wrap_data_key(ring_k1(), dek, subject=SUBJECT)
    other_dek = crypto.new_data_key()
    not_rewrapped = crypto.wrap_data_key(ring_k1(), other_dek, subject=OTHER_SUBJECT)
    field = crypto.encrypt_field(dek, PLAINTEXT, subject=SUBJECT, field="id_number")
    assert crypto.key_id_of(old_wrapped) == "k1"

    # Rotation: k2 added and made active; old DEKs still unwrap via k1.
    rotating = ring_k1_k2_active_k2()
    assert crypto.unwrap_data_key(rotating, not_rewrapped, subject=OTHER_SUBJECT) == other_dek
    new_wrapped = crypto.rewrap_data_key(rotating, old_wrapped, subject=SUBJECT)
    assert crypto.key_id_of(new_wrapped) == "k2"
    new_dek = crypto.unwrap_data_key(rotating, new_wrapped, subject=SUBJECT)
    assert crypto.decrypt_field(new_dek, field, subject=SUBJECT, field="id_number") == PLAINTEXT

    # k1 retired: the re-wrapped DEK still works, the forgotten one does not.
    retired = ring_k2_only()
    dek_after = crypto.unwrap_data_key(retired, new_wrapped, subject=SUBJECT)
    assert crypto.decrypt_field(dek_after, field, subject=SUBJECT, field="id_number") == PLAINTEXT
    with pytest.raises(DecryptionError):
        crypto.unwrap_data_key(retired, not_rewrapped, subject=OTHER_SUBJECT)


def test_rewrap_returns_same_bytes_when_already_under_active_key():
    ring = ring_k1_k2_active_k2()
    wrapped = crypto.wrap_data_key(ring, crypto.new_data_key(), subject=SUBJECT)
    assert crypto.rewrap_data_key(ring, wrapped, subject=SUBJECT) == wrapped


def test_rewrap_of_a_tampered_or_misbound_key_fails():
    wrapped = crypto.wrap_data_key(ring_k1(), crypto.new_data_key(), subject=SUBJECT)
    rotating = ring_k1_k2_active_k2()
    with pytest.raises(DecryptionError):
        crypto.rewrap_data_key(rotating, wrapped, subject=OTHER_SUBJECT)
    with pytest.raises(DecryptionError):
        crypto.rewrap_data_key(rotating, flip(wrapped, -1), subject=SUBJECT)


def test_rewrap_many_matches_rewrap_one_by_one_and_keeps_the_order():
    deks = [crypto.new_data_key() for _ in range(3)]
    subjects = [SUBJECT, OTHER_SUBJECT, SUBJECT]
    rotating = ring_k1_k2_active_k2()
    already = crypto.wrap_data_key(rotating, deks[2], subject=subjects[2])
    items = [
        (crypto.wrap_data_key(ring_k1(), deks[0], subject=subjects[0]), subjects[0]),
        (crypto.wrap_data_key(ring_k1(), deks[1], subject=subjects[1]), subjects[1]),
        (already, subjects[2]),
    ]
    rewrapped = crypto.rewrap_data_keys(rotating, items)
    assert rewrapped[2] == already  # untouched, as rewrap_data_key does
    for new, dek, subject in zip(rewrapped, deks, subjects, strict=True):
        assert crypto.key_id_of(new) == "k2"
        assert crypto.unwrap_data_key(ring_k2_only(), new, subject=subject) == dek
    assert crypto.rewrap_data_keys(rotating, []) == []


def test_rewrap_many_fails_on_a_misbound_or_unknown_key_without_leaking():
    rotating = ring_k1_k2_active_k2()
    good = crypto.wrap_data_key(ring_k1(), crypto.new_data_key(), subject=SUBJECT)
    with pytest.raises(DecryptionError) as caught:
        crypto.rewrap_data_keys(rotating, [(good, SUBJECT), (good, OTHER_SUBJECT)])
    assert SUBJECT not in str(caught.value)
    assert caught.value.__cause__ is None
    unknown = crypto.wrap_data_key(
        KeyRing.from_config(f"k9:{K2}", "k9", INDEX), crypto.new_data_key(), subject=SUBJECT
    )
    with pytest.raises(DecryptionError, match="not in the key ring"):
        crypto.rewrap_data_keys(rotating, [(unknown, SUBJECT)])
    with pytest.raises(DecryptionError, match="empty"):
        crypto.rewrap_data_keys(rotating, [(b"", SUBJECT)])


def test_new_data_keys_are_wrapped_under_the_active_key():
    wrapped = crypto.wrap_data_key(ring_k1_k2_active_k2(), crypto.new_data_key(), subject="s")
    assert crypto.key_id_of(wrapped) == "k2"


# --- Key ring configuration -----------------------------------------------------------


def test_from_config_builds_ring_with_kids_and_active_key():
    ring = KeyRing.from_config(f" k1:{K1} , k2:{K2},", "k2", INDEX)
    assert ring.kids == ("k1", "k2")
    assert ring.active_kid == "k2"
    assert "k1" in ring


KEY_RING_ERRORS = [
    pytest.param(f"k1:{K1[:-3]}!!!", "k1", INDEX, "base64", id="bad-base64"),
    pytest.param(
        "k1:" + base64.b64encode(b"\x55" * 16).decode(), "k1", INDEX, "32 bytes", id="16-byte"
    ),
    pytest.param(f"k1:{K1},k1:{K2}", "k1", INDEX, "more than once", id="duplicate-kid"),
    pytest.param(f"k1:{K1}", "k9", INDEX, "not one of", id="unknown-active"),
    pytest.param(f"k1:{K1}", "", INDEX, "TELEREG_ACTIVE_KEY", id="missing-active"),
    pytest.param(f"k1:{K1}", "k1", "", "TELEREG_INDEX_KEY", id="missing-index-key"),
    pytest.param(f"k1:{K1}", "k1", K2[:-4], "TELEREG_INDEX_KEY", id="bad-index-key"),
    pytest.param("", "k1", INDEX, "TELEREG_KEYS is empty", id="no-keys"),
    pytest.param(K1, "k1", INDEX, "kid:base64key", id="entry-without-kid"),
    pytest.param(f"k1:{K1},,k2:{K2}", "k1", INDEX, "entry 2 is empty", id="empty-entry"),
    pytest.param(f"{K2}:{K1}", "k1", INDEX, "key id must be", id="key-in-kid-position"),
    pytest.param(f"k1:{K1}", "k1", K1, "differ", id="index-key-reuses-kek"),
    pytest.param(f"k1:{K1}", K2, INDEX, "not a valid key id", id="key-as-active-kid"),
]


@pytest.mark.parametrize(("keys", "active", "index_key", "message"), KEY_RING_ERRORS)
def test_from_config_rejects_bad_configuration_with_a_clear_message(
    keys, active, index_key, message
):
    with pytest.raises(KeyRingError, match=message):
        KeyRing.from_config(keys, active, index_key)


@pytest.mark.parametrize(("keys", "active", "index_key", "message"), KEY_RING_ERRORS)
def test_key_ring_errors_contain_no_key_material(keys, active, index_key, message):
    with pytest.raises(KeyRingError) as caught:
        KeyRing.from_config(keys, active, index_key)
    text = str(caught.value)
    for secret in (K1, K2, INDEX, K1[:-3], K2[:-4], K1[:16], K2[:16], INDEX[:16]):
        assert secret not in text
    assert caught.value.__cause__ is None


def test_key_ring_error_is_a_value_error():
    assert issubclass(KeyRingError, ValueError)


def test_key_ring_repr_shows_kids_but_no_keys():
    text = repr(ring_k1_k2_active_k2())
    assert "k1" in text
    assert "k2" in text
    for secret in (K1, K2, INDEX, (b"\x11" * 32).hex(), repr(b"\x11" * 32)):
        assert secret not in text


def test_generate_keys_env_makes_a_valid_fresh_configuration():
    env = crypto.generate_keys_env("demo1")
    assert set(env) == {"TELEREG_KEYS", "TELEREG_ACTIVE_KEY", "TELEREG_INDEX_KEY"}
    ring = KeyRing.from_config(
        env["TELEREG_KEYS"], env["TELEREG_ACTIVE_KEY"], env["TELEREG_INDEX_KEY"]
    )
    assert ring.active_kid == "demo1"
    assert crypto.generate_keys_env() != crypto.generate_keys_env()


def test_generate_key_is_base64_of_32_bytes():
    assert len(base64.b64decode(crypto.generate_key(), validate=True)) == 32
    assert crypto.generate_key() != crypto.generate_key()


# --- Blind index ----------------------------------------------------------------------


def test_blind_index_is_deterministic_hex_sha256():
    one = crypto.blind_index(ring_k1(), "document", "cn_resident", PLAINTEXT)
    two = crypto.blind_index(ring_k1(), "document", "cn_resident", PLAINTEXT)
    assert one == two
    assert len(one) == 64
    int(one, 16)
    assert PLAINTEXT not in one


def test_blind_index_differs_by_index_key():
    other = KeyRing.from_config(f"k1:{K1}", "k1", OTHER_INDEX)
    assert crypto.blind_index(ring_k1(), "a", "b") != crypto.blind_index(other, "a", "b")


def test_blind_index_does_not_depend_on_the_encryption_keys():
    assert crypto.blind_index(ring_k1(), "a") == crypto.blind_index(ring_k2_only(), "a")


def test_blind_index_differs_by_part_boundaries():
    ring = ring_k1()
    assert crypto.blind_index(ring, "ab", "c") != crypto.blind_index(ring, "a", "bc")
    assert crypto.blind_index(ring, "a\x1fb") != crypto.blind_index(ring, "a", "b")
    assert crypto.blind_index(ring, "ab") != crypto.blind_index(ring, "ab", "")


def test_blind_index_differs_by_value():
    ring = ring_k1()
    assert crypto.blind_index(ring, "passport", "E1234567") != crypto.blind_index(
        ring, "passport", "E1234568"
    )


def test_blind_index_needs_at_least_one_part():
    with pytest.raises(ValueError, match="at least one part"):
        crypto.blind_index(ring_k1())
