"""Writes about persons, notices, consents and the access log: the one door
to personal data. Later apps (registration, re-verification) call these and
never touch ciphertexts or the access log themselves."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from operators.models import Operator
from operators.tenancy import can, is_platform_admin, staff_of

from . import access_log, authority, crypto, documents, portraits, selectors, vault
from .errors import (
    ConsentRefused,
    ConsentRequired,
    CorrectionDecided,
    CorrectionFourEyes,
    IdentityMismatch,
    LanguageInvalid,
    NoCurrentNotice,
    NoticeIncomplete,
    NoticePublished,
    PersonHeld,
    PersonShredded,
    RevealNotAllowed,
)
from .models import (
    ENCRYPTED_FIELDS,
    NOTICE_PARTS,
    AccessPurpose,
    CitizenRecord,
    Consent,
    CorrectionRequest,
    CorrectionStatus,
    NoticeLanguage,
    Person,
    PersonVersion,
    Portrait,
    PrivacyNotice,
    VerificationStatus,
)
from .types import IdentityData

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from operators.audit import RoleChangeEvent
    from operators.models import Operator, Store

logger = logging.getLogger(__name__)

REVEAL_REASON_MIN_LENGTH = 5

# Other apps may grant reveal rights in narrow cases (the clerk handling an
# open transaction of this person); each grant is (user, person) -> bool.
RevealGrant = Callable[["AbstractBaseUser", Person], bool]
_reveal_grants: list[RevealGrant] = []


def reveal_grant_register(grant: RevealGrant) -> RevealGrant:
    if grant not in _reveal_grants:
        _reveal_grants.append(grant)
    return grant


def role_change_log(event: RoleChangeEvent) -> None:
    """Write a staff role change to the access log (installed as the operators
    app's role-change recorder by :meth:`identity.apps.IdentityConfig.ready`).
    Runs inside the caller's transaction: no change without its entry."""
    access_log.append(
        operator=event.operator,
        actor=event.actor,
        purpose=AccessPurpose.ROLE_CHANGE,
        reason=event.reason,
        store=event.staff.store,
        detail={"event": event.event, **event.detail},
    )


# --- Privacy notices --------------------------------------------------------------


@transaction.atomic
def notice_draft_create(
    *, operator: Operator, language: str, parts: dict[str, str]
) -> PrivacyNotice:
    """A new draft, numbered after the highest version of that language."""
    last = (
        PrivacyNotice.objects.select_for_update()
        .filter(operator=operator, language=language)
        .order_by("-version")
        .first()
    )
    notice = PrivacyNotice(
        operator=operator,
        language=language,
        version=(last.version + 1) if last else 1,
        **{part: (parts.get(part) or "").strip() for part in NOTICE_PARTS},
    )
    notice.save()
    return notice


def notice_missing_parts(notice: PrivacyNotice) -> list[str]:
    return [part for part in NOTICE_PARTS if not (getattr(notice, part) or "").strip()]


@transaction.atomic
def notice_publish(*, notice: PrivacyNotice, actor: AbstractBaseUser | None) -> PrivacyNotice:
    """Publish a draft: refused unless all six parts are stated. Its content
    hash is fixed from then on and the notice can no longer change."""
    notice = PrivacyNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.is_published:
        return notice  # idempotent
    missing = notice_missing_parts(notice)
    if missing:
        raise NoticeIncomplete(
            _("The notice does not yet state: %(parts)s.")
            % {"parts": ", ".join(p.replace("_", " ") for p in missing)},
            fields={part: [_("This part is required before publishing.")] for part in missing},
        )
    notice.content_hash = notice.compute_hash()
    notice.published_at = timezone.now()
    PrivacyNotice.objects.filter(pk=notice.pk).update(
        content_hash=notice.content_hash, published_at=notice.published_at
    )
    logger.info("notice %s v%s (%s) published", notice.pk, notice.version, notice.language)
    return notice


def notice_save_draft(*, notice: PrivacyNotice, parts: dict[str, str]) -> PrivacyNotice:
    if PrivacyNotice.objects.filter(pk=notice.pk, published_at__isnull=False).exists():
        raise NoticePublished()
    for part in NOTICE_PARTS:
        if part in parts:
            setattr(notice, part, (parts[part] or "").strip())
    notice.save()
    return notice


# --- Consent ------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentInput:
    notice_hash: str
    given: bool


def current_notices(operator: Operator) -> list[PrivacyNotice]:
    """The operator's current published notice in each language."""
    current: dict[str, PrivacyNotice] = {}
    for notice in PrivacyNotice.objects.filter(
        operator=operator, published_at__isnull=False
    ).order_by("language", "-version"):
        current.setdefault(notice.language, notice)
    return list(current.values())


def consent_notice(*, operator: Operator, consent: ConsentInput) -> PrivacyNotice:
    """The current notice the consent points at, or a clear refusal."""
    notices = current_notices(operator)
    if not notices:
        raise NoCurrentNotice()
    for notice in notices:
        if notice.content_hash == consent.notice_hash:
            return notice
    raise ConsentRequired(
        _("The consent does not point at the operator's current privacy notice."),
        fields={"consent.notice": [_("Not the hash of the current privacy notice.")]},
    )


def consent_refusal_record(
    *,
    operator: Operator,
    consent: ConsentInput,
    channel: str,
    actor: AbstractBaseUser | None,
    store: Store | None,
) -> Consent | None:
    """Record that someone refused: no person, no personal data. Call it
    outside any transaction that will roll back."""
    notices = [n for n in current_notices(operator) if n.content_hash == consent.notice_hash]
    if not notices:
        return None
    return Consent.objects.create(
        operator=operator,
        person=None,
        notice=notices[0],
        notice_hash=consent.notice_hash,
        given=False,
        channel=channel,
        store=store,
        recorded_by=actor,
    )


@transaction.atomic
def consent_withdraw(*, consent: Consent, actor: AbstractBaseUser | None) -> Consent:
    Consent.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), withdrawn_by=actor
    )
    consent.refresh_from_db()
    return consent


# --- Identity checks ------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityCheck:
    identity: IdentityData  # normalised
    result: authority.AuthorityResult

    def __repr__(self) -> str:
        return f"IdentityCheck(outcome={self.result.outcome!s})"


@sensitive_variables()
def identity_validate(
    *,
    operator: Operator,
    identity: IdentityData,
    require_address: bool = False,
    min_age: int | None = None,
) -> IdentityData:
    """Validate and normalise an identity block for this operator (raises
    documents.IdentityInvalid with every field's reason). ``min_age``: the
    operator's minimum holder age unless given (0 for a minor whose guardian
    is named, issue 15)."""
    return documents.validate_identity(
        identity,
        today=timezone.localdate(),
        min_age=operator.min_holder_age if min_age is None else min_age,
        require_address=require_address,
    )


@sensitive_variables()
def identity_check(
    *,
    operator: Operator,
    identity: IdentityData,
    actor: AbstractBaseUser | None,
    store: Store | None = None,
    require_address: bool = False,
    purpose: str = AccessPurpose.AUTHORITY_CHECK,
) -> IdentityCheck:
    """Validate an identity and ask the authority about it. Stores nothing but
    the access-log entry of the check (who, store, outcome, reference)."""
    normalised = identity_validate(
        operator=operator, identity=identity, require_address=require_address
    )
    result = authority.get_backend().verify(normalised)
    access_log.append(
        operator=operator,
        actor=actor,
        store=store,
        purpose=purpose,
        detail={
            "id_type": normalised.id_type,
            "outcome": str(result.outcome),
            "reference": result.reference,
            "backend": result.backend,
        },
    )
    return IdentityCheck(identity=normalised, result=result)


