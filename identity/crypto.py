"""Envelope encryption, key ring and blind index for personal data.

Pure functions over bytes and strings: no Django models, no database, no logging.

Scheme
------
* Each person (a *subject*) gets a random 32-byte data key (DEK). Their field values are
  encrypted with AES-256-GCM under that DEK.
* The DEK is stored *wrapped*: AES-256-GCM-encrypted under a key-encryption key (KEK)
  from the key ring. Forgetting the wrapped DEK makes every ciphertext of that person
  unreadable, in the database and in backups alike (crypto-shredding).
* Rotation adds a new KEK, makes it active and re-wraps DEKs (:func:`rewrap_data_key`);
  field ciphertexts never need re-encrypting because the DEK itself does not change.
* Exact look-ups (e.g. a document number) use a keyed HMAC-SHA256 blind index with a
  separate index key, so equal inputs give equal indexes without storing the value.

Blob format (wrapped DEKs and field ciphertexts alike)::

    b"v1" | len(kid): 1 byte | kid: ASCII | nonce: 12 bytes | ciphertext + 16-byte tag

A wrapped DEK names the KEK that wrapped it; a field ciphertext has an empty kid
(``len(kid) == 0``) because its key is the DEK of the row it belongs to. Overhead: 31
bytes per field, 31 + len(kid) bytes per wrapped DEK.

Associated data (authenticated, not stored) binds each blob to its context, so a blob
copied elsewhere fails to decrypt: the whole header, a purpose label (DEK vs field),
the subject id and, for fields, the field name, each length-prefixed.

Guarantees
----------
* Every failure to decrypt raises :class:`DecryptionError`, whose message never contains
  plaintext, key material or the subject id, and which never chains the underlying
  exception (``from None``) so no library detail leaks into tracebacks.
* :class:`KeyRingError` messages name the configuration setting and the entry position
  or key id, never a key or anything that could be one.
* ``repr()`` of a :class:`KeyRing` shows key ids only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.views.decorators.debug import sensitive_variables

__all__ = [
    "KEY_BYTES",
    "DecryptionError",
    "KeyRing",
    "KeyRingError",
    "blind_index",
    "decrypt_field",
    "encrypt_field",
    "generate_key",
    "generate_keys_env",
    "key_id_of",
    "new_data_key",
    "rewrap_data_key",
    "rewrap_data_keys",
    "unwrap_data_key",
    "wrap_data_key",
]

KEY_BYTES = 32  # AES-256 and the HMAC-SHA256 index key
NONCE_BYTES = 12  # the GCM standard nonce size: no GHASH-derived IV
TAG_BYTES = 16
VERSION = b"v1"
# Key ids end up in Person.key_id (max_length=64) and in the blob's 1-byte length field.
# The character set excludes ':' and ',' so TELEREG_KEYS stays parseable, and excludes
# '=', '+' and '/' so a base64 key pasted in the wrong place can never pass as a kid.
MAX_KID_LENGTH = 64
_KID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# Purpose labels in the associated data: a wrapped DEK can never be accepted as a field
# ciphertext or the other way round, even if a DEK were somehow equal to a KEK.
_PURPOSE_DEK = "telereg/data-key"
_PURPOSE_FIELD = "telereg/field"
_PURPOSE_INDEX = b"telereg/blind-index/v1"


class KeyRingError(ValueError):
    """The key configuration is unusable. The message never contains key material."""


class DecryptionError(Exception):
    """A blob could not be decrypted: tampered, bound to another subject or field, under
    an unknown key id, erased (shredded), or malformed. The message never contains
    plaintext, key material or the subject id."""


# --- Key ring ---------------------------------------------------------------------------


def _decode_key(text: str, *, what: str) -> bytes:
    """Decode a base64 key of exactly KEY_BYTES; errors name ``what``, never the value."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        # ValueError: non-ASCII characters. Both exceptions may quote the input: drop them.
        raise KeyRingError(f"{what} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyRingError(
            f"{what} must decode to {KEY_BYTES} bytes (AES-256), got {len(raw)} bytes"
        )
    return raw


def _check_kid(kid: str, *, what: str) -> None:
    if not _KID_RE.fullmatch(kid):
        # Do not echo the value: a malformed kid may be a misplaced key.
        raise KeyRingError(
            f"{what}: key id must be 1-{MAX_KID_LENGTH} characters from A-Z a-z 0-9 _ . -"
        )


