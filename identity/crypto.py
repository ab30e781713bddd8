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
    b"v2" | cipher: 1 byte | len(kid): 1 byte | kid: ASCII | nonce: 12 bytes | ct + tag

``v1`` is AES-256-GCM (every blob written before ciphers were named, and every AES
blob still: older processes in a rolling upgrade keep reading what newer ones write);
``v2`` names its cipher in one byte (1 AES-256-GCM, 2 SM4-GCM) and is what SM4 blobs
use.

Ciphers (China's commercial cryptography beside AES)
----------------------------------------------------
A key-ring entry may name its cipher: ``kid:base64key`` is AES-256-GCM (32-byte key),
``kid:sm4-gcm:base64key`` is SM4-GCM (GB/T 32907, 16-byte key). The field cipher
follows the KEK's: a person whose DEK is wrapped by an SM4 key has its fields sealed
with SM4-GCM. The DEK stays 32 random bytes whatever the cipher (so every ciphertext
sealed under it, wherever it lives, stays readable while a rotation moves the person
between families); under SM4 the field key is derived from it with HMAC-SM3 (a label
per cipher), under AES it is the DEK itself, as before. Decryption always follows the
blob's header, never the ring's active key, so mixed data keeps decrypting during and
after a rotation; a kid configured with another cipher than the one its blob names
fails closed. The blind index is HMAC-SHA256 or, with ``TELEREG_INDEX_KEY=hmac-sm3:…``,
HMAC-SM3; :attr:`KeyRing.index_key_id` fingerprints the index key and its algorithm so
rows indexed under another one can be found and re-indexed.

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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.views.decorators.debug import sensitive_variables

__all__ = [
    "AES_256_GCM",
    "CIPHERS",
    "HMAC_SHA256",
    "HMAC_SM3",
    "INDEX_ALGORITHMS",
    "KEY_BYTES",
    "SM4_GCM",
    "DecryptionError",
    "KeyRing",
    "KeyRingError",
    "blind_index",
    "cipher_of",
    "decrypt_field",
    "encrypt_field",
    "generate_key",
    "generate_keys_env",
    "key_id_of",
    "new_data_key",
    "reencrypt_field",
    "rewrap_data_key",
    "rewrap_data_keys",
    "unwrap_data_key",
    "wrap_data_key",
]

KEY_BYTES = 32  # AES-256, every DEK, and the index key (HMAC-SHA256 or HMAC-SM3)
NONCE_BYTES = 12  # the GCM standard nonce size: no GHASH-derived IV
TAG_BYTES = 16
VERSION = b"v1"  # AES-256-GCM, the cipher implied
VERSION_2 = b"v2"  # the cipher named in the byte after the version

AES_256_GCM = "aes-256-gcm"
SM4_GCM = "sm4-gcm"
# Cipher name -> (key bytes, header id, what error messages call it).
CIPHERS: Mapping[str, tuple[int, int, str]] = MappingProxyType(
    {AES_256_GCM: (32, 1, "AES-256"), SM4_GCM: (16, 2, "SM4")}
)
_CIPHER_BY_ID = {ident: name for name, (_size, ident, _label) in CIPHERS.items()}

HMAC_SHA256 = "hmac-sha256"
HMAC_SM3 = "hmac-sm3"
INDEX_ALGORITHMS = (HMAC_SHA256, HMAC_SM3)
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
_PURPOSE_INDEX_ID = b"telereg/index-key-id/v1"
_PURPOSE_FIELD_KEY = b"telereg/field-key/"


class KeyRingError(ValueError):
    """The key configuration is unusable. The message never contains key material."""


class DecryptionError(Exception):
    """A blob could not be decrypted: tampered, bound to another subject or field, under
    an unknown key id, erased (shredded), or malformed. The message never contains
    plaintext, key material or the subject id."""


# --- Key ring ---------------------------------------------------------------------------


def _decode_key(text: str, *, what: str, cipher: str = AES_256_GCM) -> bytes:
    """Decode a base64 key of exactly the cipher's key size (32 bytes unless told);
    errors name ``what``, never the value."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        # ValueError: non-ASCII characters. Both exceptions may quote the input: drop them.
        raise KeyRingError(f"{what} is not valid base64") from None
    size, _ident, label = CIPHERS[cipher]
    if len(raw) != size:
        raise KeyRingError(f"{what} must decode to {size} bytes ({label}), got {len(raw)} bytes")
    return raw


def _check_kid(kid: str, *, what: str) -> None:
    if not _KID_RE.fullmatch(kid):
        # Do not echo the value: a malformed kid may be a misplaced key.
        raise KeyRingError(
            f"{what}: key id must be 1-{MAX_KID_LENGTH} characters from A-Z a-z 0-9 _ . -"
        )
    if kid.lower() in CIPHERS or kid.lower() in INDEX_ALGORITHMS:
        # 'sm4-gcm:<key>' is a key without its id, not a key called sm4-gcm.
        raise KeyRingError(f"{what}: a key id cannot be a cipher name; use 'kid:cipher:key'")


class KeyRing:
    """Key-encryption keys by id (each with its cipher), the id that wraps new DEKs,
    and the blind-index key with its algorithm.

    Immutable once built. Always valid: at least one KEK, every key the size its cipher
    takes, the active id present, the index key 32 bytes and distinct from every KEK.
    """

    __slots__ = ("_active_kid", "_ciphers", "_index_algorithm", "_index_key", "_keys")

    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_kid: str,
        index_key: bytes,
        *,
        ciphers: Mapping[str, str] | None = None,
        index_algorithm: str = HMAC_SHA256,
    ) -> None:
        if not keys:
            raise KeyRingError("the key ring has no key-encryption keys")
        ciphers = dict(ciphers or {})
        for kid in ciphers:
            if kid not in keys:
                raise KeyRingError(f"a cipher is named for key id {kid!r}, which has no key")
        for kid, key in keys.items():
            _check_kid(kid, what="key ring")
            cipher = ciphers.setdefault(kid, AES_256_GCM)
            if cipher not in CIPHERS:
                raise KeyRingError(f"key {kid!r} names an unknown cipher")
            size, _ident, label = CIPHERS[cipher]
            if len(key) != size:
                raise KeyRingError(f"key {kid!r} must be {size} bytes ({label}), got {len(key)}")
        if active_kid not in keys:
            raise KeyRingError(_unknown_active_message(active_kid, keys))
        if index_algorithm not in INDEX_ALGORITHMS:
            raise KeyRingError("the index key names an unknown algorithm")
        if len(index_key) != KEY_BYTES:
            raise KeyRingError(f"the index key must be {KEY_BYTES} bytes, got {len(index_key)}")
        if any(hmac.compare_digest(index_key, key) for key in keys.values()):
            # One key for two purposes couples their security; refuse the mistake early.
            raise KeyRingError("the index key must differ from every key-encryption key")
        self._keys: Mapping[str, bytes] = MappingProxyType(
            {kid: bytes(key) for kid, key in keys.items()}
        )
        self._ciphers: Mapping[str, str] = MappingProxyType({kid: ciphers[kid] for kid in keys})
        self._active_kid = active_kid
        self._index_key = bytes(index_key)
        self._index_algorithm = index_algorithm

    @property
    def active_kid(self) -> str:
        """The key id that wraps new DEKs (and that rotation re-wraps towards)."""
        return self._active_kid

    @property
    def active_cipher(self) -> str:
        """The cipher of the active key: the one new persons' fields are sealed with."""
        return self._ciphers[self._active_kid]

    @property
    def kids(self) -> tuple[str, ...]:
        """Every key id in the ring, in configuration order."""
        return tuple(self._keys)

    def cipher_of(self, kid: str) -> str:
        """The cipher key ``kid`` is configured with; DecryptionError for a kid the ring
        does not hold (fails closed: nothing is sealed or opened under a guess)."""
        self._kek(kid)
        return self._ciphers[kid]

    @property
    def index_algorithm(self) -> str:
        return self._index_algorithm

    @property
    def index_key_id(self) -> str:
        """``algorithm:fingerprint`` of the index key (16 hex digits of a keyed digest
        of a fixed label: reveals nothing of the key). Rows record it beside their
        blind index, so a changed index key or algorithm finds the rows to re-index."""
        digest = _index_mac(self._index_algorithm, self._index_key, _PURPOSE_INDEX_ID)
        return f"{self._index_algorithm}:{digest[:16]}"

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:
        kids = [
            kid if cipher == AES_256_GCM else f"{kid}({cipher})"
            for kid, cipher in self._ciphers.items()
        ]
        return (
            f"KeyRing(kids={kids!r}, active={self._active_kid!r}, index={self._index_algorithm!r})"
        )

    def _kek(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise DecryptionError(
                f"key id {kid!r} is not in the key ring (retired before re-wrapping?)"
            ) from None

    def _kek_for(self, kid: str, cipher: str) -> bytes:
        """The KEK ``kid`` names, checked against the cipher its blob was sealed with."""
        key = self._kek(kid)
        configured = self._ciphers[kid]
        if configured != cipher:
            raise DecryptionError(
                f"key id {kid!r} is configured as {configured} but the blob was sealed "
                f"with {cipher} (a key id reused for another key?)"
            )
        return key

    @property
    def _index(self) -> bytes:
        return self._index_key

    @classmethod
    def from_config(cls, keys: str, active: str, index_key: str) -> KeyRing:
        """Build a ring from the three settings' strings.

        ``keys`` is ``"kid:base64key,kid2:cipher:base64key"``: an entry without a cipher
        is AES-256-GCM (32-byte key), ``sm4-gcm`` takes a 16-byte key (whitespace around
        entries and a trailing comma are tolerated); ``active`` names one of those kids;
        ``index_key`` is a base64 32-byte key, optionally prefixed ``hmac-sm3:`` or
        ``hmac-sha256:`` (the default). Raises :class:`KeyRingError` for an empty or
        malformed entry, a bad key id, an unknown cipher, bad base64, a key of the wrong
        size, a duplicate kid, an unknown active kid or a missing/bad index key.
        """
        keys = (keys or "").strip()
        if not keys:
            raise KeyRingError("TELEREG_KEYS is empty: set it to 'kid:base64key[,kid2:...]'")
        parsed: dict[str, bytes] = {}
        ciphers: dict[str, str] = {}
        entries = [entry.strip() for entry in keys.split(",")]
        for position, entry in enumerate(entries, start=1):
            if not entry:
                if position == len(entries):
                    continue  # a trailing comma
                raise KeyRingError(f"TELEREG_KEYS entry {position} is empty")
            # Base64 has no ':', so two colons can only mean kid:cipher:key.
            parts = [part.strip() for part in entry.split(":")]
            if len(parts) == 2:
                kid, cipher, encoded = parts[0], AES_256_GCM, parts[1]
            elif len(parts) == 3:
                kid, cipher, encoded = parts[0], parts[1].lower(), parts[2]
            else:
                raise KeyRingError(
                    f"TELEREG_KEYS entry {position} is not in 'kid:base64key' "
                    "or 'kid:cipher:base64key' form"
                )
            if not encoded:
                raise KeyRingError(f"TELEREG_KEYS entry {position} is not in 'kid:base64key' form")
            _check_kid(kid, what=f"TELEREG_KEYS entry {position}")
            if cipher not in CIPHERS:
                # Not echoed: a mangled entry may put key material here.
                raise KeyRingError(
                    f"TELEREG_KEYS entry {position} names an unknown cipher "
                    f"(known: {', '.join(CIPHERS)})"
                )
            if kid in parsed:
                raise KeyRingError(f"TELEREG_KEYS has key id {kid!r} more than once")
            parsed[kid] = _decode_key(encoded, what=f"TELEREG_KEYS key {kid!r}", cipher=cipher)
            ciphers[kid] = cipher

        active = (active or "").strip()
        if not active:
            raise KeyRingError("TELEREG_ACTIVE_KEY is empty: set it to one of the key ids")
        if active not in parsed:
            raise KeyRingError(_unknown_active_message(active, parsed))

        index_key = (index_key or "").strip()
        if not index_key:
            raise KeyRingError("TELEREG_INDEX_KEY is empty: set it to a base64 32-byte key")
        algorithm, sep, encoded_index = index_key.rpartition(":")
        algorithm = algorithm.strip().lower() if sep else HMAC_SHA256
        if algorithm not in INDEX_ALGORITHMS:
            raise KeyRingError(
                "TELEREG_INDEX_KEY names an unknown algorithm "
                f"(known: {', '.join(INDEX_ALGORITHMS)})"
            )
        index = _decode_key(encoded_index, what="TELEREG_INDEX_KEY")
        return cls(parsed, active, index, ciphers=ciphers, index_algorithm=algorithm)

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


def generate_key(cipher: str = AES_256_GCM) -> str:
    """A fresh random key of the cipher's size (32 bytes for AES-256-GCM and for the
    index key, 16 for SM4-GCM), base64-encoded (the format TELEREG_* settings take)."""
    return base64.b64encode(os.urandom(CIPHERS[cipher][0])).decode("ascii")


def generate_keys_env(
    kid: str = "k1", *, cipher: str = AES_256_GCM, index_algorithm: str = HMAC_SHA256
) -> dict[str, str]:
    """A complete, fresh key configuration: ``TELEREG_KEYS`` with one key named ``kid``
    (under ``cipher``), ``TELEREG_ACTIVE_KEY`` = ``kid`` and an independent
    ``TELEREG_INDEX_KEY`` (for ``index_algorithm``). The result always passes
    :meth:`KeyRing.from_config`; the defaults give the AES/SHA-256 syntax of old."""
    _check_kid(kid, what="generate_keys_env")
    if cipher not in CIPHERS or index_algorithm not in INDEX_ALGORITHMS:
        raise ValueError("unknown cipher or index algorithm")
    entry = (
        f"{kid}:{generate_key(cipher)}"
        if cipher == AES_256_GCM
        else (f"{kid}:{cipher}:{generate_key(cipher)}")
    )
    index = generate_key()
    return {
        "TELEREG_KEYS": entry,
        "TELEREG_ACTIVE_KEY": kid,
        "TELEREG_INDEX_KEY": index
        if index_algorithm == HMAC_SHA256
        else f"{index_algorithm}:{index}",
    }


# --- Ciphers ----------------------------------------------------------------------------


class _SM4GCM:
    """SM4-GCM with the interface of ``AESGCM`` (ciphertext || 16-byte tag).
    ``cryptography`` offers SM4 through its Cipher API only, not as an AEAD class."""

    __slots__ = ("_algorithm",)

    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.SM4(key)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        encryptor = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated_data)
        sealed = encryptor.update(data) + encryptor.finalize()
        return sealed + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
        if len(data) < TAG_BYTES:
            raise InvalidTag()
        decryptor = Cipher(self._algorithm, modes.GCM(nonce, data[-TAG_BYTES:])).decryptor()
        decryptor.authenticate_additional_data(associated_data)
        # Nothing is returned before finalize() has checked the tag.
        plaintext = decryptor.update(data[:-TAG_BYTES])
        return plaintext + decryptor.finalize()


_AEAD = AESGCM | _SM4GCM


@sensitive_variables()
def _aead(cipher: str, key: bytes) -> _AEAD:
    if cipher == AES_256_GCM:
        return AESGCM(key)
    if cipher == SM4_GCM:
        return _SM4GCM(key)
    raise DecryptionError("unknown cipher")


def _index_mac(algorithm: str, key: bytes, message: bytes) -> str:
    if algorithm == HMAC_SHA256:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(message)
    return mac.finalize().hex()


@sensitive_variables()
def _field_key(dek: bytes, cipher: str) -> bytes:
    """The key a field is sealed with under ``cipher``: the DEK itself for AES-256-GCM
    (as ever), for SM4-GCM the first 16 bytes of HMAC-SM3(DEK, label) — a key of the
    right size, independent of the AES use of the same DEK, derived with SM3 alone."""
    if cipher == AES_256_GCM:
        return dek
    mac = crypto_hmac.HMAC(dek, hashes.SM3())
    mac.update(_PURPOSE_FIELD_KEY + cipher.encode("ascii"))
    return mac.finalize()[: CIPHERS[cipher][0]]


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


def _header(kid: str, cipher: str = AES_256_GCM) -> bytes:
    raw = kid.encode("ascii")
    if cipher == AES_256_GCM:
        return VERSION + bytes([len(raw)]) + raw
    return VERSION_2 + bytes([CIPHERS[cipher][1], len(raw)]) + raw


def _seal_with(cipher: _AEAD, plaintext: bytes, *, header: bytes, context: bytes) -> bytes:
    # Random 96-bit nonces: safe for well under 2**32 messages per key. A DEK encrypts a
    # handful of fields per person; a KEK wraps one DEK per person, and rotation adds keys.
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + cipher.encrypt(nonce, plaintext, header + context)


class _Parts:
    __slots__ = ("cipher", "header", "kid", "nonce", "sealed")

    def __init__(self, header: bytes, kid: str, cipher: str, nonce: bytes, sealed: bytes):
        self.header, self.kid, self.cipher, self.nonce, self.sealed = (
            header,
            kid,
            cipher,
            nonce,
            sealed,
        )


def _split(blob: bytes, *, what: str) -> _Parts:
    """The parts of a blob (header, kid, cipher, nonce, ciphertext+tag), or
    DecryptionError if malformed."""
    blob = bytes(blob)  # PostgreSQL hands BinaryField values back as memoryview
    if not blob:
        raise DecryptionError(f"{what} is empty (erased)")
    version = blob[: len(VERSION)]
    if version == VERSION:
        cipher, at = AES_256_GCM, len(VERSION)
    elif version == VERSION_2 and len(blob) > len(VERSION_2):
        cipher = _CIPHER_BY_ID.get(blob[len(VERSION_2)])
        if cipher is None:
            raise DecryptionError(f"{what} names an unknown cipher")
        at = len(VERSION_2) + 1
    else:
        raise DecryptionError(f"{what} has an unknown format version")
    if len(blob) < at + 1:
        raise DecryptionError(f"{what} is truncated")
    kid_len = blob[at]
    kid_end = at + 1 + kid_len
    if len(blob) < kid_end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(f"{what} is truncated")
    try:
        kid = blob[at + 1 : kid_end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError(f"{what} has a malformed key id") from None
    if kid and not _KID_RE.fullmatch(kid):
        raise DecryptionError(f"{what} has a malformed key id")
    nonce = blob[kid_end : kid_end + NONCE_BYTES]
    return _Parts(blob[:kid_end], kid, cipher, nonce, blob[kid_end + NONCE_BYTES :])


def _open_with(cipher: _AEAD, parts: _Parts, *, what: str, context: bytes) -> bytes:
    """Decrypt the parts of a blob already split by :func:`_split`."""
    try:
        return cipher.decrypt(parts.nonce, parts.sealed, parts.header + context)
    except InvalidTag:
        raise DecryptionError(
            f"{what} failed authentication (tampered, or bound to another subject/field)"
        ) from None


def key_id_of(blob: bytes) -> str:
    """The key id a blob names: the KEK of a wrapped DEK, or ``""`` for a field
    ciphertext. Reads the header only (no key needed); DecryptionError if malformed."""
    return _split(blob, what="blob").kid


def cipher_of(blob: bytes) -> str:
    """The cipher a blob was sealed with (``aes-256-gcm`` or ``sm4-gcm``), from its
    header only (no key needed); DecryptionError if malformed."""
    return _split(blob, what="blob").cipher


# --- Data keys --------------------------------------------------------------------------


def new_data_key() -> bytes:
    """A fresh random 32-byte data key (DEK) from the OS CSPRNG, whatever the cipher."""
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


@sensitive_variables()
def wrap_data_key(ring: KeyRing, dek: bytes, *, subject: str) -> bytes:
    """Encrypt ``dek`` under the ring's active KEK (with that key's cipher), bound to
    ``subject``. The result names the active kid (see :func:`key_id_of`)."""
    kid = ring.active_kid
    cipher = ring.active_cipher
    return _seal_with(
        _aead(cipher, ring._kek(kid)),
        _check_dek(dek),
        header=_header(kid, cipher),
        context=_dek_context(subject),
    )


@sensitive_variables()
def unwrap_data_key(ring: KeyRing, wrapped: bytes, *, subject: str) -> bytes:
    """The DEK inside ``wrapped``, using whichever KEK it names.

    Raises DecryptionError if the blob is empty (shredded), malformed, names a kid the
    ring no longer holds or holds under another cipher, was tampered with, or was
    wrapped for another subject."""
    parts = _split(wrapped, what="wrapped data key")
    if not parts.kid:
        raise DecryptionError("wrapped data key names no key id")
    cipher = _aead(parts.cipher, ring._kek_for(parts.kid, parts.cipher))
    dek = _open_with(cipher, parts, what="wrapped data key", context=_dek_context(subject))
    if len(dek) != KEY_BYTES:
        raise DecryptionError("wrapped data key holds a key of the wrong length")
    return dek


def rewrap_data_key(ring: KeyRing, wrapped: bytes, *, subject: str) -> bytes:
    """``wrapped`` re-wrapped under the active KEK, for key rotation.

    Returns the very same bytes when it already names the active kid (nothing is
    decrypted then, so rotation over already-rotated rows is cheap and idempotent).
    Otherwise unwraps with the kid it names (DecryptionError as in unwrap_data_key)."""
    return rewrap_data_keys(ring, [(wrapped, subject)])[0]


@sensitive_variables()
def rewrap_data_keys(ring: KeyRing, items: Iterable[tuple[bytes, str]]) -> list[bytes]:
    """:func:`rewrap_data_key` over many ``(wrapped, subject)`` pairs, in order.

    Same results and errors, item by item (the first failure raises); cheaper per item
    because each KEK's cipher is set up once per call and each header parsed once. The
    DEKs stay inside this function."""
    active = ring.active_kid
    active_cipher = ring.active_cipher
    active_header = _header(active, active_cipher)
    ciphers: dict[str, _AEAD] = {}

    def cipher_for(kid: str, cipher: str) -> _AEAD:
        aead = ciphers.get(kid)
        if aead is None:
            aead = ciphers[kid] = _aead(cipher, ring._kek_for(kid, cipher))
        return aead

    out: list[bytes] = []
    for wrapped, subject in items:
        blob = bytes(wrapped)
        parts = _split(blob, what="wrapped data key")
        if parts.kid == active and parts.cipher == active_cipher:
            out.append(blob)
            continue
        if not parts.kid:
            raise DecryptionError("wrapped data key names no key id")
        context = _dek_context(subject)
        dek = _open_with(
            cipher_for(parts.kid, parts.cipher), parts, what="wrapped data key", context=context
        )
        if len(dek) != KEY_BYTES:
            raise DecryptionError("wrapped data key holds a key of the wrong length")
        out.append(
            _seal_with(
                cipher_for(active, active_cipher), dek, header=active_header, context=context
            )
        )
    return out


# --- Fields -----------------------------------------------------------------------------


@sensitive_variables()
def encrypt_field(
    dek: bytes, value: str, *, subject: str, field: str, cipher: str = AES_256_GCM
) -> bytes:
    """``cipher`` (AES-256-GCM unless told; callers pass the cipher of the KEK that
    wraps ``dek``) of ``value`` (UTF-8) under ``dek``, bound to (subject, field):
    decrypting it as another subject's or another field's value fails."""
    if not isinstance(value, str):
        raise TypeError(f"encrypt_field takes str, not {type(value).__name__}")
    if cipher not in CIPHERS:
        raise ValueError("unknown cipher")
    return _seal_with(
        _aead(cipher, _field_key(_check_dek(dek), cipher)),
        value.encode("utf-8"),
        header=_header("", cipher),
        context=_field_context(subject, field),
    )


@sensitive_variables()
def _decrypt_field_bytes(dek: bytes, blob: bytes, *, subject: str, field: str) -> bytes:
    parts = _split(blob, what="field ciphertext")
    if parts.kid:
        raise DecryptionError("blob is a wrapped data key, not a field ciphertext")
    return _open_with(
        _aead(parts.cipher, _field_key(_check_dek(dek), parts.cipher)),
        parts,
        what="field ciphertext",
        context=_field_context(subject, field),
    )


@sensitive_variables()
def decrypt_field(dek: bytes, blob: bytes, *, subject: str, field: str) -> str:
    """The value sealed by :func:`encrypt_field` for the same (dek, subject, field),
    under whichever cipher the blob names. Raises DecryptionError on tampering, another
    subject/field, an erased (empty) or malformed blob, or the wrong key."""
    raw = _decrypt_field_bytes(dek, blob, subject=subject, field=field)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # The exception object carries the decrypted bytes: never let it propagate.
        raise DecryptionError("field plaintext is not valid UTF-8") from None


@sensitive_variables()
def reencrypt_field(dek: bytes, blob: bytes, *, subject: str, field: str, cipher: str) -> bytes:
    """``blob`` sealed again under ``cipher`` (same DEK, subject and field), for a
    rotation that moves a person between cipher families. The very same bytes when it
    already uses ``cipher``; DecryptionError as in :func:`decrypt_field` otherwise.
    The plaintext never leaves this function."""
    blob = bytes(blob)
    if _split(blob, what="field ciphertext").cipher == cipher:
        return blob
    raw = _decrypt_field_bytes(dek, blob, subject=subject, field=field)
    return _seal_with(
        _aead(cipher, _field_key(_check_dek(dek), cipher)),
        raw,
        header=_header("", cipher),
        context=_field_context(subject, field),
    )


# --- Blind index ------------------------------------------------------------------------


@sensitive_variables()
def blind_index(ring: KeyRing, *parts: str) -> str:
    """Hex HMAC (SHA-256, or SM3 when the index key says ``hmac-sm3:``) under the ring's
    index key of the length-prefixed ``parts``: 64 hex digits either way.

    Deterministic for a given index key and parts; differs when any part, the split
    between parts, the algorithm or the key differs. Callers normalise values first
    (e.g. document type + normalised number): the index is exact, byte-for-byte.
    Changing the index key or its algorithm changes every index, so it is not rotated
    together with the KEKs: rows are re-indexed (identity's ``reindex_documents``)."""
    if not parts:
        raise ValueError("blind_index needs at least one part")
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"blind_index parts must be str, not {type(part).__name__}")
    message = _encode_parts(_PURPOSE_INDEX, *parts)
    return _index_mac(ring._index_algorithm, ring._index, message)
