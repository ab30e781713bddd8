"""Writes about operators, stores and staff."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from . import hooks
from .audit import RoleChangeEvent, role_audit_record
from .errors import (
    FourEyes,
    GrantAlreadyPending,
    GrantNotPending,
    GrantStale,
    PartnerAccountInvalid,
    RoleChangeNotAllowed,
    SelfRoleChange,
    StaffChangeInvalid,
    StoreStatusInvalid,
    StoreStatusNotAllowed,
)
from .models import (
    ConfidentialityUndertaking,
    Language,
    Partner,
    PartnerKind,
    RoleGrant,
    RoleGrantState,
    StaffMember,
    Store,
    StoreStatus,
    UndertakingAcceptance,
    WorkerHeartbeat,
)
from .roles import PRIVILEGED, Role
from .roles import STORE as STORE_ROLES
from .tenancy import can, is_platform_admin, staff_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .models import Operator, Store

logger = logging.getLogger(__name__)

# staff_update's "leave the store as it is" (None means head office).
UNCHANGED: Any = object()


@transaction.atomic
def undertaking_accept(
    *, user: AbstractBaseUser, undertaking: ConfidentialityUndertaking
) -> UndertakingAcceptance:
    """Record that ``user`` accepted this version of the undertaking.

    Idempotent: accepting the same version twice keeps the first acceptance time."""
    now = timezone.now()
    acceptance, created = UndertakingAcceptance.objects.get_or_create(
        user=user, undertaking=undertaking, defaults={"accepted_at": now}
    )
    if created:
        StaffMember.objects.filter(user=user).update(
            confidentiality_accepted_at=acceptance.accepted_at,
            confidentiality_version=undertaking.version,
        )
        logger.info("user %s accepted undertaking %s", user.pk, undertaking.version)
    if hasattr(user, "_telereg_undertaking_pending"):
        del user._telereg_undertaking_pending
    return acceptance


def staff_language_set(*, staff: StaffMember, language: str, actor: AbstractBaseUser) -> bool:
    """Save the language ``staff``'s pages and console are shown in ("" = the
    operator's staff language).

    Guarantees: only the staff member themselves changes it (anyone else, or
    a code outside :class:`operators.models.Language`, changes nothing and
    returns False); the change is logged with the actor's id, not a name."""
    if actor is None or actor.pk != staff.user_id:
        return False
    if language and language not in Language.values:
        return False
    if staff.language == language:
        return True
    StaffMember.objects.filter(pk=staff.pk).update(language=language)
    staff.language = language
    logger.info("user %s set staff language %s", actor.pk, language or "(operator default)")
    return True


def heartbeat_record(*, name: str) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


# --- Staff roles and role grants --------------------------------------------------
#
# Every change of a staff member's role, store or active flag goes through
# these services, whatever the surface (console forms and inlines, admin
# actions, the API). The rules:
#   * nobody changes their own staff profile (SelfRoleChange);
#   * a privileged role (compliance officer, operator admin) is only given by
#     a RoleGrant that a second person approves: another operator admin of the
#     same operator, or a platform admin, never the requester nor the grantee;
#   * lower roles and store moves apply at once; revocations (a lower role,
#     deactivation) apply at once and withdraw any pending grant;
#   * every step is written to the access log through operators.audit, inside
#     the same transaction, so a change without its entry cannot be stored.


@dataclass(frozen=True)
class StaffChange:
    """What a staff change did: the fields applied at once, and the grant filed
    for what needs a second person (None when nothing waits)."""

    staff: StaffMember
    applied: tuple[str, ...]
    grant: RoleGrant | None


def _is_self(actor: AbstractBaseUser | None, staff: StaffMember) -> bool:
    return actor is not None and actor.pk == staff.user_id


