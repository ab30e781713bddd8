"""Refusals of the registration services: each a clear, specific message with
its own code, never carrying personal data. Mapped once in config.api."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.api import DomainError
from identity.errors import IdentityMismatch


def _kind_label(kind: str) -> str:
    """A line kind as people read it ("mobile" → 移动电话 in zh-hans)."""
    labels = {"mobile": gettext("mobile"), "landline": gettext("landline")}
    return labels.get(kind, kind)


class RegistrationRefused(DomainError):
    """A refusal that is recorded as a rejected transaction."""

    code = "refused"


class CapReached(RegistrationRefused):
    code = "cap_reached"

    def __init__(self, *, count: int, cap: int, kind: str) -> None:
        super().__init__(
            gettext(
                "This identity already holds %(count)d %(kind)s line(s) at this operator; "
                "the limit is %(cap)d."
            )
            % {"count": count, "kind": _kind_label(kind), "cap": cap}
        )
        self.count, self.cap = count, cap


class NumberTaken(RegistrationRefused):
    code = "number_taken"
    message = _("That number is not available: it is taken, reserved or resting.")


class NumberUnknown(RegistrationRefused):
    code = "number_unknown"
    message = _("That number is not in this operator's inventory.")


class NoNumberAvailable(RegistrationRefused):
    code = "no_number_available"
    message = _("No number of this kind is available in the inventory.")


class HolderMismatch(RegistrationRefused):
    code = "holder_mismatch"
    message = _("The identity given is not the registered holder of this line.")


class TransferToSelf(RegistrationRefused):
    code = "transfer_to_self"
    message = _("The new holder is already the registered holder of this line.")


class LineNotActive(RegistrationRefused):
    code = "line_not_active"
    message = _("This line is barred, suspended or closed: it accepts only re-verification.")


class LineWrongKind(RegistrationRefused):
    code = "line_wrong_kind"
    message = _("This transaction does not apply to this kind of line.")


class ServiceNotApplicable(RegistrationRefused):
    code = "service_not_applicable"
    message = _("This service does not apply to this kind of line.")


class ServiceAlreadyActive(RegistrationRefused):
    code = "service_already_active"
    message = _("This service is already active on the line.")


class IdentityNotVerified(RegistrationRefused):
    code = "identity_not_verified"

    def __init__(self, *, party: str, outcome: str) -> None:
        reasons = {
            "mismatch": gettext("the details do not match the authority's record"),
            "not_found": gettext("the authority has no such document"),
            "revoked": gettext("the document was revoked by the authority"),
        }
        parties = {
            "holder": gettext("holder"),
            "new_holder": gettext("new holder"),
        }
        reason = reasons.get(outcome, gettext("the authority did not confirm it"))
        super().__init__(
            gettext("The %(party)s's identity was not confirmed: %(reason)s.")
            % {"party": parties.get(party, party.replace("_", " ")), "reason": reason},
            fields={party: [reason]},
        )
        self.outcome = outcome


class StoreInactive(DomainError):
    code = "store_inactive"
    message = _("Your store is not active: it cannot take transactions.")


class NotCancellable(DomainError):
    code = "not_cancellable"
    message = _("Only a transaction waiting for the authority can be cancelled.")


class LineNotFound(DomainError):
    code = "line_not_found"
    message = _("No line with that number at this operator.")


class ServiceNotFound(DomainError):
    code = "service_not_found"
    message = _("No such service in the operator's catalog.")

    def __init__(self) -> None:
        super().__init__(fields={"service": [gettext("No such service in the catalog.")]})


class IdentityMismatchRefused(RegistrationRefused):
    """identity.errors.IdentityMismatch met while taking a transaction: the
    same code, and the rejected transaction is recorded."""

    code = "identity_mismatch"
    message = IdentityMismatch.message


class LineOnLegalHold(RegistrationRefused):
    """The line is under a legal hold: it stays open until the hold is lifted."""

    code = "legal_hold"
    message = _("This line is under a legal hold: it cannot be closed until the hold is lifted.")


class NoLegalHold(DomainError):
    code = "no_legal_hold"
    message = _("This line has no legal hold in force.")


class LineAlreadyClosed(DomainError):
    code = "line_closed"
    message = _("This line is closed already.")


# --- Disclosure requests --------------------------------------------------------------------


class DisclosureFourEyes(DomainError):
    code = "four_eyes"
    message = _(
        "A disclosure request is approved or refused by a second person, never by the "
        "person who filed it."
    )


class DisclosureNotAllowed(DomainError):
    code = "role_not_allowed"
    message = _("Your role does not allow this step of a disclosure request.")


class DisclosureDecided(DomainError):
    code = "disclosure_decided"
    message = _("This disclosure request was already approved or refused.")


class DisclosureNotApproved(DomainError):
    code = "disclosure_not_approved"
    message = _("Only an approved disclosure request can be released.")


class DisclosureReleased(DomainError):
    code = "disclosure_released"
    message = _("This disclosure request was released already: nothing is released twice.")


class DisclosureRefused(DomainError):
    code = "disclosure_refused"
    message = _("This disclosure request was refused.")
