"""Organisations that hold lines (issue 15): their identity, encrypted like a
person's, found by their unified social credit code through a blind index;
the handlers they authorize; the caps compliance raises for one of them.

The only module that turns an organisation's ciphertexts into clear text:
surfaces get :func:`organisation_masked`; an unmasked read goes through
:func:`organisation_reveal`, which writes the access log first. Encryption
uses :mod:`identity.crypto` and :mod:`identity.vault`'s public functions
(a data key of its own, wrapped by the key ring; fields bound to the row and
the field name), so shredding forgets the key and every ciphertext with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from config.api import DomainError
from operators.tenancy import can, is_platform_admin, staff_of

from . import access_log, crypto, documents, masking, vault
from .errors import IdentityInvalid, PersonShredded, RevealNotAllowed
from .models import (
    ORGANISATION_FIELDS,
    AccessPurpose,
    Organisation,
    OrganisationAuthorization,
    OrganisationCapChange,
    OrganisationStatus,
    Person,
)
from .selectors import address_problem
from .services import REVEAL_REASON_MIN_LENGTH, RevealReasonRequired

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.models import Operator, Store

NAME_MAX_LENGTH = 200
ADDRESS_MAX_LENGTH = 300
REFERENCE_MAX_LENGTH = 64
CAP_MAX = 10_000
REASON_MIN_LENGTH = 5
INDEX_PURPOSE = "organisation_uscc"


@dataclass(frozen=True)
class OrganisationData:
    """An organisation as given (validated and normalised)."""

    name: str
    uscc: str
    address: str | None = None

    def __repr__(self) -> str:
        return "OrganisationData(<redacted>)"


@dataclass(frozen=True)
class AuthorizationData:
    reference: str
    valid_until: dt.date

    def __repr__(self) -> str:
        return f"AuthorizationData(valid_until={self.valid_until.isoformat()})"


# --- Errors (mapped to statuses in config.api) -----------------------------------------------


class HandlerReplaced(DomainError):
    """The handler's authorization was replaced by a newer one of the
    organisation (or names another handler): they can no longer act."""

    code = "handler_replaced"
    message = _(
        "This handler's authorization was replaced by a newer one of the organisation: "
        "they can no longer act for it."
    )


class OrganisationCapInvalid(DomainError):
    code = "invalid"
    message = _("Some fields are not valid.")


class OrganisationCapNotAllowed(DomainError):
    code = "forbidden"
    message = _("Only a compliance officer raises an organisation's line cap.")


# --- Validation ------------------------------------------------------------------------------


def _hidden(text: str) -> str | None:
    return documents.hidden_text_problem(
        text,
        control=gettext("contains a control character"),
        hidden=gettext("contains an invisible character"),
    )


@sensitive_variables()
def uscc_normalise(code: object) -> str:
    """The canonical form of a unified social credit code (GB 32100), or
    IdentityInvalid on ``uscc`` with the reason (its check character named)."""
    text = "" if code is None else str(code)
    if not text.strip():
        raise IdentityInvalid({"uscc": [gettext("The unified social credit code is required.")]})
    if problem := _hidden(text):
        raise IdentityInvalid({"uscc": [str(problem)]})
    try:
        return stdnum_uscc.validate(text)
    except InvalidChecksum:
        raise IdentityInvalid(
            {"uscc": [gettext("The check character of this credit code is wrong (GB 32100).")]}
        ) from None
    except ValidationError:
        raise IdentityInvalid(
            {"uscc": [gettext("Not a unified social credit code (18 characters, GB 32100).")]}
        ) from None


@sensitive_variables()
def organisation_validate(*, name: object, uscc: object, address: object) -> OrganisationData:
    """An organisation block checked and normalised; IdentityInvalid with
    every field's reason (``name``, ``uscc``, ``address``)."""
    errors: dict[str, list[str]] = {}
    clean_name = documents.collapse_whitespace("" if name is None else str(name))
    if not clean_name:
        errors["name"] = [gettext("The organisation's name is required.")]
    elif len(clean_name) > NAME_MAX_LENGTH:
        errors["name"] = [
            gettext("At most %(count)d characters.") % {"count": NAME_MAX_LENGTH},
        ]
    elif problem := _hidden(clean_name):
        errors["name"] = [str(problem)]
    code = ""
    try:
        code = uscc_normalise(uscc)
    except IdentityInvalid as exc:
        errors.update(exc.errors)
    clean_address = documents.collapse_whitespace("" if address is None else str(address)) or None
    if clean_address is not None:
        if len(clean_address) > ADDRESS_MAX_LENGTH:
            errors["address"] = [
                gettext("At most %(count)d characters.") % {"count": ADDRESS_MAX_LENGTH},
            ]
        elif problem := address_problem(clean_address):
            errors["address"] = [str(problem)]
    if errors:
        raise IdentityInvalid(errors)
    return OrganisationData(name=clean_name, uscc=code, address=clean_address)