# --- Persons ----------------------------------------------------------------------------


def _find_locked(operator: Operator, doc_index: str) -> Person | None:
    return Person.objects.select_for_update().filter(operator=operator, doc_index=doc_index).first()


# What identifies a person and so is never changed silently once verified:
# the authority confirms name, birth date and sex; nationality comes with the
# document. A verified person's expiry or address may change (a renewed
# document, a move) and is then versioned.
IDENTIFYING_FIELDS = ("name", "date_of_birth", "sex", "nationality")
# Optional fields: left empty in an answer (e.g. the subscriber's page has no
# address field) they mean "not given", never "erase".
OPTIONAL_FIELDS = ("id_expiry", "nationality", "address")


@sensitive_variables()
def person_register(
    *,
    operator: Operator,
    identity: IdentityData,
    consent: ConsentInput,
    channel: str,
    actor: AbstractBaseUser | None,
    store: Store | None = None,
    verification: authority.AuthorityResult | None = None,
    notice: PrivacyNotice | None = None,
) -> Person:
    """Find (or create) the person behind a validated identity, with their consent.

    Guarantees: nothing is stored without a given consent to the operator's
    current notice; one person per operator and document; every personal
    field is encrypted under the person's own data key. An existing person's
    stored identity changes only when ``verification`` is the authority's
    match for exactly this identity, and then only through
    :func:`person_identity_apply` (versioned, actor recorded; a verified
    person whose name, birth date, sex or nationality differs is refused with
    IdentityMismatch, changing nothing). Without a match an existing person is
    left exactly as they were (status included): the caller keeps the
    identity it was given on its own record (:func:`pending_identity_seal`).
    A document seen for the first time is stored as given, ``never``
    verified unless matched.

    ``notice``: what ``consent_notice`` returned for this consent earlier in
    the same request (spares reading the notices twice). The consent row
    recorded is left on the person as ``recorded_consent``; ``registered_now``
    says whether this call inserted the person (no line or transaction can
    name them yet).

    Refusals come before any write; the writes run in the caller's
    transaction when there is one, without a savepoint of their own (an error
    while writing, and IdentityMismatch, found under the person's lock, leave
    that transaction to roll back)."""
    if not consent.given:
        raise ConsentRefused()
    if notice is None or notice.content_hash != consent.notice_hash:
        notice = consent_notice(operator=operator, consent=consent)
    number = documents.normalise_document(identity.id_type, identity.id_number)
    index = vault.document_index(identity.id_type, number)
    identity = replace(identity, id_number=number)
    values = vault.identity_values(identity)
    matched = verification is not None and verification.is_match
    with transaction.atomic(savepoint=False):
        person = _find_locked(operator, index)
        registered_now = False
        if person is None:
            person = Person(
                operator=operator,
                id_type=identity.id_type,
                doc_index=index,
                index_key_id=vault.index_key_id(),
                language=identity.language or selectors.default_language(operator),
            )
            vault.seal_new(person, values)
            if matched:
                # Stored with the new row rather than updated after it.
                _set_verification(person, matched=True)
            try:
                with transaction.atomic():
                    person.save(force_insert=True)
                registered_now = True
            except IntegrityError:
                # Registered concurrently by another request: use that person.
                person = _find_locked(operator, index)
                if person is None:
                    raise
                if matched:
                    person_identity_apply(
                        person=person, identity=identity, actor=actor, reason="re-registration"
                    )
        elif person.is_shredded:
            # Nothing of the erased person is left to protect: a fresh record.
            vault.seal_new(person, values)
            person.index_key_id = vault.index_key_id()
            person.shredded_at = None
            person.verification_status = VerificationStatus.NEVER
            person.verified_at = None
            if matched:
                _set_verification(person, matched=True)
            person.save()
        elif matched:
            person_identity_apply(
                person=person, identity=identity, actor=actor, reason="re-registration"
            )
        if identity.language and not registered_now and person.language != identity.language:
            person_language_set(
                person=person, language=identity.language, actor=actor, reason="registration"
            )
        person.registered_now = registered_now
        person.recorded_consent = Consent.objects.create(
            operator=operator,
            person=person,
            notice=notice,
            notice_hash=notice.content_hash,
            given=True,
            channel=channel,
            store=store,
            recorded_by=actor,
        )
    return person


@sensitive_variables()
def person_identity_apply(
    *,
    person: Person,
    identity: IdentityData,
    actor: AbstractBaseUser | None,
    reason: str,
) -> list[str]:
    """Apply an identity the authority has just matched to its person, who is
    locked by the caller, and mark them verified. Returns the fields changed.

    Guarantees: a verified person whose identifying fields (name, birth date,
    sex, nationality) differ is refused with IdentityMismatch before anything
    is written; any other difference (or any difference for a person never
    verified or failed) is applied with the previous ciphertexts kept as a
    PersonVersion naming ``actor`` and ``reason``. Empty optional fields keep
    the stored values."""
    if person.is_shredded:
        raise PersonShredded()
    values = vault.identity_values(identity)
    current = vault.open_fields(person, values.keys())
    changed = _changed_fields(values, current)
    if person.verification_status == VerificationStatus.VERIFIED:
        clash = [name for name in changed if name in IDENTIFYING_FIELDS]
        if clash:
            raise IdentityMismatch(fields={name: [str(IdentityMismatch.message)] for name in clash})
    _person_update(person, values, actor=actor, reason=reason)
    person_verification_record(person=person, matched=True)
    return changed


def _changed_fields(values: dict[str, str | None], current: dict[str, str | None]) -> list[str]:
    return [
        name
        for name, value in values.items()
        if value != current.get(name) and not (value is None and name in OPTIONAL_FIELDS)
    ]


# --- An identity held by a waiting transaction --------------------------------------------


@sensitive_variables()
def pending_identity_seal(*, person: Person, context: str, identity: IdentityData) -> bytes:
    """The identity as given, for a record that waits for the authority (a
    transaction), sealed under ``person``'s data key and bound to ``context``:
    shredding the person makes it unreadable, and it never touches the
    person's own fields."""
    return vault.seal_identity(person, context=context, values=vault.identity_values(identity))


@sensitive_variables()
def pending_identity_open(*, person: Person, context: str, blob: bytes) -> IdentityData:
    """What :func:`pending_identity_seal` sealed, for the authority check and
    the completion of the waiting record. Not a reveal: never shown to anyone."""
    return _identity_from_values(
        person.id_type, vault.open_identity(person, context=context, blob=blob)
    )


@sensitive_variables()
def _identity_from_values(id_type: str, values: dict[str, str | None]) -> IdentityData:
    return IdentityData(
        id_type=id_type,
        id_number=values["id_number"] or "",
        name=values["name"] or "",
        date_of_birth=dt.date.fromisoformat(values["date_of_birth"]),
        sex=values["sex"] or "",
        id_expiry=dt.date.fromisoformat(values["id_expiry"]) if values["id_expiry"] else None,
        nationality=values["nationality"],
        address=values["address"],
    )