def _check_manages(actor: AbstractBaseUser | None, operator_id: int | None) -> None:
    """The actor is a platform admin, or an active operator admin of this operator."""
    if is_platform_admin(actor):
        return
    own = staff_of(actor)
    if own is None or own.operator_id != operator_id or not can(actor, "staff.change"):
        raise RoleChangeNotAllowed()


def _check_decides(actor: AbstractBaseUser | None, operator_id: int) -> None:
    if is_platform_admin(actor):
        return
    own = staff_of(actor)
    if own is None or own.operator_id != operator_id or not can(actor, "role_grant.manage"):
        raise RoleChangeNotAllowed()


def _record(
    *,
    staff: StaffMember,
    actor: AbstractBaseUser | None,
    event: str,
    reason: str = "",
    **detail: Any,
) -> None:
    role_audit_record(
        RoleChangeEvent(
            operator=staff.operator,
            actor=actor,
            staff=staff,
            event=event,
            reason=reason,
            detail={"staff": staff.pk, **detail},
        )
    )


def _clean_reason(reason: str) -> str:
    # NUL bytes are refused by PostgreSQL text columns; never store them.
    return (reason or "").replace("\x00", "").strip()[:300]


def _check_store(*, operator: Operator, role: str, store: Store | None) -> None:
    if role not in Role.values:
        raise StaffChangeInvalid(fields={"role": [gettext("Not a known role.")]})
    if store is not None and store.operator_id != operator.pk:
        raise StaffChangeInvalid(
            fields={"store": [gettext("The store belongs to another operator.")]}
        )
    if role in STORE_ROLES and store is None:
        raise StaffChangeInvalid(
            fields={"store": [gettext("Clerks and store managers work in a store.")]}
        )


def _withdraw_pending(*, staff: StaffMember, actor: AbstractBaseUser | None, why: str) -> None:
    for grant in RoleGrant.objects.select_for_update().filter(
        staff=staff, state=RoleGrantState.PENDING
    ):
        _decide(grant=grant, actor=actor, state=RoleGrantState.WITHDRAWN, note=why)


def _decide(
    *, grant: RoleGrant, actor: AbstractBaseUser | None, state: str, note: str
) -> RoleGrant:
    grant.state = state
    grant.decided_at = timezone.now()
    # A withdrawal by the requester records no decider: the four-eyes check
    # constraint forbids decided_by == requested_by.
    grant.decided_by = None if actor is None or actor.pk == grant.requested_by_id else actor
    grant.decision_note = note
    grant.save(update_fields=["state", "decided_at", "decided_by", "decision_note"])
    _record(
        staff=grant.staff,
        actor=actor,
        event=f"grant_{state}",
        reason=note,
        grant=grant.pk,
        role_from=grant.role_from,
        role_to=grant.role_to,
        activates=grant.activates,
    )
    return grant


@transaction.atomic
def role_grant_request(
    *,
    staff: StaffMember,
    role: str,
    actor: AbstractBaseUser,
    reason: str = "",
    activates: bool = False,
) -> RoleGrant:
    """File a pending grant of a privileged role to ``staff``.

    Guarantees: the actor manages the staff member's operator and is not the
    staff member; ``role`` is privileged; at most one grant per staff member
    waits (GrantAlreadyPending otherwise); nothing about the staff member
    changes until a second person approves; the request is in the access log."""
    staff = StaffMember.objects.select_for_update().select_related("operator").get(pk=staff.pk)
    if _is_self(actor, staff):
        raise SelfRoleChange()
    _check_manages(actor, staff.operator_id)
    if role not in PRIVILEGED:
        raise StaffChangeInvalid(
            fields={"role": [gettext("Only compliance officer and operator admin are granted.")]}
        )
    if role == staff.role and staff.active:
        raise StaffChangeInvalid(fields={"role": [gettext("The staff member already holds it.")]})
    if RoleGrant.objects.filter(staff=staff, state=RoleGrantState.PENDING).exists():
        raise GrantAlreadyPending()
    reason = _clean_reason(reason)
    try:
        with transaction.atomic():
            grant = RoleGrant.objects.create(
                operator=staff.operator,
                staff=staff,
                role_from=staff.role,
                role_to=role,
                activates=activates or not staff.active,
                reason=reason,
                requested_by=actor,
                requested_at=timezone.now(),
            )
    except IntegrityError as error:  # a concurrent request won the partial unique index
        raise GrantAlreadyPending() from error
    _record(
        staff=staff,
        actor=actor,
        event="grant_requested",
        reason=reason,
        grant=grant.pk,
        role_from=grant.role_from,
        role_to=grant.role_to,
        activates=grant.activates,
    )
    logger.info("role grant %s requested for staff %s", grant.pk, staff.pk)
    return grant


