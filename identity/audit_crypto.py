"""Keys of the access log: the HMAC key ring that chains entries and the Ed25519
key that signs checkpoints of the chain heads.

Neither key is in the database, so a database role that can rewrite the log
tables (the owner, a restored backup, an attacker with SQL) cannot recompute a
chain or forge a checkpoint.

* ``TELEREG_AUDIT_KEYS`` is ``"kid:base64-32-bytes[,kid2:...]"`` and
  ``TELEREG_AUDIT_ACTIVE_KEY`` names the kid that chains new entries. Each
  entry records its kid, so after a rotation (add the new key, make it active,
  keep the old ones) old entries still verify. A kid may leave the ring only
  when no entry names it any more (never, in practice: the log is kept).
* ``TELEREG_AUDIT_SIGNING_KEY`` is the Ed25519 private key: base64 of the raw
  32 bytes, or PEM (PKCS#8). ``TELEREG_AUDIT_VERIFY_KEYS`` lists the base64 raw
  public keys of retired signing keys, whose checkpoints still verify.

Error messages name the setting, never a key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils.translation import gettext_noop

from .crypto import KeyRingError, _check_kid, _decode_key, generate_key

__all__ = [
    "AuditKeyRing",
    "CheckpointSigner",
    "KeyRingError",
    "generate_audit_env",
]


class AuditKeyRing:
    """HMAC-SHA256 keys by id and the id that chains new entries. Always valid."""

    __slots__ = ("_active", "_keys")

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if not keys:
            raise KeyRingError("TELEREG_AUDIT_KEYS has no keys")
        if active not in keys:
            raise KeyRingError(
                "TELEREG_AUDIT_ACTIVE_KEY is not one of the key ids in TELEREG_AUDIT_KEYS"
            )
        self._keys = MappingProxyType(dict(keys))
        self._active = active

    @property
    def active_kid(self) -> str:
        return self._active

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:
        return f"AuditKeyRing(kids={list(self._keys)!r}, active={self._active!r})"

    def mac(self, kid: str, message: bytes) -> str:
        """Hex HMAC-SHA256 of ``message`` under key ``kid`` (KeyError if unknown)."""
        return hmac.new(self._keys[kid], message, hashlib.sha256).hexdigest()

    @classmethod
    def from_config(cls, keys: str, active: str) -> AuditKeyRing:
        keys = (keys or "").strip()
        if not keys:
            raise KeyRingError("TELEREG_AUDIT_KEYS is empty: set it to 'kid:base64key[,kid2:...]'")
        parsed: dict[str, bytes] = {}
        entries = [entry.strip() for entry in keys.split(",")]
        for position, entry in enumerate(entries, start=1):
            if not entry:
                if position == len(entries):
                    continue
                raise KeyRingError(f"TELEREG_AUDIT_KEYS entry {position} is empty")
            kid, sep, encoded = entry.partition(":")
            kid = kid.strip()
            if not sep or not encoded.strip():
                raise KeyRingError(
                    f"TELEREG_AUDIT_KEYS entry {position} is not in 'kid:base64key' form"
                )
            _check_kid(kid, what=f"TELEREG_AUDIT_KEYS entry {position}")
            if kid in parsed:
                raise KeyRingError(f"TELEREG_AUDIT_KEYS has key id {kid!r} more than once")
            parsed[kid] = _decode_key(encoded, what=f"TELEREG_AUDIT_KEYS key {kid!r}")
        active = (active or "").strip()
        if not active:
            raise KeyRingError("TELEREG_AUDIT_ACTIVE_KEY is empty: set it to one of the key ids")
        return cls(parsed, active)

    @classmethod
    def from_settings(cls) -> AuditKeyRing:
        from django.conf import settings

        return _ring_cached(
            getattr(settings, "TELEREG_AUDIT_KEYS", "") or "",
            getattr(settings, "TELEREG_AUDIT_ACTIVE_KEY", "") or "",
        )


@functools.lru_cache(maxsize=8)
def _ring_cached(keys: str, active: str) -> AuditKeyRing:
    return AuditKeyRing.from_config(keys, active)


def _fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _load_private(text: str) -> Ed25519PrivateKey:
    text = (text or "").strip()
    if not text:
        raise KeyRingError("TELEREG_AUDIT_SIGNING_KEY is empty")
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            raise KeyRingError("TELEREG_AUDIT_SIGNING_KEY is not a readable PEM key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyRingError("TELEREG_AUDIT_SIGNING_KEY must be an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError("TELEREG_AUDIT_SIGNING_KEY is neither PEM nor base64") from None
    if len(raw) != 32:
        raise KeyRingError("TELEREG_AUDIT_SIGNING_KEY must decode to 32 bytes (Ed25519)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _load_public(text: str, position: int) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        if len(raw) != 32:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise KeyRingError(
            f"TELEREG_AUDIT_VERIFY_KEYS entry {position} is not a base64 32-byte public key"
        ) from None


@dataclass(frozen=True)
class CheckpointSigner:
    """Signs with the active Ed25519 key; verifies with it and the retired ones."""

    private: Ed25519PrivateKey
    trusted: Mapping[str, Ed25519PublicKey]

    @property
    def key_id(self) -> str:
        return _fingerprint(self.private.public_key())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode("ascii")

    def verify(self, key_id: str, message: bytes, signature: str) -> str | None:
        """None when valid, else what is wrong (never raises on bad input)."""
        public = self.trusted.get(key_id)
        if public is None:
            return gettext_noop("signed by an unknown key")
        try:
            public.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError, TypeError):
            return gettext_noop("bad signature")
        return None

    @classmethod
    def from_config(cls, signing_key: str, verify_keys: str = "") -> CheckpointSigner:
        private = _load_private(signing_key)
        trusted = {_fingerprint(private.public_key()): private.public_key()}
        entries = [e for e in (verify_keys or "").split(",") if e.strip()]
        for position, entry in enumerate(entries, start=1):
            public = _load_public(entry, position)
            trusted[_fingerprint(public)] = public
        return cls(private=private, trusted=MappingProxyType(trusted))

    @classmethod
    def from_settings(cls) -> CheckpointSigner:
        from django.conf import settings

        return _signer_cached(
            getattr(settings, "TELEREG_AUDIT_SIGNING_KEY", "") or "",
            getattr(settings, "TELEREG_AUDIT_VERIFY_KEYS", "") or "",
        )


@functools.lru_cache(maxsize=8)
def _signer_cached(signing_key: str, verify_keys: str) -> CheckpointSigner:
    return CheckpointSigner.from_config(signing_key, verify_keys)


def generate_audit_env(kid: str = "a1") -> dict[str, str]:
    """Fresh audit settings: one HMAC key named ``kid`` and an Ed25519 signing key."""
    seed = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return {
        "TELEREG_AUDIT_KEYS": f"{kid}:{generate_key()}",
        "TELEREG_AUDIT_ACTIVE_KEY": kid,
        "TELEREG_AUDIT_SIGNING_KEY": base64.b64encode(seed).decode("ascii"),
    }