def authorization_validate(
    *, reference: object, valid_until: dt.date | None, today: dt.date | None = None
) -> AuthorizationData:
    """An authorization block: a reference and a validity not past
    (IdentityInvalid on ``reference`` / ``valid_until``)."""
    errors: dict[str, list[str]] = {}
    text = " ".join(("" if reference is None else str(reference)).split())
    if not text:
        errors["reference"] = [gettext("The authorization's reference is required.")]
    elif len(text) > REFERENCE_MAX_LENGTH:
        errors["reference"] = [
            gettext("At most %(count)d characters.") % {"count": REFERENCE_MAX_LENGTH}
        ]
    elif problem := _hidden(text):
        errors["reference"] = [str(problem)]
    today = today or timezone.localdate()
    if valid_until is None:
        errors["valid_until"] = [gettext("The authorization's end of validity is required.")]
    elif valid_until < today:
        errors["valid_until"] = [gettext("The authorization has expired.")]
    if errors:
        raise IdentityInvalid(errors)
    return AuthorizationData(reference=text, valid_until=valid_until)


# --- Encryption ------------------------------------------------------------------------------


def uscc_index(code: str) -> str:
    """The blind index of a (normalised) credit code."""
    return vault.digest(INDEX_PURPOSE, code)


def _data_key(org: Organisation) -> bytes:
    if org.wrapped_key is None:
        raise PersonShredded()
    return crypto.unwrap_data_key(vault.ring(), bytes(org.wrapped_key), subject=org.subject)


@sensitive_variables()
def _seal_new(org: Organisation, data: OrganisationData) -> None:
    ring = vault.ring()
    dek = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(ring, dek, subject=org.subject)
    org.wrapped_key = wrapped
    org.key_id = crypto.key_id_of(wrapped)
    _seal(org, dek, {"name": data.name, "uscc": data.uscc, "address": data.address})


