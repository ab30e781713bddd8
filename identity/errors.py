"""Domain errors of the identity services, mapped once to the API error shape
(:mod:`config.api`) and to form errors. Messages never carry personal data."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.api import DomainError, InvalidInput

Errors = dict[str, list[str]]

#: The fields of the identity block, in the order errors are reported.
IDENTITY_FIELDS = (
    "id_type",
    "id_number",
    "name",
    "date_of_birth",
    "sex",
    "id_expiry",
    "nationality",
    "address",
)


class IdentityInvalid(InvalidInput):  # noqa: N818 - named for what happened, like the other domain errors
    """The identity block breaks one or more rules (identity.documents).

    ``errors`` (also ``fields``) maps identity-block field names to reasons
    (plain English, for a clerk). ``str`` and ``repr`` list only field names
    and those fixed reasons: never the personal data that was checked.
    """

    code = "invalid"
    message = _("Some fields are not valid.")

    def __init__(self, errors: Errors) -> None:
        order = {field: n for n, field in enumerate(IDENTITY_FIELDS)}
        self.errors: Errors = {
            field: [str(reason) for reason in reasons]
            for field, reasons in sorted(errors.items(), key=lambda kv: order.get(kv[0], 99))
            if reasons
        }
        super().__init__(fields=self.errors)
        self.args = (self.errors,)

    def __str__(self) -> str:
        parts = (f"{field}: {'; '.join(reasons)}" for field, reasons in self.errors.items())
        return "invalid identity: " + " | ".join(parts)

    def __repr__(self) -> str:
        return f"IdentityInvalid(fields={sorted(self.errors)!r})"


class NoticeIncomplete(DomainError):
    code = "notice_incomplete"
    message = _("A privacy notice must state all six parts before it is published.")


class NoticePublished(DomainError):
    code = "notice_published"
    message = _("A published notice cannot be changed; create a new version.")


class NoCurrentNotice(DomainError):
    code = "no_current_notice"
    message = _("The operator has no published privacy notice; consent cannot be taken.")


class ConsentRequired(DomainError):
    code = "consent_required"
    message = _("The person must consent to the operator's current privacy notice.")


class ConsentRefused(DomainError):
    code = "consent_refused"
    message = _("The person refused consent: no personal data was stored.")


class PersonShredded(DomainError):
    code = "person_erased"
    message = _("This person's data was erased under the retention policy.")


class RevealNotAllowed(DomainError):
    code = "reveal_not_allowed"
    message = _("Your role does not allow revealing personal data.")


class CorrectionDecided(DomainError):
    code = "correction_decided"
    message = _("This correction request was already decided.")


class CorrectionFourEyes(DomainError):
    code = "four_eyes"
    message = _("A correction is decided by a second person, not by the person who filed it.")


class IdentityMismatch(DomainError):
    """The identity given differs, in what identifies a person (name, birth
    date, sex, nationality), from the identity already verified for that
    document. Never applied silently: a correction request is the way."""

    code = "identity_mismatch"
    message = _(
        "These details differ from the identity already verified for this document; "
        "nothing was changed. A correction must be requested instead."
    )


class LanguageInvalid(InvalidInput):  # noqa: N818 - named for what happened, like the other domain errors
    """A language the notices are not written in."""

    code = "invalid"
    message = _("Some fields are not valid.")

    def __init__(self) -> None:
        super().__init__(fields={"language": [str(_("Choose zh-hans or en."))]})


class PersonHeld(DomainError):
    """A person whose line is under a legal hold: kept whole until it is lifted."""

    code = "legal_hold"
    message = _("A line of this person is under a legal hold: their data cannot be erased.")
