"""Domain errors of the operators services, mapped once to the API error shape
(:mod:`config.api`) and shown as messages in the console. Messages never carry
personal data."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.api import DomainError


class SelfRoleChange(DomainError):
    code = "self_role_change"
    message = _(
        "Nobody changes their own role, store or access: ask another operator admin "
        "or a platform admin."
    )


class RoleChangeNotAllowed(DomainError):
    code = "role_not_allowed"
    message = _("Your role does not allow changing this staff member.")


class FourEyes(DomainError):
    code = "four_eyes"
    message = _(
        "A role grant is decided by a second person: not by the person who requested it, "
        "nor by the person who would receive it."
    )


class GrantNotPending(DomainError):
    code = "grant_decided"
    message = _("This role grant was already decided or withdrawn.")


class GrantAlreadyPending(DomainError):
    code = "grant_pending"
    message = _("A role grant for this staff member is already waiting for a decision.")


class GrantStale(DomainError):
    code = "grant_stale"
    message = _(
        "The staff member's role or access changed since this grant was requested; "
        "file a new request."
    )


class StaffChangeInvalid(DomainError):
    code = "invalid"
    message = _("The staff change is not valid.")


class PartnerAccountInvalid(DomainError):
    code = "partner_account_invalid"
    message = _(
        "A partner's account must be its own: not a staff member's, not a platform admin's."
    )


class StoreStatusNotAllowed(DomainError):
    code = "role_not_allowed"
    message = _("Only a compliance officer of the store's operator suspends or blacklists it.")


class StoreStatusInvalid(DomainError):
    code = "invalid"
    message = _("Some fields are not valid.")


class StoreSuspended(DomainError):
    code = "store_suspended"
    message = _("Your store is suspended: its staff cannot sign in. Ask your compliance office.")