@sensitive_variables()
def _seal(org: Organisation, dek: bytes, values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if name not in ORGANISATION_FIELDS:
            raise ValueError(f"{name} is not an organisation field")
        blob = (
            None
            if value is None
            else crypto.encrypt_field(dek, value, subject=org.subject, field=name)
        )
        setattr(org, f"{name}_enc", blob)


@sensitive_variables()
def _open(org: Organisation, fields=ORGANISATION_FIELDS) -> dict[str, str | None]:
    dek = _data_key(org)
    out: dict[str, str | None] = {}
    for name in fields:
        blob = getattr(org, f"{name}_enc")
        out[name] = (
            None
            if blob is None
            else crypto.decrypt_field(dek, bytes(blob), subject=org.subject, field=name)
        )
    return out


# --- Organisations ---------------------------------------------------------------------------


def _find_locked(operator: Operator, index: str) -> Organisation | None:
    return (
        Organisation.objects.select_for_update().filter(operator=operator, uscc_index=index).first()
    )


@sensitive_variables()
def organisation_register(*, operator: Operator, data: OrganisationData) -> Organisation:
    """Find (and lock) or create the organisation of this credit code at this
    operator: one per operator and code. A known organisation keeps the name
    and address it has (a change is a correction, not a side effect of an
    opening); a shredded one is sealed afresh. Runs in the caller's
    transaction, without a savepoint of its own except around the insert."""
    index = uscc_index(data.uscc)
    with transaction.atomic(savepoint=False):
        org = _find_locked(operator, index)
        if org is None:
            org = Organisation(operator=operator, uscc_index=index)
            _seal_new(org, data)
            try:
                with transaction.atomic():
                    org.save(force_insert=True)
            except IntegrityError:
                org = _find_locked(operator, index)
                if org is None:
                    raise
        elif org.is_shredded:
            _seal_new(org, data)
            org.shredded_at = None
            org.status = OrganisationStatus.ACTIVE
            org.save()
    return org


def organisation_find(*, operator: Operator, uscc: str) -> Organisation | None:
    """The organisation of a credit code at this operator (blind index), or None."""
    try:
        code = uscc_normalise(uscc)
    except IdentityInvalid:
        return None
    return Organisation.objects.filter(operator=operator, uscc_index=uscc_index(code)).first()


def organisation_masked(org: Organisation) -> dict[str, str]:
    """An organisation as every surface shows it: name and code masked (not
    logged). ``id_type``/``id_number`` repeat the code for the surfaces that
    show any holder as a name and a document."""
    if org.is_shredded:
        name = code = "***"
    else:
        values = _open(org, ("name", "uscc"))
        name = masking.mask_name(values["name"])
        code = masking.mask_id_number(values["uscc"])
    return {
        "type": "organisation",
        "id": str(org.uid),
        "name": name,
        "uscc": code,
        "id_type": "uscc",
        "id_number": code,
    }


def _may_reveal(user: AbstractBaseUser | None, operator_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if not is_platform_admin(user):
        staff = staff_of(user)
        if staff is None or staff.operator_id != operator_id:
            return False
    return can(user, "person.reveal")


@sensitive_variables()
def organisation_reveal(
    *,
    org: Organisation,
    actor: AbstractBaseUser,
    reason: str,
    store: Store | None = None,
    purpose: str = AccessPurpose.COMPLIANCE_REVIEW,
) -> dict[str, str | None]:
    """The organisation in clear: only for someone who may reveal persons of
    its operator, with a reason, after the access-log entry is written."""
    if not _may_reveal(actor, org.operator_id):
        raise RevealNotAllowed()
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise RevealReasonRequired()
    with transaction.atomic():
        access_log.append(
            operator=org.operator,
            actor=actor,
            fields=list(ORGANISATION_FIELDS),
            purpose=purpose,
            reason=reason,
            store=store,
            detail={"organisation": str(org.uid)},
        )
    return _open(org)


@transaction.atomic
def organisation_shred(
    *, org: Organisation, actor: AbstractBaseUser | None = None, reason: str = "retention"
) -> Organisation:
    """Crypto-shred an organisation: its data key and every ciphertext are
    forgotten and its blind index with them (the code, registered again,
    makes a new row). Written to the access log."""
    org = Organisation.objects.select_for_update().get(pk=org.pk)
    if org.is_shredded:
        return org
    org.wrapped_key = None
    org.key_id = ""
    org.name_enc = b""
    org.uscc_enc = b""
    org.address_enc = None
    org.uscc_index = f"erased:{org.uid.hex}"
    org.status = OrganisationStatus.CLOSED
    org.shredded_at = timezone.now()
    org.save()
    access_log.append(
        operator=org.operator,
        actor=actor,
        actor_label=None if actor else "retention",
        purpose=AccessPurpose.RETENTION,
        reason=reason,
        detail={"organisation": str(org.uid)},
    )
    return org


def organisation_lines_record(
    *, organisation_id: int, lines_held: int, last_closed_at: dt.datetime | None = None
) -> None:
    """Registration tells identity how many open lines an organisation holds
    (and when its last one closed: its retention term runs from then)."""
    updates: dict[str, object] = {"lines_held": lines_held}
    if last_closed_at is not None and lines_held == 0:
        updates["last_line_closed_at"] = last_closed_at
    Organisation.objects.filter(pk=organisation_id).update(**updates)


def organisations_retention_run(*, now: dt.datetime | None = None) -> int:
    """Shred every organisation whose last line closed longer ago than its
    operator's retention term (none open since). Returns the count."""
    now = now or timezone.now()
    count = 0
    due = Organisation.objects.filter(
        shredded_at__isnull=True, lines_held=0, last_line_closed_at__isnull=False
    ).select_related("operator")
    for org in due:
        if org.last_line_closed_at + dt.timedelta(days=org.operator.retention_days) <= now:
            organisation_shred(org=org)
            count += 1
    return count


# --- Caps ------------------------------------------------------------------------------------


def organisation_cap(org: Organisation) -> int:
    """How many lines this organisation may hold at its operator."""
    return org.line_cap if org.line_cap is not None else org.operator.organisation_line_cap


@transaction.atomic
def organisation_cap_raise(
    *, org: Organisation, actor: AbstractBaseUser, cap: int, reason: str
) -> Organisation:
    """A compliance officer of the organisation's operator sets its line cap
    above the operator's, with a reason; the change is recorded."""
    staff = staff_of(actor)
    if (
        staff is None
        or staff.operator_id != org.operator_id
        or not can(actor, "organisation.cap_raise")
    ):
        raise OrganisationCapNotAllowed()
    reason = " ".join((reason or "").split())
    errors: dict[str, list[str]] = {}
    if len(reason) < REASON_MIN_LENGTH:
        errors["reason"] = [gettext("Say why (at least 5 characters).")]
    elif len(reason) > 300:
        errors["reason"] = [gettext("At most %(count)d characters.") % {"count": 300}]
    if not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= CAP_MAX:
        errors["cap"] = [gettext("A whole number from 1 to %(max)d.") % {"max": CAP_MAX}]
    if errors:
        raise OrganisationCapInvalid(fields=errors)
    org = Organisation.objects.select_for_update().select_related("operator").get(pk=org.pk)
    before = organisation_cap(org)
    org.line_cap = cap
    org.save(update_fields=["line_cap", "updated_at"])
    OrganisationCapChange.objects.create(
        organisation=org,
        cap_before=before,
        cap_after=cap,
        reason=reason,
        actor=actor,
        at=timezone.now(),
    )
    return org


# --- Handlers --------------------------------------------------------------------------------


def handler_current(org: Organisation) -> OrganisationAuthorization | None:
    return (
        OrganisationAuthorization.objects.filter(organisation=org, ended_at__isnull=True)
        .select_related("handler")
        .first()
    )


def handler_authorize(
    *,
    org: Organisation,
    handler: Person,
    authorization: AuthorizationData,
    actor: AbstractBaseUser | None,
) -> OrganisationAuthorization:
    """The authorization under which ``handler`` acts for ``org`` now (the
    organisation row is locked by the caller). The current one, when it names
    this handler and this reference (its validity may be extended); a
    reference never seen for this organisation is a new authorization, which
    replaces the current one (its handler can no longer act). Raises
    HandlerReplaced for a reference the organisation has replaced, or the
    current reference presented by another person."""
    now = timezone.now()
    current = handler_current(org)
    if current is not None and current.reference == authorization.reference:
        if current.handler_id != handler.pk:
            raise HandlerReplaced()
        if current.valid_until != authorization.valid_until:
            current.valid_until = authorization.valid_until
            current.save(update_fields=["valid_until"])
        return current
    if OrganisationAuthorization.objects.filter(
        organisation=org, reference=authorization.reference
    ).exists():
        raise HandlerReplaced()
    if current is not None:
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    return OrganisationAuthorization.objects.create(
        organisation=org,
        handler=handler,
        reference=authorization.reference,
        valid_until=authorization.valid_until,
        started_at=now,
        recorded_by=actor,
    )


def handler_check(*, org: Organisation, handler: Person, today: dt.date | None = None) -> None:
    """``handler`` may act now for ``org`` on its existing lines: they hold its
    current authorization and it has not expired (HandlerReplaced otherwise;
    an expired one is IdentityInvalid on ``authorization.valid_until``)."""
    current = handler_current(org)
    if current is None or current.handler_id != handler.pk:
        raise HandlerReplaced()
    if current.valid_until < (today or timezone.localdate()):
        raise IdentityInvalid(
            {"authorization.valid_until": [gettext("The authorization has expired.")]}
        )


# --- Key rotation ----------------------------------------------------------------------------


def organisations_keys_rotate() -> int:
    """Re-wrap every organisation's data key not under the active key (only
    the wrapped keys are read and written, never a field). Returns how many
    changed; rows another transaction holds are left for a later run."""
    ring = vault.ring()
    done = 0
    with transaction.atomic():
        rows = (
            Organisation.objects.filter(wrapped_key__isnull=False)
            .exclude(key_id=ring.active_kid)
            .select_for_update(skip_locked=True)
        )
        for org in rows:
            wrapped = crypto.rewrap_data_key(ring, bytes(org.wrapped_key), subject=org.subject)
            Organisation.objects.filter(pk=org.pk).update(
                wrapped_key=wrapped, key_id=crypto.key_id_of(wrapped)
            )
            done += 1
    return done