@transaction.atomic
def role_grant_decide(
    *, grant: RoleGrant, actor: AbstractBaseUser, approve: bool, note: str = ""
) -> RoleGrant:
    """Approve or refuse a pending grant.

    Guarantees: the decider is a platform admin or an active operator admin of
    the grant's operator, and neither the requester nor the grantee (FourEyes);
    a grant is decided once (GrantNotPending); an approval applies the role
    (and activation) only if the staff member is still as when requested
    (GrantStale); the decision is in the access log with the decider."""
    grant = RoleGrant.objects.select_for_update().get(pk=grant.pk)
    _check_decides(actor, grant.operator_id)
    if grant.state != RoleGrantState.PENDING:
        raise GrantNotPending()
    staff = (
        StaffMember.objects.select_for_update().select_related("operator").get(pk=grant.staff_id)
    )
    grant.staff = staff
    if actor.pk in (grant.requested_by_id, staff.user_id):
        raise FourEyes()
    note = _clean_reason(note)
    if not approve:
        return _decide(grant=grant, actor=actor, state=RoleGrantState.REFUSED, note=note)
    if staff.role != grant.role_from or (not staff.active and not grant.activates):
        raise GrantStale()
    staff.role = grant.role_to
    if grant.activates:
        staff.active = True
    staff.save(update_fields=["role", "active"])
    logger.info("role grant %s approved for staff %s", grant.pk, staff.pk)
    return _decide(grant=grant, actor=actor, state=RoleGrantState.APPROVED, note=note)


@transaction.atomic
def role_grant_withdraw(*, grant: RoleGrant, actor: AbstractBaseUser, note: str = "") -> RoleGrant:
    """The requester (or another manager of the operator) withdraws a pending grant."""
    grant = RoleGrant.objects.select_for_update().select_related("staff__operator").get(pk=grant.pk)
    if actor.pk != grant.requested_by_id:
        _check_decides(actor, grant.operator_id)
    if grant.state != RoleGrantState.PENDING:
        raise GrantNotPending()
    return _decide(
        grant=grant, actor=actor, state=RoleGrantState.WITHDRAWN, note=_clean_reason(note)
    )


@transaction.atomic
def staff_create(
    *,
    user: AbstractBaseUser,
    operator: Operator,
    role: str,
    store: Store | None,
    actor: AbstractBaseUser,
    active: bool = True,
    reason: str = "",
) -> StaffChange:
    """Create the staff profile of a new sign-in account.

    A lower role starts as asked. A privileged role starts inactive (no access
    at all) with a pending grant that a second person approves; approval
    activates it. Nobody creates their own profile. Audited either way."""
    if actor.pk == user.pk:
        raise SelfRoleChange()
    _check_manages(actor, operator.pk)
    _check_store(operator=operator, role=role, store=store)
    privileged = role in PRIVILEGED and active
    staff = StaffMember.objects.create(
        user=user, operator=operator, store=store, role=role, active=active and not privileged
    )
    _record(
        staff=staff,
        actor=actor,
        event="staff_created",
        reason=_clean_reason(reason),
        role=role,
        store=store.pk if store else None,
        active=staff.active,
    )
    grant = None
    if privileged:
        grant = role_grant_request(
            staff=staff, role=role, actor=actor, reason=reason, activates=True
        )
    return StaffChange(staff=staff, applied=("created",), grant=grant)


