"""Domain errors of the identity services, mapped once to the API error shape
(:mod:`config.api`) and to form errors. Messages never carry personal data."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from config.api import DomainError


class NoticeIncomplete(DomainError):
    code = "notice_incomplete"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "A privacy notice must state all six parts before it is published."


class NoticePublished(DomainError):
    code = "notice_published"
    message = "A published notice cannot be changed; create a new version."


class NoCurrentNotice(DomainError):
    code = "no_current_notice"
    message = "The operator has no published privacy notice; consent cannot be taken."


class ConsentRequired(DomainError):
    code = "consent_required"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "The person must consent to the operator's current privacy notice."


class ConsentRefused(DomainError):
    code = "consent_refused"
    message = "The person refused consent: no personal data was stored."


class PersonShredded(DomainError):
    code = "person_erased"
    status_code = status.HTTP_410_GONE
    message = "This person's data was erased under the retention policy."


class RevealNotAllowed(DomainError):
    code = "reveal_not_allowed"
    status_code = status.HTTP_403_FORBIDDEN
    message = "Your role does not allow revealing personal data."


class CorrectionDecided(DomainError):
    code = "correction_decided"
    message = "This correction request was already decided."


class IdentityMismatch(DomainError):
    """The identity given differs, in what identifies a person (name, birth
    date, sex, nationality), from the identity already verified for that
    document. Never applied silently: a correction request is the way."""

    code = "identity_mismatch"
    message = _(
        "These details differ from the identity already verified for this document; "
        "nothing was changed. A correction must be requested instead."
    )
