"""Person-level encryption: the only module that turns a Person's ciphertexts
into clear text and back.

Callers outside the identity app never use it directly: they get masked
values from :func:`identity.selectors.person_masked`, or unmasked ones from
:func:`identity.services.person_reveal`, which writes the access log first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.views.decorators.debug import sensitive_variables

from . import crypto
from .documents import normalise_document
from .errors import PersonShredded
from .models import ENCRYPTED_FIELDS

if TYPE_CHECKING:
    import uuid

    from .models import Person
    from .types import IdentityData


def ring() -> crypto.KeyRing:
    return crypto.KeyRing.from_settings()


@sensitive_variables()
def document_index(id_type: str, normalised_number: str) -> str:
    """The blind index of a document: equal documents give equal indexes,
    and the index reveals nothing without the index key."""
    return crypto.blind_index(ring(), "document", id_type, normalised_number)


def index_key_id() -> str:
    """The fingerprint of the index key and algorithm :func:`document_index` uses
    now: stored beside each blind index (Person.index_key_id)."""
    return ring().index_key_id


def digest(*parts: str) -> str:
    """A keyed digest of other values (e.g. the simulated registry's names)."""
    return crypto.blind_index(ring(), *parts)


@sensitive_variables()
def identity_values(identity: IdentityData) -> dict[str, str | None]:
    def text(value: object) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    return {name: text(getattr(identity, name)) for name in ENCRYPTED_FIELDS}


def _data_key(person: Person) -> bytes:
    if person.wrapped_key is None:
        raise PersonShredded()
    return crypto.unwrap_data_key(ring(), bytes(person.wrapped_key), subject=person.subject)


def field_cipher(person: Person) -> str:
    """The cipher new values of this person are sealed with: the cipher of the key
    that wraps their data key (SM4-GCM under an SM4 key, AES-256-GCM otherwise), as
    its blob's header names it; an unknown or mismatched key id fails closed."""
    if person.wrapped_key is None:
        raise PersonShredded()
    wrapped = bytes(person.wrapped_key)
    cipher = crypto.cipher_of(wrapped)
    configured = ring().cipher_of(crypto.key_id_of(wrapped))
    if configured != cipher:
        raise crypto.DecryptionError("the wrapped data key's cipher is not its key id's")
    return cipher


@sensitive_variables()
def _sealing_key(person: Person) -> tuple[bytes, str]:
    return _data_key(person), field_cipher(person)


@sensitive_variables()
def seal_new(person: Person, values: dict[str, str | None]) -> None:
    """Give a new person a data key and encrypt all their fields (not saved)."""
    keys = ring()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(keys, dek, subject=person.subject)
    person.wrapped_key = wrapped
    person.key_id = crypto.key_id_of(wrapped)
    _seal(person, dek, values, cipher=keys.active_cipher)


@sensitive_variables()
def seal(person: Person, values: dict[str, str | None]) -> None:
    """Encrypt the given fields of an existing person (not saved)."""
    dek, cipher = _sealing_key(person)
    _seal(person, dek, values, cipher=cipher)


@sensitive_variables()
def _seal(person: Person, dek: bytes, values: dict[str, str | None], *, cipher: str) -> None:
    for name, value in values.items():
        if name not in ENCRYPTED_FIELDS:
            raise ValueError(f"{name} is not an encrypted field")
        blob = (
            None
            if value is None
            else crypto.encrypt_field(dek, value, subject=person.subject, field=name, cipher=cipher)
        )
        if blob is None and name in ("name", "id_number", "date_of_birth", "sex"):
            raise ValueError(f"{name} is required")
        setattr(person, f"{name}_enc", blob)
        if name == "id_expiry":
            # In clear beside it: a date the cycle selects on, not an identifier.
            person.id_expires_on = dt.date.fromisoformat(value) if value else None


@sensitive_variables()
def encrypt_values(person: Person, values: dict[str, str | None]) -> dict[str, str | None]:
    """Encrypt values under the person's key without setting them (for versions
    and correction proposals); returns field → base64 ciphertext."""
    import base64

    dek, cipher = _sealing_key(person)
    return {
        name: None
        if value is None
        else base64.b64encode(
            crypto.encrypt_field(dek, value, subject=person.subject, field=name, cipher=cipher)
        ).decode()
        for name, value in values.items()
    }


@sensitive_variables()
def decrypt_values(person: Person, encoded: dict[str, str | None]) -> dict[str, str | None]:
    import base64

    dek = _data_key(person)
    return {
        name: None
        if blob is None
        else crypto.decrypt_field(dek, base64.b64decode(blob), subject=person.subject, field=name)
        for name, blob in encoded.items()
    }


def current_ciphertexts(person: Person, fields: Iterable[str]) -> dict[str, str | None]:
    import base64

    out: dict[str, str | None] = {}
    for name in fields:
        blob = getattr(person, f"{name}_enc")
        out[name] = None if blob is None else base64.b64encode(bytes(blob)).decode()
    return out


@sensitive_variables()
def open_fields(person: Person, fields: Iterable[str] = ENCRYPTED_FIELDS) -> dict[str, str | None]:
    """Decrypt fields of a person. Private to the identity app: the public doors
    are person_masked (masks) and person_reveal (logs)."""
    dek = _data_key(person)
    out: dict[str, str | None] = {}
    for name in fields:
        blob = getattr(person, f"{name}_enc")
        out[name] = (
            None
            if blob is None
            else crypto.decrypt_field(dek, bytes(blob), subject=person.subject, field=name)
        )
    return out


def shred(person: Person) -> None:
    """Crypto-shred: forget the data key and the ciphertexts (not saved).
    Copies of the ciphertexts in backups stay unreadable without the key."""
    person.wrapped_key = None
    person.key_id = ""
    person.index_key_id = ""
    person.id_expires_on = None
    for name in ENCRYPTED_FIELDS:
        setattr(
            person,
            f"{name}_enc",
            b"" if name in ("name", "id_number", "date_of_birth", "sex") else None,
        )


def rewrap(person: Person) -> bool:
    """Re-wrap the data key with the active key; True when it changed (not saved)."""
    if person.wrapped_key is None:
        return False
    keys = ring()
    old = bytes(person.wrapped_key)
    new = crypto.rewrap_data_key(keys, old, subject=person.subject)
    if new == old:
        return False
    person.wrapped_key = new
    person.key_id = crypto.key_id_of(new)
    return True


def rewrap_many(
    rows: Sequence[tuple[uuid.UUID | str, bytes | None]],
) -> list[tuple[bytes, str] | None]:
    """For key rotation in bulk: for each ``(person uid, wrapped data key)`` the key
    re-wrapped with the active key and that key's id, or None when there is nothing to
    change (shredded, or already under the active key). Only data keys are unwrapped,
    never a field."""
    keys = ring()
    pending = [(i, bytes(wrapped)) for i, (_uid, wrapped) in enumerate(rows) if wrapped is not None]
    out: list[tuple[bytes, str] | None] = [None] * len(rows)
    rewrapped = crypto.rewrap_data_keys(
        keys, [(wrapped, _subject(rows[i][0])) for i, wrapped in pending]
    )
    for (i, old), new in zip(pending, rewrapped, strict=True):
        if new != old:
            out[i] = (new, keys.active_kid)
    return out


@sensitive_variables()
def _reencrypt_encoded(
    dek: bytes, subject: str, encoded: dict[str, str | None], cipher: str
) -> tuple[dict[str, str | None], list[str]]:
    import base64

    out: dict[str, str | None] = {}
    changed: list[str] = []
    for name, value in encoded.items():
        if not value:
            out[name] = value
            continue
        old = base64.b64decode(value)
        new = crypto.reencrypt_field(dek, old, subject=subject, field=name, cipher=cipher)
        out[name] = base64.b64encode(new).decode() if new != old else value
        if new != old:
            changed.append(name)
    return out, changed


@sensitive_variables()
def reencrypt(person: Person, *, versions: Iterable, corrections: Iterable) -> list[str]:
    """For a rotation that moves a person to another cipher family (AES-256-GCM and
    SM4-GCM): re-wrap the data key under the active key and seal every ciphertext of
    the person kept on identity's rows (their fields, their versions' previous values,
    their correction proposals) again under the active key's cipher. Same data key,
    so values sealed elsewhere under it stay readable (their headers name their
    cipher). Not saved; returns the names of the fields re-encrypted (for the access
    log). The clear values never leave :mod:`identity.crypto`."""
    keys = ring()
    cipher = keys.active_cipher
    old = bytes(person.wrapped_key)
    dek = crypto.unwrap_data_key(keys, old, subject=person.subject)
    person.wrapped_key = crypto.rewrap_data_key(keys, old, subject=person.subject)
    person.key_id = crypto.key_id_of(person.wrapped_key)
    fields: set[str] = set()
    for name in ENCRYPTED_FIELDS:
        blob = getattr(person, f"{name}_enc")
        if blob is None or not bytes(blob):
            continue
        new = crypto.reencrypt_field(dek, blob, subject=person.subject, field=name, cipher=cipher)
        if new != bytes(blob):
            setattr(person, f"{name}_enc", new)
            fields.add(name)
    for version in versions:
        version.previous, changed = _reencrypt_encoded(
            dek, person.subject, version.previous, cipher
        )
        fields.update(changed)
    for correction in corrections:
        correction.proposed, changed = _reencrypt_encoded(
            dek, person.subject, correction.proposed, cipher
        )
        fields.update(changed)
    return sorted(fields)


@sensitive_variables()
def reindex(person: Person) -> str:
    """The blind index of the person's document under the current index key,
    from their stored number (private to the identity app: the caller logs the
    read first, purpose maintenance)."""
    number = open_fields(person, ["id_number"])["id_number"] or ""
    return document_index(person.id_type, normalise_document(person.id_type, number))


def _subject(uid: uuid.UUID | str) -> str:
    # Person.subject, from the uid alone: bulk callers fetch bare columns, not models.
    return f"person:{uid}"


@sensitive_variables()
def seal_value(person: Person, *, context: str, field: str, value: str) -> bytes:
    """Encrypt a value that belongs to a person but lives on another row (a
    landline's installation address), bound to that row by ``context``."""
    dek, cipher = _sealing_key(person)
    return crypto.encrypt_field(
        dek, value, subject=f"{person.subject}|{context}", field=field, cipher=cipher
    )


@sensitive_variables()
def reseal_value(person: Person, *, context: str, field: str, blob: bytes) -> bytes:
    """A value sealed with :func:`seal_value`, sealed again under the person's
    current cipher (after a rotation moved them between AES and SM4); the very
    same bytes when it already is. The clear value stays inside crypto."""
    dek, cipher = _sealing_key(person)
    return crypto.reencrypt_field(
        dek, bytes(blob), subject=f"{person.subject}|{context}", field=field, cipher=cipher
    )


@sensitive_variables()
def open_value(person: Person, *, context: str, field: str, blob: bytes) -> str:
    """Private to the identity app, like open_fields."""
    return crypto.decrypt_field(
        _data_key(person), bytes(blob), subject=f"{person.subject}|{context}", field=field
    )


# A whole identity block sealed as one value on another row (a transaction that
# waits for the authority), bound to that row by ``context``.
HELD_IDENTITY_FIELD = "pending_identity"


def seal_identity(person: Person, *, context: str, values: dict[str, str | None]) -> bytes:
    import json

    payload = json.dumps(values, ensure_ascii=False, sort_keys=True)
    return seal_value(person, context=context, field=HELD_IDENTITY_FIELD, value=payload)


def open_identity(person: Person, *, context: str, blob: bytes) -> dict[str, str | None]:
    """Private to the identity app, like open_fields."""
    import json

    values = json.loads(open_value(person, context=context, field=HELD_IDENTITY_FIELD, blob=blob))
    return {name: values.get(name) for name in ENCRYPTED_FIELDS}


# --- Portraits (identity.portraits): bytes sealed as base64 text on their own row. ---------
PORTRAIT_FIELD = "portrait"


@sensitive_variables()
def seal_image(person: Person, *, context: str, field: str, image: bytes) -> bytes:
    import base64

    return seal_value(person, context=context, field=field, value=base64.b64encode(image).decode())


@sensitive_variables()
def open_image(person: Person, *, context: str, field: str, blob: bytes) -> bytes:
    """Private to the identity app, like open_fields."""
    import base64

    return base64.b64decode(open_value(person, context=context, field=field, blob=blob))