@transaction.atomic
def staff_update(
    *,
    staff: StaffMember,
    actor: AbstractBaseUser,
    role: str | None = None,
    store: Store | None | object = UNCHANGED,
    active: bool | None = None,
    reason: str = "",
) -> StaffChange:
    """Change a staff member's role, store or active flag (``None`` / UNCHANGED
    leave one as it is).

    Guarantees: refused on one's own profile (SelfRoleChange) and outside the
    actor's operator (RoleChangeNotAllowed); a privileged role, or reactivating
    someone whose role is privileged, is not applied but filed as a pending
    grant; lowering a role and deactivating apply at once and withdraw any
    pending grant; each applied change is in the access log."""
    staff = StaffMember.objects.select_for_update().select_related("operator").get(pk=staff.pk)
    new_role = staff.role if role is None else role
    new_store = staff.store if store is UNCHANGED else store
    new_active = staff.active if active is None else active
    changes = (
        new_role != staff.role
        or (new_store.pk if new_store else None) != staff.store_id
        or new_active != staff.active
    )
    if not changes:
        return StaffChange(staff=staff, applied=(), grant=None)
    if _is_self(actor, staff):
        raise SelfRoleChange()
    _check_manages(actor, staff.operator_id)
    grant_role = new_role in PRIVILEGED and new_role != staff.role
    if grant_role and not new_active:
        raise StaffChangeInvalid(
            fields={"role": [gettext("A deactivated staff member is not granted a role.")]}
        )
    # What is applied at once: the role only when it is not privileged.
    applied_role = staff.role if grant_role else new_role
    if grant_role and applied_role in STORE_ROLES and new_store is None:
        # Leaving the store for head office waits with the grant: until then
        # the staff member keeps working in their store.
        new_store = staff.store
    reactivates = new_active and not staff.active
    grant_activation = reactivates and applied_role in PRIVILEGED
    _check_store(operator=staff.operator, role=applied_role, store=new_store)
    if grant_role:
        _check_store(operator=staff.operator, role=new_role, store=new_store)
    reason = _clean_reason(reason)
    applied: list[str] = []
    revoked = (new_role != staff.role and not grant_role) or (not new_active and staff.active)
    if revoked:
        _withdraw_pending(
            staff=staff, actor=actor, why=gettext("Withdrawn: the role or access was revoked.")
        )
    if (new_store.pk if new_store else None) != staff.store_id:
        old_store = staff.store_id
        staff.store = new_store
        applied.append("store")
        _record(
            staff=staff,
            actor=actor,
            event="store_changed",
            reason=reason,
            store_from=old_store,
            store_to=new_store.pk if new_store else None,
        )
    if applied_role != staff.role:
        old_role = staff.role
        staff.role = applied_role
        applied.append("role")
        _record(
            staff=staff,
            actor=actor,
            event="role_set",
            reason=reason,
            role_from=old_role,
            role_to=applied_role,
        )
    if not new_active and staff.active:
        staff.active = False
        applied.append("active")
        _record(staff=staff, actor=actor, event="revoked", reason=reason, role=staff.role)
    elif reactivates and not grant_activation:
        staff.active = True
        applied.append("active")
        _record(staff=staff, actor=actor, event="reactivated", reason=reason, role=staff.role)
    if applied:
        staff.save(update_fields=["role", "store", "active"])
    grant = None
    if grant_role or grant_activation:
        grant = role_grant_request(
            staff=staff,
            role=new_role,
            actor=actor,
            reason=reason,
            activates=reactivates or not staff.active,
        )
    return StaffChange(staff=staff, applied=tuple(applied), grant=grant)