@sensitive_variables()
def pending_identity_reveal(
    *,
    person: Person,
    actor: AbstractBaseUser,
    reason: str,
    context: str,
    blob: bytes,
    store: Store | None = None,
) -> dict[str, str | None]:
    """The identity a staff member typed on their own waiting record, in clear:
    what they entered, never the person's stored identity. The caller decides
    that ``actor`` is the one who typed it; this demands a reason and writes
    the access log (purpose: registration) before decrypting."""
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise RevealReasonRequired()
    with transaction.atomic():
        access_log.append(
            operator=person.operator,
            actor=actor,
            person=person,
            fields=list(ENCRYPTED_FIELDS),
            purpose=AccessPurpose.REGISTRATION,
            reason=reason,
            detail={"context": context, "source": "as_entered"},
            store=store or _store_of(actor),
        )
    return vault.open_identity(person, context=context, blob=blob)


@sensitive_variables()
def _person_update(
    person: Person,
    values: dict[str, str | None],
    *,
    actor: AbstractBaseUser | None,
    reason: str,
) -> list[str]:
    """Apply changed values, keeping the previous ciphertexts as a version."""
    current = vault.open_fields(person, values.keys())
    changed = _changed_fields(values, current)
    if not changed:
        return []
    PersonVersion.objects.create(
        person=person,
        version=person.version,
        changed_fields=changed,
        previous=vault.current_ciphertexts(person, changed),
        actor=actor,
        reason=reason,
    )
    vault.seal(person, {name: values[name] for name in changed})
    person.version += 1
    if "id_number" in changed or "id_type" in changed:
        person.doc_index = vault.document_index(person.id_type, values["id_number"])
        person.index_key_id = vault.index_key_id()
    person.save()
    return changed


def person_language_set(
    *, person: Person, language: str, actor: AbstractBaseUser | None, reason: str
) -> bool:
    """Set the language ``person``'s notices are written in. Guarantees: an
    unknown language is refused with LanguageInvalid, changing nothing; a
    change is kept as a PersonVersion naming ``actor`` and ``reason`` (the
    previous language in clear: it is not personal data); setting the same
    language again writes nothing. Returns whether it changed."""
    if language not in NoticeLanguage.values:
        raise LanguageInvalid()
    # No savepoint of its own: within person_register it is part of that write.
    with transaction.atomic(savepoint=False):
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if locked.language == language:
            return False
        PersonVersion.objects.create(
            person=locked,
            version=locked.version,
            changed_fields=["language"],
            previous={"language": locked.language},
            actor=actor,
            reason=reason[:200],
        )
        Person.objects.filter(pk=locked.pk).update(language=language, version=locked.version + 1)
    person.language = language
    person.version = locked.version + 1
    return True


def person_verification_record(*, person: Person, matched: bool) -> None:
    _set_verification(person, matched=matched)
    Person.objects.filter(pk=person.pk).update(
        verification_status=person.verification_status, verified_at=person.verified_at
    )


def _set_verification(person: Person, *, matched: bool) -> None:
    """The authority's answer on the instance (not saved): a match verifies
    now; a refusal fails the person and keeps when they were last verified."""
    if matched:
        person.verification_status = VerificationStatus.VERIFIED
        person.verified_at = timezone.now()
    else:
        person.verification_status = VerificationStatus.FAILED


def can_reveal(user: AbstractBaseUser | None, person: Person) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if not is_platform_admin(user):
        staff = staff_of(user)
        if staff is None or staff.operator_id != person.operator_id:
            return False
    if can(user, "person.reveal"):
        return True
    return any(grant(user, person) for grant in _reveal_grants)


@sensitive_variables()
def person_reveal(
    *,
    person: Person,
    actor: AbstractBaseUser,
    reason: str,
    purpose: str = AccessPurpose.COMPLIANCE_REVIEW,
    fields: Iterable[str] | None = None,
    store: Store | None = None,
) -> dict[str, str | None]:
    """THE function that returns unmasked personal data. It checks the actor
    may see it, demands a reason, and writes the access-log entry before
    decrypting; there is no other way to read a person in clear."""
    wanted = list(fields) if fields else list(ENCRYPTED_FIELDS)
    unknown = [f for f in wanted if f not in ENCRYPTED_FIELDS]
    if unknown:
        raise RevealNotAllowed(
            "Unknown fields requested.", fields={"fields": [f"unknown: {', '.join(unknown)}"]}
        )
    if not can_reveal(actor, person):
        raise RevealNotAllowed()
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise RevealReasonRequired()
    if purpose not in AccessPurpose.values:
        raise RevealReasonRequired(
            _("Unknown purpose."), fields={"purpose": [_("Not a known purpose code.")]}
        )
    with transaction.atomic():
        access_log.append(
            operator=person.operator,
            actor=actor,
            person=person,
            fields=wanted,
            purpose=purpose,
            reason=reason,
            store=store or _store_of(actor),
        )
    return vault.open_fields(person, wanted)


@sensitive_variables()
def person_disclose(
    *,
    person: Person,
    actor: AbstractBaseUser,
    reason: str,
    disclosure_id: int,
    fields: Iterable[str],
    also_logged: Iterable[str] = (),
) -> dict[str, str | None]:
    """person_reveal for the release of a disclosure request (law enforcement,
    courts): the same checks (the actor may see the person, a reason), then
    ONE access-log entry with purpose ``law_enforcement`` and
    ``{"disclosure": <id>}`` in its detail, written before anything is
    decrypted. ``fields`` are the stored fields opened; ``also_logged`` names
    what the caller hands over beside them (the holder's lines), so the
    entry lists everything that left."""
    wanted = list(fields)
    unknown = [f for f in wanted if f not in ENCRYPTED_FIELDS]
    if unknown:
        raise RevealNotAllowed(
            "Unknown fields requested.", fields={"fields": [f"unknown: {', '.join(unknown)}"]}
        )
    if not can_reveal(actor, person):
        raise RevealNotAllowed()
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise RevealReasonRequired()
    with transaction.atomic():
        access_log.append(
            operator=person.operator,
            actor=actor,
            person=person,
            fields=[*wanted, *also_logged],
            purpose=AccessPurpose.LAW_ENFORCEMENT,
            reason=reason,
            detail={"disclosure": disclosure_id},
            store=_store_of(actor),
        )
    return vault.open_fields(person, wanted) if wanted else {}


class RevealReasonRequired(RevealNotAllowed):
    code = "reason_required"
    message = "State why you need to see the unmasked data (at least 5 characters)."

    def __init__(self, message: str | None = None, *, fields=None) -> None:
        super().__init__(message, fields=fields or {"reason": [self.message]})


def _store_of(user: AbstractBaseUser | None) -> Store | None:
    staff = staff_of(user)
    return staff.store if staff else None