class KeyRing:
    """Key-encryption keys by id, the id that wraps new DEKs, and the blind-index key.

    Immutable once built. Always valid: at least one KEK, every key exactly 32 bytes,
    the active id present, the index key distinct from every KEK.
    """

    __slots__ = ("_active_kid", "_index_key", "_keys")

    def __init__(self, keys: Mapping[str, bytes], active_kid: str, index_key: bytes) -> None:
        if not keys:
            raise KeyRingError("the key ring has no key-encryption keys")
        for kid, key in keys.items():
            _check_kid(kid, what="key ring")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {kid!r} must be {KEY_BYTES} bytes, got {len(key)}")
        if active_kid not in keys:
            raise KeyRingError(_unknown_active_message(active_kid, keys))
        if len(index_key) != KEY_BYTES:
            raise KeyRingError(f"the index key must be {KEY_BYTES} bytes, got {len(index_key)}")
        if any(hmac.compare_digest(index_key, key) for key in keys.values()):
            # One key for two purposes couples their security; refuse the mistake early.
            raise KeyRingError("the index key must differ from every key-encryption key")
        self._keys: Mapping[str, bytes] = MappingProxyType(
            {kid: bytes(key) for kid, key in keys.items()}
        )
        self._active_kid = active_kid
        self._index_key = bytes(index_key)

    @property
    def active_kid(self) -> str:
        """The key id that wraps new DEKs (and that rotation re-wraps towards)."""
        return self._active_kid

    @property
    def kids(self) -> tuple[str, ...]:
        """Every key id in the ring, in configuration order."""
        return tuple(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:
        return f"KeyRing(kids={list(self._keys)!r}, active={self._active_kid!r})"

    def _kek(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise DecryptionError(
                f"key id {kid!r} is not in the key ring (retired before re-wrapping?)"
            ) from None

    @property
    def _index(self) -> bytes:
        return self._index_key

    @classmethod
    def from_config(cls, keys: str, active: str, index_key: str) -> KeyRing:
        """Build a ring from the three settings' strings.

        ``keys`` is ``"kid:base64key,kid2:base64key"`` (whitespace around entries and a
        trailing comma are tolerated); ``active`` names one of those kids; ``index_key``
        is a base64 32-byte key. Raises :class:`KeyRingError` for an empty or malformed
        entry, a bad key id, bad base64, a key that is not 32 bytes, a duplicate kid, an
        unknown active kid or a missing/bad index key.
        """
        keys = (keys or "").strip()
        if not keys:
            raise KeyRingError("TELEREG_KEYS is empty: set it to 'kid:base64key[,kid2:...]'")
        parsed: dict[str, bytes] = {}
        entries = [entry.strip() for entry in keys.split(",")]
        for position, entry in enumerate(entries, start=1):
            if not entry:
                if position == len(entries):
                    continue  # a trailing comma
                raise KeyRingError(f"TELEREG_KEYS entry {position} is empty")
            kid, sep, encoded = entry.partition(":")
            kid = kid.strip()
            if not sep or not encoded.strip():
                raise KeyRingError(f"TELEREG_KEYS entry {position} is not in 'kid:base64key' form")
            _check_kid(kid, what=f"TELEREG_KEYS entry {position}")
            if kid in parsed:
                raise KeyRingError(f"TELEREG_KEYS has key id {kid!r} more than once")
            parsed[kid] = _decode_key(encoded, what=f"TELEREG_KEYS key {kid!r}")

        active = (active or "").strip()
        if not active:
            raise KeyRingError("TELEREG_ACTIVE_KEY is empty: set it to one of the key ids")
        if active not in parsed:
            raise KeyRingError(_unknown_active_message(active, parsed))

        index_key = (index_key or "").strip()
        if not index_key:
            raise KeyRingError("TELEREG_INDEX_KEY is empty: set it to a base64 32-byte key")
        index = _decode_key(index_key, what="TELEREG_INDEX_KEY")
        return cls(parsed, active, index)

    @classmethod
    def from_settings(cls) -> KeyRing:
        """The ring configured in Django settings, built once per distinct configuration.

        Cached on the three setting values rather than once per process, so
        ``override_settings`` in tests (or a changed setting) gets a matching ring.
        """
        from django.conf import settings  # lazily: this module must not need Django

        return _ring_cached(
            getattr(settings, "TELEREG_KEYS", "") or "",
            getattr(settings, "TELEREG_ACTIVE_KEY", "") or "",
            getattr(settings, "TELEREG_INDEX_KEY", "") or "",
        )


def _unknown_active_message(active: str, kids: Mapping[str, bytes]) -> str:
    known = ", ".join(repr(kid) for kid in kids)
    if _KID_RE.fullmatch(active):
        return f"TELEREG_ACTIVE_KEY {active!r} is not one of the configured key ids ({known})"
    return f"TELEREG_ACTIVE_KEY is not a valid key id; configured key ids: {known}"


@functools.lru_cache(maxsize=8)
def _ring_cached(keys: str, active: str, index_key: str) -> KeyRing:
    return KeyRing.from_config(keys, active, index_key)


def generate_key() -> str:
    """A fresh random 32-byte key, base64-encoded (the format TELEREG_* settings take)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def generate_keys_env(kid: str = "k1") -> dict[str, str]:
    """A complete, fresh key configuration: ``TELEREG_KEYS`` with one key named ``kid``,
    ``TELEREG_ACTIVE_KEY`` = ``kid`` and an independent ``TELEREG_INDEX_KEY``.
    The result always passes :meth:`KeyRing.from_config`."""
    _check_kid(kid, what="generate_keys_env")
    return {
        "TELEREG_KEYS": f"{kid}:{generate_key()}",
        "TELEREG_ACTIVE_KEY": kid,
        "TELEREG_INDEX_KEY": generate_key(),
    }


# --- Blob format ------------------------------------------------------------------------


def _encode_parts(*parts: str | bytes) -> bytes:
    """Unambiguous concatenation: each part as a 4-byte big-endian length, then the bytes.
    ("ab", "c") and ("a", "bc") therefore never encode alike."""
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        out += struct.pack(">I", len(data))
        out += data
    return bytes(out)


def _header(kid: str) -> bytes:
    raw = kid.encode("ascii")
    return VERSION + bytes([len(raw)]) + raw


@sensitive_variables()
def _seal(key: bytes, plaintext: bytes, *, kid: str, context: bytes) -> bytes:
    return _seal_with(AESGCM(key), plaintext, header=_header(kid), context=context)


def _seal_with(cipher: AESGCM, plaintext: bytes, *, header: bytes, context: bytes) -> bytes:
    # Random 96-bit nonces: safe for well under 2**32 messages per key. A DEK encrypts a
    # handful of fields per person; a KEK wraps one DEK per person, and rotation adds keys.
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + cipher.encrypt(nonce, plaintext, header + context)


def _split(blob: bytes, *, what: str) -> tuple[bytes, str, bytes, bytes]:
    """(header, kid, nonce, ciphertext+tag) of a blob, or DecryptionError if malformed."""
    blob = bytes(blob)  # PostgreSQL hands BinaryField values back as memoryview
    if not blob:
        raise DecryptionError(f"{what} is empty (erased)")
    if len(blob) < len(VERSION) + 1 or blob[: len(VERSION)] != VERSION:
        raise DecryptionError(f"{what} has an unknown format version")
    kid_len = blob[len(VERSION)]
    kid_end = len(VERSION) + 1 + kid_len
    if len(blob) < kid_end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(f"{what} is truncated")
    try:
        kid = blob[len(VERSION) + 1 : kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError(f"{what} has a malformed key id") from None
    if kid and not _KID_RE.fullmatch(kid):
        raise DecryptionError(f"{what} has a malformed key id")
    nonce = blob[kid_end : kid_end + NONCE_BYTES]
    return blob[:kid_end], kid, nonce, blob[kid_end + NONCE_BYTES :]


@sensitive_variables()
def _open(key: bytes, blob: bytes, *, what: str, context: bytes) -> bytes:
    header, _kid, nonce, sealed = _split(blob, what=what)
    return _open_with(AESGCM(key), header, nonce, sealed, what=what, context=context)


def _open_with(
    cipher: AESGCM, header: bytes, nonce: bytes, sealed: bytes, *, what: str, context: bytes
) -> bytes:
    """Decrypt the parts of a blob already split by :func:`_split`."""
    try:
        return cipher.decrypt(nonce, sealed, header + context)
    except InvalidTag:
        raise DecryptionError(
            f"{what} failed authentication (tampered, or bound to another subject/field)"
        ) from None


def key_id_of(blob: bytes) -> str:
    """The key id a blob names: the KEK of a wrapped DEK, or ``""`` for a field
    ciphertext. Reads the header only (no key needed); DecryptionError if malformed."""
    return _split(blob, what="blob")[1]


# --- Data keys --------------------------------------------------------------------------


def new_data_key() -> bytes:
    """A fresh random 32-byte data key (DEK) from the OS CSPRNG."""
    return os.urandom(KEY_BYTES)


def _check_dek(dek: bytes) -> bytes:
    dek = bytes(dek)
    if len(dek) != KEY_BYTES:
        raise ValueError(f"a data key must be {KEY_BYTES} bytes, got {len(dek)}")
    return dek


def _dek_context(subject: str) -> bytes:
    return _encode_parts(_PURPOSE_DEK, str(subject))


def _field_context(subject: str, field: str) -> bytes:
    return _encode_parts(_PURPOSE_FIELD, str(subject), field)


def wrap_data_key(ring: KeyRing, dek: bytes, *, subject: str) -> bytes:
    """Encrypt ``dek`` under the ring's active KEK, bound to ``subject``.
    The result names the active kid (see :func:`key_id_of`)."""
    kid = ring.active_kid
    return _seal(ring._kek(kid), _check_dek(dek), kid=kid, context=_dek_context(subject))


@sensitive_variables()
def unwrap_data_key(ring: KeyRing, wrapped: bytes, *, subject: str) -> bytes:
    """The DEK inside ``wrapped``, using whichever KEK it names.

    Raises DecryptionError if the blob is empty (shredded), malformed, names a kid the
    ring no longer holds, was tampered with, or was wrapped for another subject."""
    _header_bytes, kid, _nonce, _sealed = _split(wrapped, what="wrapped data key")
    if not kid:
        raise DecryptionError("wrapped data key names no key id")
    dek = _open(ring._kek(kid), wrapped, what="wrapped data key", context=_dek_context(subject))
    if len(dek) != KEY_BYTES:
        raise DecryptionError("wrapped data key holds a key of the wrong length")
    return dek


def rewrap_data_key(ring: KeyRing, wrapped: bytes, *, subject: str) -> bytes:
    """``wrapped`` re-wrapped under the active KEK, for key rotation.

    Returns the very same bytes when it already names the active kid (nothing is
    decrypted then, so rotation over already-rotated rows is cheap and idempotent).
    Otherwise unwraps with the kid it names (DecryptionError as in unwrap_data_key)."""
    return rewrap_data_keys(ring, [(wrapped, subject)])[0]


def rewrap_data_keys(ring: KeyRing, items: Iterable[tuple[bytes, str]]) -> list[bytes]:
    """:func:`rewrap_data_key` over many ``(wrapped, subject)`` pairs, in order.

    Same results and errors, item by item (the first failure raises); cheaper per item
    because each KEK's cipher is set up once per call and each header parsed once. The
    DEKs stay inside this function."""
    active = ring.active_kid
    active_header = _header(active)
    ciphers: dict[str, AESGCM] = {}

    def cipher_for(kid: str) -> AESGCM:
        cipher = ciphers.get(kid)
        if cipher is None:
            cipher = ciphers[kid] = AESGCM(ring._kek(kid))
        return cipher

    out: list[bytes] = []
    for wrapped, subject in items:
        blob = bytes(wrapped)
        header, kid, nonce, sealed = _split(blob, what="wrapped data key")
        if kid == active:
            out.append(blob)
            continue
        if not kid:
            raise DecryptionError("wrapped data key names no key id")
        context = _dek_context(subject)
        dek = _open_with(
            cipher_for(kid), header, nonce, sealed, what="wrapped data key", context=context
        )
        if len(dek) != KEY_BYTES:
            raise DecryptionError("wrapped data key holds a key of the wrong length")
        out.append(_seal_with(cipher_for(active), dek, header=active_header, context=context))
    return out


# --- Fields -----------------------------------------------------------------------------


@sensitive_variables()
def encrypt_field(dek: bytes, value: str, *, subject: str, field: str) -> bytes:
    """AES-256-GCM of ``value`` (UTF-8) under ``dek``, bound to (subject, field):
    decrypting it as another subject's or another field's value fails."""
    if not isinstance(value, str):
        raise TypeError(f"encrypt_field takes str, not {type(value).__name__}")
    return _seal(
        _check_dek(dek), value.encode("utf-8"), kid="", context=_field_context(subject, field)
    )


@sensitive_variables()
def decrypt_field(dek: bytes, blob: bytes, *, subject: str, field: str) -> str:
    """The value sealed by :func:`encrypt_field` for the same (dek, subject, field).
    Raises DecryptionError on tampering, another subject/field, an erased (empty) or
    malformed blob, or the wrong key."""
    _header_bytes, kid, _nonce, _sealed = _split(blob, what="field ciphertext")
    if kid:
        raise DecryptionError("blob is a wrapped data key, not a field ciphertext")
    raw = _open(
        _check_dek(dek), blob, what="field ciphertext", context=_field_context(subject, field)
    )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # The exception object carries the decrypted bytes: never let it propagate.
        raise DecryptionError("field plaintext is not valid UTF-8") from None


# --- Blind index ------------------------------------------------------------------------


@sensitive_variables()
def blind_index(ring: KeyRing, *parts: str) -> str:
    """Hex HMAC-SHA256 under the ring's index key of the length-prefixed ``parts``.

    Deterministic for a given index key and parts; differs when any part, the split
    between parts, or the key differs. Callers normalise values first (e.g. document
    type + normalised number): the index is exact, byte-for-byte. Changing the index key
    changes every index, so it is not rotated together with the KEKs."""
    if not parts:
        raise ValueError("blind_index needs at least one part")
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"blind_index parts must be str, not {type(part).__name__}")
    message = _encode_parts(_PURPOSE_INDEX, *parts)
    return hmac.new(ring._index, message, hashlib.sha256).hexdigest()