def staff_password_check(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    """Whether ``actor`` may set ``user``'s password for them. Setting someone's
    password lets one sign in as them, so an operator admin never does it for a
    platform admin or for a compliance officer or operator admin (their peers,
    whose roles need a second person): a platform admin does."""
    if is_platform_admin(actor):
        return
    profile = staff_of_any(user)
    _check_manages(actor, profile.operator_id if profile is not None else None)
    if user.is_superuser or (profile is not None and profile.role in PRIVILEGED):
        raise RoleChangeNotAllowed(
            gettext(
                "The password of a compliance officer, operator admin or platform admin "
                "is reset by a platform admin."
            )
        )


@transaction.atomic
def staff_password_record(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    """Record that ``actor`` set ``user``'s password (the console's password
    form saved it in this transaction); refuses, rolling it back, when the
    actor may not (:func:`staff_password_check`)."""
    staff_password_check(user=user, actor=actor)
    profile = staff_of_any(user)
    if profile is not None:
        _record(staff=profile, actor=actor, event="password_set")


def staff_of_any(user: AbstractBaseUser) -> StaffMember | None:
    """The staff profile of ``user``, active or not (``staff_of`` sees active ones)."""
    return StaffMember.objects.select_related("operator", "store").filter(user=user).first()


@transaction.atomic
def partner_create(
    *, user: AbstractBaseUser, operator: Operator, name: str, kind: str = PartnerKind.FRAUD_CHECKS
) -> Partner:
    """Make ``user`` the sign-in account of a partner of ``operator``.

    A partner account is never also staff nor a platform admin: its calls
    must reach the CAMARA endpoints only, and a staff profile or a console
    flag beside it would open every other surface."""
    if StaffMember.objects.filter(user=user).exists() or user.is_superuser or user.is_staff:
        raise PartnerAccountInvalid()
    partner = Partner.objects.create(user=user, operator=operator, name=name, kind=kind)
    logger.info("Partner %s created for operator %s", partner.pk, operator.pk)
    return partner


# --- Store suspension and blacklisting (issue 16) -----------------------------------------

STORE_REASON_MAX = 300


@transaction.atomic
def store_status_set(*, store: Store, status: str, reason: str, actor: AbstractBaseUser) -> Store:
    """Suspend, blacklist or reinstate a store, with a reason, by a compliance
    officer of its operator (or a platform admin); who and when are kept on
    the store. From the next request its staff can no longer sign in or work
    (``tenancy.staff_of`` sees no staff of a store that is not active).
    Blacklisting also runs the store-blacklisted hook (re-verification opens
    a campaign on the store's recent lines) in this transaction."""
    staff = staff_of(actor)
    allowed = can(actor, "store.suspend") and (
        is_platform_admin(actor) or (staff is not None and staff.operator_id == store.operator_id)
    )
    if not allowed:
        raise StoreStatusNotAllowed()
    if status not in StoreStatus.values:
        raise StoreStatusInvalid(fields={"status": [gettext("Not a known store status.")]})
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) < 3:
        raise StoreStatusInvalid(fields={"reason": [gettext("Say why (at least 3 characters).")]})
    if len(text) > STORE_REASON_MAX:
        raise StoreStatusInvalid(
            fields={
                "reason": [gettext("At most %(limit)s characters.") % {"limit": STORE_REASON_MAX}]
            }
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise StoreStatusInvalid(fields={"reason": [gettext("Text without control characters.")]})
    store = Store.objects.select_for_update().get(pk=store.pk)
    was = store.status
    now = timezone.now()
    store.status = status
    store.status_reason = text
    store.status_changed_by = actor
    store.status_changed_at = now
    store.save(update_fields=["status", "status_reason", "status_changed_by", "status_changed_at"])
    logger.info("store %s: %s -> %s by user %s", store.pk, was, status, actor.pk)
    if status == StoreStatus.BLACKLISTED and was != StoreStatus.BLACKLISTED:
        hooks.store_blacklisted(store, actor, now)
    return store