@sensitive_variables()
def person_export(*, person: Person, actor: AbstractBaseUser, reason: str) -> dict[str, Any]:
    """Everything held about a person, for a subject-access answer. The
    personal fields come through person_reveal, so the export is logged."""
    fields = person_reveal(
        person=person, actor=actor, reason=reason, purpose=AccessPurpose.SUBJECT_ACCESS
    )
    return {
        "person": {
            "id": str(person.uid),
            "operator": person.operator.code,
            "id_type": person.id_type,
            **fields,
            "verification_status": person.verification_status,
            "verified_at": _iso(person.verified_at),
            "registered_at": _iso(person.created_at),
            "updated_at": _iso(person.updated_at),
            "version": person.version,
        },
        "consents": [
            {
                "notice_version": c.notice.version,
                "notice_language": c.notice.language,
                "notice_hash": c.notice_hash,
                "channel": c.channel,
                "given_at": _iso(c.created_at),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in person.consents.select_related("notice").order_by("created_at")
        ],
        "changes": [
            {
                "version": v.version,
                "changed_fields": v.changed_fields,
                "at": _iso(v.created_at),
                "reason": v.reason,
            }
            for v in person.versions.order_by("version")
        ],
        "accesses": [
            {
                "at": _iso(e.created_at),
                "by": e.actor_label,
                "purpose": e.purpose,
                "fields": e.fields,
            }
            for e in person.access_log.order_by("created_at", "seq")
        ],
        "corrections": [
            {
                "status": c.status,
                "requested_at": _iso(c.created_at),
                "decided_at": _iso(c.decided_at),
            }
            for c in person.corrections.order_by("created_at")
        ],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- Corrections ---------------------------------------------------------------------------

CORRECTABLE_FIELDS = ("name", "date_of_birth", "sex", "id_expiry", "nationality", "address")
CANNOT_BE_CORRECTED = _("This field cannot be corrected.")


@transaction.atomic
@sensitive_variables()
def correction_request_create(
    *,
    person: Person,
    values: dict[str, str | None],
    actor: AbstractBaseUser | None,
    note: str = "",
) -> CorrectionRequest:
    """A proposed correction, validated against the whole identity so that a
    fixed birth date still agrees with the document number. Refuses before any
    write: a field that cannot be corrected (CorrectionInvalid); a value that
    breaks the identity rules, a malformed date included (documents.IdentityInvalid,
    per field). ``note`` says why (kept with the request for the officer)."""
    unknown = set(values) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise CorrectionInvalid(fields={f: [CANNOT_BE_CORRECTED] for f in unknown})
    current = vault.open_fields(person)
    merged = {**current, **values}
    candidate = IdentityData(
        id_type=person.id_type,
        id_number=merged["id_number"] or "",
        name=merged["name"] or "",
        date_of_birth=_date(merged["date_of_birth"], field="date_of_birth"),
        sex=merged["sex"] or "",
        id_expiry=_date(merged["id_expiry"], field="id_expiry"),
        nationality=merged["nationality"],
        address=merged["address"],
    )
    normalised = identity_validate(operator=person.operator, identity=candidate)
    proposed = {name: vault.identity_values(normalised)[name] for name in values}
    return CorrectionRequest.objects.create(
        person=person,
        proposed=vault.encrypt_values(person, proposed),
        requested_by=actor,
        request_note=" ".join((note or "").split())[:300],
    )


class CorrectionInvalid(NoticeIncomplete):
    code = "correction_invalid"
    message = _("The correction is not valid.")


NOT_A_DATE = _("not a date: write it as YYYY-MM-DD")


def _date(value: str | None, *, field: str) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) or None when blank; anything else is refused on
    ``field`` (documents.IdentityInvalid), never a ValueError that ends as a 500."""
    if not value:
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but not a calendar day (2024-02-30)
        parsed = None
    if parsed is None:
        raise documents.IdentityInvalid({field: [NOT_A_DATE]})
    return parsed


@transaction.atomic
@sensitive_variables()
def correction_decide(
    *, correction: CorrectionRequest, approve: bool, actor: AbstractBaseUser, note: str = ""
) -> CorrectionRequest:
    """Approve (apply, versioned) or refuse a pending correction, once, by a
    second person: whoever filed it cannot decide it (CorrectionFourEyes)."""
    correction = CorrectionRequest.objects.select_for_update().get(pk=correction.pk)
    if correction.status != CorrectionStatus.PENDING:
        raise CorrectionDecided()
    if correction.requested_by_id is not None and correction.requested_by_id == actor.pk:
        raise CorrectionFourEyes()
    person = Person.objects.select_for_update().get(pk=correction.person_id)
    if approve:
        values = vault.decrypt_values(person, correction.proposed)
        _person_update(person, values, actor=actor, reason=f"correction #{correction.pk}")
    correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REFUSED
    correction.decided_by = actor
    correction.decided_at = timezone.now()
    correction.decision_note = note.strip()[:300]
    correction.save()
    access_log.append(
        operator=person.operator,
        actor=actor,
        person=person,
        fields=list(correction.proposed),
        purpose=AccessPurpose.CORRECTION,
        reason=f"correction #{correction.pk} {correction.status}",
    )
    return correction


@sensitive_variables()
def correction_reveal(
    *, correction: CorrectionRequest, actor: AbstractBaseUser, reason: str
) -> list[selectors.CorrectionField]:
    """A correction's fields side by side in clear, current and proposed, for
    whoever may reveal the person: through person_reveal (its checks, its
    reason, its access-log entry naming the fields concerned, purpose
    "correction") before anything is decrypted."""
    person = correction.person
    fields = [name for name in CORRECTABLE_FIELDS if name in correction.proposed]
    current = person_reveal(
        person=person,
        actor=actor,
        reason=reason,
        purpose=AccessPurpose.CORRECTION,
        fields=fields,
    )
    proposed = vault.decrypt_values(person, {name: correction.proposed[name] for name in fields})
    return [
        selectors.CorrectionField(
            field=name,
            label=str(selectors.CORRECTION_FIELD_LABELS[name]),
            current=current[name],
            proposed=proposed[name],
        )
        for name in fields
    ]


# --- Retention and keys -------------------------------------------------------------------


@transaction.atomic
def person_shred(
    *,
    person: Person,
    actor: AbstractBaseUser | None = None,
    reason: str = "retention term elapsed",
) -> Person:
    """Crypto-shred a person: the data key and every ciphertext are erased,
    and the blind index with them (a look-up by document no longer finds
    the row; the document, registered again, makes a new person); versions
    and correction proposals deleted; consents and the access log stay (they
    hold no personal data). ``reason`` goes to the access log. A person under
    a legal hold (``retention_held``) is refused with PersonHeld, unchanged."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.is_shredded:
        return person
    if person.retention_held:
        raise PersonHeld()
    vault.shred(person)
    person.portraits.update(image_enc=None, reason_enc=None, erased_at=timezone.now())
    person.doc_index = erased_index(person)
    person.shredded_at = timezone.now()
    person.save()
    person.versions.all().delete()
    person.corrections.all().delete()
    access_log.append(
        operator=person.operator,
        actor=actor,
        actor_label=None if actor else "retention",
        person=person,
        purpose=AccessPurpose.RETENTION,
        reason=reason,
    )
    return person


def erased_index(person: Person) -> str:
    """What stands in a shredded person's blind index: unique per row (the
    column is unique per operator), never a document's HMAC (64 hex digits)."""
    return f"erased:{person.uid.hex}"


def person_lines_record(
    *, person_id: int, lines_held: int, last_closed_at: dt.datetime | None = None
) -> None:
    """Registration tells identity how many open lines a person holds and,
    when their last one has just closed, when: the retention term runs from
    that moment (``retention_due``)."""
    updates: dict[str, object] = {"lines_held": lines_held}
    if last_closed_at is not None and lines_held == 0:
        updates["last_line_closed_at"] = last_closed_at
    Person.objects.filter(pk=person_id).update(**updates)


def person_retention_hold(*, person_id: int, held: bool) -> None:
    """Registration tells identity that a line of this person is under a
    legal hold (or that none is any more): retention passes a held person by,
    and ``person_shred`` refuses them."""
    Person.objects.filter(pk=person_id).update(retention_held=held)


@dataclass(frozen=True)
class RetentionDue:
    """One person whose retention term has elapsed, and why (no personal data:
    ids and dates only)."""

    person_id: int
    person_uid: str
    operator_code: str
    since: dt.datetime  # the last line's closing, or the record's making
    since_last_line: bool
    term_days: int

    def __str__(self) -> str:
        start = "last line closed" if self.since_last_line else "no line ever held; recorded"
        return (
            f"person {self.person_id} ({self.person_uid}) at {self.operator_code}: "
            f"{start} {self.since:%Y-%m-%d}, retention term {self.term_days} days elapsed"
        )


def retention_due(*, now: dt.datetime | None = None):
    """Persons whose retention term has elapsed: no line held, the last line
    closed (or, never holding one, the record made) longer ago than the
    operator's term, and no legal hold on any line of theirs."""
    now = now or timezone.now()
    due = Person.objects.none()
    for operator in Operator.objects.all():
        cutoff = now - dt.timedelta(days=operator.retention_days)
        due = due | Person.objects.filter(
            Q(last_line_closed_at__lt=cutoff)
            | Q(last_line_closed_at__isnull=True, created_at__lt=cutoff),
            operator=operator,
            lines_held=0,
            shredded_at__isnull=True,
            retention_held=False,
        )
    return due


def retention_due_list(
    *, now: dt.datetime | None = None, limit: int = 10_000
) -> list[RetentionDue]:
    """Who ``retention_run`` would shred at ``now``, and why; changes nothing."""
    rows = (
        retention_due(now=now)
        .order_by("pk")
        .values_list(
            "pk",
            "uid",
            "operator__code",
            "operator__retention_days",
            "last_line_closed_at",
            "created_at",
        )[:limit]
    )
    return [
        RetentionDue(
            person_id=pk,
            person_uid=str(uid),
            operator_code=code,
            since=closed or created,
            since_last_line=closed is not None,
            term_days=days,
        )
        for pk, uid, code, days, closed, created in rows
    ]


def retention_run(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Shred every person due at ``now``; each person commits on its own (a
    hold set meanwhile leaves that one whole). Returns the count."""
    shredded = 0
    skipped: set[int] = set()
    while True:
        ids = list(
            retention_due(now=now)
            .exclude(pk__in=skipped)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            portraits_expire(now=now)
            return shredded
        for person in Person.objects.filter(pk__in=ids).select_related("operator"):
            try:
                person_shred(person=person)
            except PersonHeld:
                skipped.add(person.pk)
                continue
            shredded += 1


# Persons per committed rotation batch: large enough that the per-statement round trips
# stop mattering, small enough that a batch holds its row locks only briefly.
KEYS_ROTATE_BATCH_SIZE = 2000
# When persons may change cipher family (some key in the ring is of another cipher than
# the active one), each person costs a re-encryption and an access-log entry, and the
# batch holds its operators' access-log chains until it commits: smaller batches then.
KEYS_REENCRYPT_BATCH_SIZE = 200


class KeyRotationError(crypto.DecryptionError):
    """Rotation stopped: a data key could not be unwrapped (its key id is not in the
    ring, or is configured with another cipher, or the blob is damaged). The batch
    it was in is rolled back; the message names persons by id and keys by id only."""


def keys_rotate(
    *,
    batch_size: int = KEYS_ROTATE_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    stats: dict[str, int] | None = None,
) -> int:
    """Re-wrap every data key not under the active key, in committed batches,
    so an interrupted run resumes where it stopped. Returns how many changed.

    A person whose key is of the active key's cipher family (AES to AES, SM4 to SM4)
    has only the wrapped data key read and written: no personal field is decrypted or
    rewritten. A person moving between families (AES-256-GCM to SM4-GCM or back) has,
    in the same transaction, every ciphertext on identity's rows sealed again under the
    new cipher (:func:`identity.vault.reencrypt`), and an access-log entry (purpose
    ``maintenance``) saying so, since their fields were decrypted in memory to do it;
    ``stats["reencrypted"]`` counts them. ``updated_at`` is left alone either way.
    Rows another transaction holds locked are skipped by this run (a later run picks
    them up). A key that cannot be unwrapped raises KeyRotationError (fails closed:
    the batch rolls back and earlier batches stay done)."""
    keys = vault.ring()
    active, active_cipher = keys.active_kid, keys.active_cipher
    if any(keys.cipher_of(kid) != active_cipher for kid in keys.kids):
        batch_size = min(batch_size, KEYS_REENCRYPT_BATCH_SIZE)
    remaining = Person.objects.filter(wrapped_key__isnull=False).exclude(key_id=active)
    total = remaining.count()
    done, reencrypted, last_pk = 0, 0, 0
    while True:
        with transaction.atomic():
            # Bare columns, not models: instantiating thousands of Persons per batch
            # cost more than the cryptography.
            rows = list(
                remaining.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", "uid", "wrapped_key")[:batch_size]
            )
            if not rows:
                if stats is not None:
                    stats["reencrypted"] = reencrypted
                return done
            same, moving = [], []
            for row in rows:
                try:
                    family = crypto.cipher_of(bytes(row[2]))
                except crypto.DecryptionError as exc:
                    raise KeyRotationError(f"person #{row[0]}: {exc}") from None
                (same if family == active_cipher else moving).append(row)
            try:
                rewrapped = vault.rewrap_many([(uid, wrapped) for _pk, uid, wrapped in same])
            except crypto.DecryptionError as exc:
                raise KeyRotationError(
                    f"a data key of persons #{same[0][0]}-#{same[-1][0]}: {exc}"
                ) from None
            changes = [
                (pk, *new)
                for (pk, _uid, _old), new in zip(same, rewrapped, strict=True)
                if new is not None
            ]
            _wrapped_keys_write(changes)
            if moving:
                _reencrypt_persons([pk for pk, _uid, _wrapped in moving], cipher=active_cipher)
        last_pk = rows[-1][0]
        done += len(changes) + len(moving)
        reencrypted += len(moving)
        if progress:
            progress(done, total)


KEYS_ROTATE_ACTOR = "rotate_keys"


def _reencrypt_persons(pks: list[int], *, cipher: str) -> None:
    """The slow path of keys_rotate, inside its transaction (the rows are locked):
    the access-log entries first (one INSERT), then the re-encryption in memory, then
    one UPDATE for the persons' columns and one per related table."""
    persons = list(
        Person.objects.filter(pk__in=pks)
        .select_related("operator")
        .prefetch_related("versions", "corrections")
        .order_by("pk")
    )
    access_log.append_many(
        {
            "operator": person.operator,
            "actor": None,
            "actor_label": KEYS_ROTATE_ACTOR,
            "person": person,
            "fields": ENCRYPTED_FIELDS,
            "purpose": AccessPurpose.MAINTENANCE,
            "reason": f"Key rotation: re-encrypt the stored values under {cipher}.",
        }
        for person in persons
    )
    versions: list[PersonVersion] = []
    corrections: list[CorrectionRequest] = []
    for person in persons:
        person_versions = list(person.versions.all())
        person_corrections = list(person.corrections.all())
        try:
            vault.reencrypt(person, versions=person_versions, corrections=person_corrections)
        except crypto.DecryptionError as exc:
            raise KeyRotationError(f"person #{person.pk}: {exc}") from None
        versions += person_versions
        corrections += person_corrections
    # Columns, not save(): updated_at says when the person changed, not the keys.
    _person_columns_write(
        ["wrapped_key", "key_id", *(f"{name}_enc" for name in ENCRYPTED_FIELDS)],
        [
            (
                person.pk,
                person.wrapped_key,
                person.key_id,
                *(getattr(person, f"{name}_enc") for name in ENCRYPTED_FIELDS),
            )
            for person in persons
        ],
    )
    PersonVersion.objects.bulk_update(versions, ["previous"])
    CorrectionRequest.objects.bulk_update(corrections, ["proposed"])


def _person_columns_write(fields: list[str], rows: list[tuple]) -> None:
    """Set ``fields`` of Person rows by pk, ``rows`` being ``(pk, *values)``: one
    ``UPDATE … FROM unnest(…)`` on PostgreSQL, one parameterised UPDATE per row
    elsewhere (SQLite: tests, dev). Binary and character columns only."""
    if not rows:
        return
    meta = Person._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk_col = quote(meta.pk.column)
    columns = [quote(meta.get_field(name).column) for name in fields]
    types = [
        "bytea" if meta.get_field(name).get_internal_type() == "BinaryField" else "varchar"
        for name in fields
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [list(column) for column in zip(*rows, strict=True)]
            sets = ", ".join(f"{col} = v.c{i}" for i, col in enumerate(columns))
            casts = ", ".join(f"%s::{kind}[]" for kind in types)
            names = ", ".join(f"c{i}" for i in range(len(columns)))
            cursor.execute(
                f"UPDATE {table} AS p SET {sets} "  # noqa: S608 - quoted model names only
                f"FROM unnest(%s::bigint[], {casts}) AS v(pk, {names}) "
                f"WHERE p.{pk_col} = v.pk",
                arrays,
            )
        else:
            sets = ", ".join(f"{col} = %s" for col in columns)
            cursor.executemany(
                f"UPDATE {table} SET {sets} WHERE {pk_col} = %s",  # noqa: S608 - quoted model names only
                [(*values, pk) for pk, *values in rows],
            )


def _wrapped_keys_write(changes: list[tuple[int, bytes, str]]) -> None:
    """Set (wrapped_key, key_id) by pk in one statement on PostgreSQL, where
    ``bulk_update``'s CASE per row made rotation over ten times slower than the UPDATE
    itself; one parameterised UPDATE per row elsewhere (SQLite: tests, dev)."""
    if not changes:
        return
    meta = Person._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk_col = quote(meta.pk.column)
    key_col = quote(meta.get_field("wrapped_key").column)
    kid_col = quote(meta.get_field("key_id").column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            pks, keys, kids = zip(*changes, strict=True)
            cursor.execute(
                f"UPDATE {table} AS p SET {key_col} = v.wrapped_key, {kid_col} = v.key_id "  # noqa: S608 - quoted model names only
                "FROM unnest(%s::bigint[], %s::bytea[], %s::varchar[]) "
                "AS v(pk, wrapped_key, key_id) "
                f"WHERE p.{pk_col} = v.pk",
                [list(pks), list(keys), list(kids)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {key_col} = %s, {kid_col} = %s WHERE {pk_col} = %s",  # noqa: S608 - quoted model names only
                [(key, kid, pk) for pk, key, kid in changes],
            )


# --- The simulated authority's registry ----------------------------------------------------


@dataclass(frozen=True)
class CitizenRow:
    id_type: str
    id_number: str
    name: str
    date_of_birth: dt.date
    sex: str
    revoked: bool
    # The simulated authority answers ``unavailable`` for this citizen.
    unavailable: bool = False
    # The reference portrait (cleaned image bytes), or None.
    portrait: bytes | None = None

    def __repr__(self) -> str:
        return f"CitizenRow(id_type={self.id_type!r}, <personal fields hidden>)"


def citizen_name_digest(name: str) -> str:
    return vault.digest("citizen-name", " ".join(name.split()).casefold())


def citizen_birth_digest(date_of_birth: dt.date, sex: str) -> str:
    return vault.digest("citizen-birth", date_of_birth.isoformat(), sex.upper())


def authority_registry_load(rows: Iterable[CitizenRow], *, batch_size: int = 1000) -> int:
    """Load (insert or update) synthetic citizens into the simulated registry,
    as keyed digests only. Idempotent: loading the same file twice changes nothing."""
    count = 0
    batch: list[CitizenRecord] = []

    def flush() -> None:
        CitizenRecord.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["doc_index"],
            update_fields=[
                "name_digest",
                "birth_digest",
                "revoked",
                "unavailable",
                "portrait_key",
                "portrait_enc",
            ],
        )
        batch.clear()

    for row in rows:
        number = documents.normalise_document(row.id_type, row.id_number)
        doc_index = vault.document_index(row.id_type, number)
        portrait_key = portrait_enc = None
        if row.portrait is not None:
            portrait_key, portrait_enc = _citizen_portrait_seal(doc_index, row.portrait)
        batch.append(
            CitizenRecord(
                doc_index=doc_index,
                name_digest=citizen_name_digest(row.name),
                birth_digest=citizen_birth_digest(row.date_of_birth, row.sex),
                revoked=row.revoked,
                unavailable=row.unavailable,
                portrait_key=portrait_key,
                portrait_enc=portrait_enc,
            )
        )
        count += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return count


@sensitive_variables()
def value_reveal(
    *,
    person: Person,
    actor: AbstractBaseUser,
    reason: str,
    context: str,
    field: str,
    blob: bytes,
    purpose: str = AccessPurpose.COMPLIANCE_REVIEW,
) -> str:
    """person_reveal for a value sealed on another row (e.g. an installation
    address): same checks, same access-log entry, then decryption."""
    if not can_reveal(actor, person):
        raise RevealNotAllowed()
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise RevealReasonRequired()
    with transaction.atomic():
        access_log.append(
            operator=person.operator,
            actor=actor,
            person=person,
            fields=[field],
            purpose=purpose,
            reason=reason,
            detail={"context": context},
            store=_store_of(actor),
        )
    return vault.open_value(person, context=context, field=field, blob=blob)


# --- Values of a person kept on another app's rows (public surface) ---------------------


@sensitive_variables()
def value_seal(*, person: Person, context: str, field: str, value: str) -> bytes:
    """Seal a value that belongs to a person but lives on another app's row (a
    landline's installation address), bound to that row by ``context``."""
    return vault.seal_value(person, context=context, field=field, value=value)


@sensitive_variables()
def value_reseal(*, person: Person, context: str, field: str, blob: bytes) -> bytes:
    """A value sealed with :func:`value_seal`, sealed again under the cipher the
    person's key now uses (``rotate_keys`` moved them between AES-256-GCM and
    SM4-GCM; values on other apps' rows keep their old cipher, readable, until the
    app that holds them reseals them with this). The same bytes when nothing changes."""
    return vault.reseal_value(person, context=context, field=field, blob=bytes(blob))


@sensitive_variables()
def value_open(*, person: Person, context: str, field: str, blob: bytes) -> str:
    """Open a value sealed with :func:`value_seal`, for a service that moves or
    applies it (never to show it: surfaces use selectors.value_masked)."""
    return vault.open_value(person, context=context, field=field, blob=bytes(blob))


@sensitive_variables()
def person_identity_values(*, person: Person) -> IdentityData:
    """A person's stored identity, opened for a service that puts it to the
    authority (never to show it)."""
    return _identity_from_values(person.id_type, vault.open_fields(person))


# --- Values that belong to no person yet (public surface) -------------------------------


@sensitive_variables()
def transient_seal(*, subject: str, field: str, value: str) -> tuple[bytes, bytes]:
    """Seal what belongs to no stored person yet (what a clerk typed while the
    store wizard runs) under a fresh data key wrapped by the key ring, bound to
    ``subject``: returns (wrapped key, sealed value)."""
    ring = crypto.KeyRing.from_settings()
    dek = crypto.new_data_key()
    return (
        crypto.wrap_data_key(ring, dek, subject=subject),
        crypto.encrypt_field(dek, value, subject=subject, field=field, cipher=ring.active_cipher),
    )


@sensitive_variables()
def transient_open(*, subject: str, field: str, wrapped_key: bytes, blob: bytes) -> str | None:
    """A value sealed with :func:`transient_seal`, or None when it cannot be
    opened (a key rotated away, damaged data)."""
    try:
        ring = crypto.KeyRing.from_settings()
        dek = crypto.unwrap_data_key(ring, wrapped_key, subject=subject)
        return crypto.decrypt_field(dek, blob, subject=subject, field=field)
    except (crypto.DecryptionError, ValueError):
        return None


# --- The authority, for other apps (public surface) -------------------------------------


@sensitive_variables()
def authority_verify(
    *,
    operator: Operator,
    identity: IdentityData,
    actor: AbstractBaseUser | None,
    store: Store | None,
    party: str,
) -> authority.AuthorityResult:
    """Ask the authority about one party's identity; the check is written to
    the access log (the party, document type, outcome and the authority's
    reference: no personal data)."""
    result = authority.get_backend().verify(identity)
    access_log.append(
        operator=operator,
        actor=actor,
        store=store,
        purpose=AccessPurpose.AUTHORITY_CHECK,
        detail={
            "party": party,
            "id_type": identity.id_type,
            "outcome": str(result.outcome),
            "reference": result.reference,
        },
    )
    return result


@sensitive_variables()
def authority_recheck(*, identity: IdentityData) -> authority.AuthorityResult:
    """Ask the authority again about an identity a waiting transaction holds
    (the first check is in the access log already)."""
    return authority.get_backend().verify(identity)


EXPIRY_BACKFILL_BATCH_SIZE = 500
EXPIRY_BACKFILL_ACTOR = "backfill_document_expiry"


@dataclass(frozen=True)
class ExpiryBackfill:
    filled: int
    unreadable: int
    remaining: int


def _expiry_backfill_pending():
    return Person.objects.filter(
        id_expires_on__isnull=True, id_expiry_enc__isnull=False, wrapped_key__isnull=False
    )


def document_expiry_backfill_pending() -> int:
    """How many stored persons have a document expiry but no ``id_expires_on``
    (stored before the column existed). A count only: nothing is decrypted."""
    return _expiry_backfill_pending().count()


@sensitive_variables()
def document_expiry_backfill(
    *,
    batch_size: int = EXPIRY_BACKFILL_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> ExpiryBackfill:
    """Fill ``Person.id_expires_on`` (the date the document-expiry cycle selects
    on) for persons stored before it existed, from their encrypted expiry.

    Every person read gets its own access-log entry (purpose ``maintenance``,
    field ``id_expiry``) in the same transaction as the write, before the field
    is decrypted; only that one field is opened. Batches commit one by one and
    skip rows another transaction holds, so an interrupted run resumes where it
    stopped, and a person already filled is never read again. A stored expiry
    that is not a date is counted as unreadable and left for a person to look at
    (by id, never by value)."""
    pending = _expiry_backfill_pending()
    total = pending.count()
    filled = unreadable = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                pending.filter(pk__gt=last_pk)
                .select_related("operator")
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            )
            if not batch:
                break
            changed: list[Person] = []
            for person in batch:
                access_log.append(
                    operator=person.operator,
                    actor=None,
                    actor_label=EXPIRY_BACKFILL_ACTOR,
                    person=person,
                    fields=["id_expiry"],
                    purpose=AccessPurpose.MAINTENANCE,
                    reason="Fill the document-expiry date the daily cycle selects on.",
                )
                value = vault.open_fields(person, ["id_expiry"])["id_expiry"]
                expires_on = parse_date(value) if value else None
                if expires_on is None:
                    unreadable += 1
                    logger.warning("document expiry of person %s is not a date", person.uid)
                    continue
                person.id_expires_on = expires_on
                changed.append(person)
            Person.objects.bulk_update(changed, ["id_expires_on"])
        last_pk = batch[-1].pk
        filled += len(changed)
        if progress:
            progress(filled + unreadable, total)
    return ExpiryBackfill(
        filled=filled, unreadable=unreadable, remaining=_expiry_backfill_pending().count()
    )


# --- Re-indexing documents under a new index key ----------------------------------------

REINDEX_BATCH_SIZE = 500
REINDEX_ACTOR = "reindex_documents"


@dataclass(frozen=True)
class Reindex:
    reindexed: int
    conflicts: int  # another person already holds the new index (registered meanwhile)
    remaining: int


def _reindex_pending():
    return Person.objects.filter(wrapped_key__isnull=False, shredded_at__isnull=True).exclude(
        index_key_id=vault.index_key_id()
    )


def document_reindex_pending() -> int:
    """How many persons' blind index was computed under another index key or
    algorithm than TELEREG_INDEX_KEY's. A count only: nothing is decrypted."""
    return _reindex_pending().count()


@sensitive_variables()
def document_reindex(
    *,
    batch_size: int = REINDEX_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> Reindex:
    """Recompute ``Person.doc_index`` under the configured index key (e.g. after
    moving the blind index from HMAC-SHA256 to HMAC-SM3, or to a new key), so that
    look-ups by document keep finding every person.

    The index is a keyed digest of the document number, so each person's number is
    decrypted to compute it: every person read gets its own access-log entry (purpose
    ``maintenance``, field ``id_number``) in the same transaction as the write, before
    the field is opened. Batches commit one by one and skip rows another transaction
    holds; a person done is stamped with the index key's id (``index_key_id``), so an
    interrupted run resumes where it stopped and a second run reads nobody. A person
    whose new index another person already holds (the same document registered again
    while the look-up could not find the first) is counted as a conflict, logged by
    id, and left for a person to merge. ``updated_at`` is left alone."""
    pending = _reindex_pending()
    total = pending.count()
    current = vault.index_key_id()
    reindexed = conflicts = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                pending.filter(pk__gt=last_pk)
                .select_related("operator")
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            )
            if not batch:
                break
            for person in batch:
                access_log.append(
                    operator=person.operator,
                    actor=None,
                    actor_label=REINDEX_ACTOR,
                    person=person,
                    fields=["id_number"],
                    purpose=AccessPurpose.MAINTENANCE,
                    reason="Recompute the document index under the configured index key.",
                )
                index = vault.reindex(person)
                try:
                    with transaction.atomic():
                        Person.objects.filter(pk=person.pk).update(
                            doc_index=index, index_key_id=current
                        )
                except IntegrityError:
                    conflicts += 1
                    logger.warning(
                        "person %s: another person of operator %s already holds its new "
                        "document index; left for a merge",
                        person.uid,
                        person.operator.code,
                    )
                    continue
                reindexed += 1
        last_pk = batch[-1].pk
        if progress:
            progress(reindexed + conflicts, total)
    return Reindex(
        reindexed=reindexed,
        conflicts=conflicts,
        remaining=_reindex_pending().count(),
    )


# --- Portraits taken at the counter (identity.portraits) ---------------------------------

PORTRAIT_REFERENCE_FIELD = "portrait_reference"
PORTRAIT_REASON_FIELD = "portrait_reason"


def _citizen_subject(doc_index: str) -> str:
    return f"citizen:{doc_index}"


@sensitive_variables()
def _citizen_portrait_seal(doc_index: str, image: bytes) -> tuple[bytes, bytes]:
    import base64

    return transient_seal(
        subject=_citizen_subject(doc_index),
        field=vault.PORTRAIT_FIELD,
        value=base64.b64encode(image).decode(),
    )


@sensitive_variables()
def citizen_portrait(identity: IdentityData) -> bytes | None:
    """The simulated authority's reference portrait of a document, or None
    (for the simulated matcher only: never shown but through a review)."""
    import base64

    number = documents.normalise_document(identity.id_type, identity.id_number)
    doc_index = vault.document_index(identity.id_type, number)
    record = CitizenRecord.objects.filter(doc_index=doc_index).first()
    if record is None or record.portrait_enc is None or record.portrait_key is None:
        return None
    text = transient_open(
        subject=_citizen_subject(doc_index),
        field=vault.PORTRAIT_FIELD,
        wrapped_key=bytes(record.portrait_key),
        blob=bytes(record.portrait_enc),
    )
    return base64.b64decode(text) if text else None


@sensitive_variables()
def portrait_clean(raw: bytes) -> bytes:
    """A portrait as the clerk sent it, decoded and re-encoded without metadata;
    raises portraits.ImageRefused."""
    return portraits.image_clean(raw)


@sensitive_variables()
def portrait_compare(*, identity: IdentityData, image: bytes) -> portraits.MatchResult:
    """Compare a cleaned live image with the reference of the identity's
    document, through the configured matcher (outside any database transaction)."""
    return portraits.get_matcher().compare(identity, image)


@sensitive_variables()
def portrait_record(
    *,
    person: Person,
    image: bytes | None,
    liveness: str = "",
    reason: str = "",
    reference: bytes | None = None,
    keep_until: dt.datetime | None = None,
) -> Portrait:
    """Store a portrait (or a capture exception with its reason) sealed under
    the person's data key, bound to its row. Runs in the caller's transaction."""
    portrait = Portrait(
        person=person, exception=image is None, liveness=liveness, keep_until=keep_until
    )
    if image is not None:
        portrait.image_enc = vault.seal_image(
            person, context=portrait.context, field=vault.PORTRAIT_FIELD, image=image
        )
    if reference is not None:
        portrait.reference_enc = vault.seal_image(
            person, context=portrait.context, field=PORTRAIT_REFERENCE_FIELD, image=reference
        )
    if reason:
        portrait.reason_enc = vault.seal_value(
            person, context=portrait.context, field=PORTRAIT_REASON_FIELD, value=reason
        )
    portrait.save(force_insert=True)
    return portrait


@sensitive_variables()
def portrait_image_open(*, portrait: Portrait) -> bytes | None:
    """The live image, for a service that compares it again (the worker after
    a matcher outage): never to show it (reviewers use portrait_review_reveal)."""
    if portrait.image_enc is None:
        return None
    return vault.open_image(
        portrait.person,
        context=portrait.context,
        field=vault.PORTRAIT_FIELD,
        blob=bytes(portrait.image_enc),
    )


@sensitive_variables()
def portrait_reference_set(*, portrait: Portrait, reference: bytes | None) -> None:
    """Keep the reference the matcher compared with, beside the live image."""
    if reference is None:
        return
    portrait.reference_enc = vault.seal_image(
        portrait.person, context=portrait.context, field=PORTRAIT_REFERENCE_FIELD, image=reference
    )
    portrait.save(update_fields=["reference_enc"])


@sensitive_variables()
def portrait_review_reveal(
    *, portrait: Portrait, actor: AbstractBaseUser, reason: str, store: Store | None = None
) -> dict[str, Any]:
    """The live image, the reference and the exception's reason in clear, for
    a reviewer (the caller decides that ``actor`` reviews this portrait): an
    audited reveal, purpose ``portrait_review``, written before decrypting."""
    import base64

    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        raise RevealReasonRequired()
    person = portrait.person
    if person.is_shredded or portrait.erased_at is not None:
        raise PersonShredded()
    with transaction.atomic():
        access_log.append(
            operator=person.operator,
            actor=actor,
            person=person,
            fields=["portrait"],
            purpose=AccessPurpose.PORTRAIT_REVIEW,
            reason=reason,
            detail={"portrait": str(portrait.uid)},
            store=store or _store_of(actor),
        )

    def image(blob, field):
        if blob is None:
            return None
        raw = vault.open_image(person, context=portrait.context, field=field, blob=bytes(blob))
        return base64.b64encode(raw).decode("ascii")

    return {
        "live": image(portrait.image_enc, vault.PORTRAIT_FIELD),
        "reference": image(portrait.reference_enc, PORTRAIT_REFERENCE_FIELD),
        "exception_reason": None
        if portrait.reason_enc is None
        else vault.open_value(
            person,
            context=portrait.context,
            field=PORTRAIT_REASON_FIELD,
            blob=bytes(portrait.reason_enc),
        ),
    }


def portrait_erase(*, portrait: Portrait) -> None:
    """Erase a portrait's ciphertexts (its decision is kept elsewhere)."""
    Portrait.objects.filter(pk=portrait.pk).update(
        image_enc=None, reference_enc=None, reason_enc=None, erased_at=timezone.now()
    )


def portraits_expire(*, now: dt.datetime | None = None) -> int:
    """Erase the portraits kept past their term (the operator's retention of
    portraits); run with the retention. Returns the count."""
    now = now or timezone.now()
    return Portrait.objects.filter(keep_until__lt=now, erased_at__isnull=True).update(
        image_enc=None, reference_enc=None, reason_enc=None, erased_at=now
    )
