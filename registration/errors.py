"""Refusals of the registration services: each a clear, specific message with
its own code, never carrying personal data. Mapped once in config.api."""

from __future__ import annotations

from config.api import DomainError
from identity.errors import IdentityMismatch


class RegistrationRefused(DomainError):
    """A refusal that is recorded as a rejected transaction."""

    code = "refused"


class CapReached(RegistrationRefused):
    code = "cap_reached"

    def __init__(self, *, count: int, cap: int, kind: str) -> None:
        super().__init__(
            f"This identity already holds {count} {kind} line(s) at this operator; "
            f"the limit is {cap}."
        )
        self.count, self.cap = count, cap


class NumberTaken(RegistrationRefused):
    code = "number_taken"
    message = "That number is not available: it is taken, reserved or resting."


class NumberUnknown(RegistrationRefused):
    code = "number_unknown"
    message = "That number is not in this operator's inventory."


class NoNumberAvailable(RegistrationRefused):
    code = "no_number_available"
    message = "No number of this kind is available in the inventory."


class HolderMismatch(RegistrationRefused):
    code = "holder_mismatch"
    message = "The identity given is not the registered holder of this line."


class TransferToSelf(RegistrationRefused):
    code = "transfer_to_self"
    message = "The new holder is already the registered holder of this line."


class LineNotActive(RegistrationRefused):
    code = "line_not_active"
    message = "This line is barred, suspended or closed: it accepts only re-verification."


class LineWrongKind(RegistrationRefused):
    code = "line_wrong_kind"
    message = "This transaction does not apply to this kind of line."


class ServiceNotApplicable(RegistrationRefused):
    code = "service_not_applicable"
    message = "This service does not apply to this kind of line."


class ServiceAlreadyActive(RegistrationRefused):
    code = "service_already_active"
    message = "This service is already active on the line."


class IdentityNotVerified(RegistrationRefused):
    code = "identity_not_verified"

    def __init__(self, *, party: str, outcome: str) -> None:
        reasons = {
            "mismatch": "the details do not match the authority's record",
            "not_found": "the authority has no such document",
            "revoked": "the document was revoked by the authority",
        }
        super().__init__(
            f"The {party.replace('_', ' ')}'s identity was not confirmed: "
            f"{reasons.get(outcome, outcome)}.",
            fields={party: [reasons.get(outcome, outcome)]},
        )
        self.outcome = outcome


class StoreInactive(DomainError):
    code = "store_inactive"
    message = "Your store is not active: it cannot take transactions."


class NotCancellable(DomainError):
    code = "not_cancellable"
    message = "Only a transaction waiting for the authority can be cancelled."


class LineNotFound(DomainError):
    code = "line_not_found"
    message = "No line with that number at this operator."


class ServiceNotFound(DomainError):
    code = "service_not_found"
    message = "No such service in the operator's catalog."

    def __init__(self) -> None:
        super().__init__(fields={"service": ["No such service in the catalog."]})


class IdentityMismatchRefused(RegistrationRefused):
    """identity.errors.IdentityMismatch met while taking a transaction: the
    same code, and the rejected transaction is recorded."""

    code = "identity_mismatch"
    message = IdentityMismatch.message
