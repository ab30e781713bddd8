"""The portrait check at the counter (API.md, "The portrait check at the
counter"): the rules that turn a portrait and the matcher's answer into a
decision, with the operator's policy and thresholds.

* ``portrait_prepare``: the request's ``portrait`` block checked and its image
  cleaned (identity.portraits) before anything is stored; missing while the
  operator requires one → PortraitRequired (400, field ``portrait``).
* ``decide``: score ≥ pass with liveness ``passed`` → PASS; score < refuse or
  liveness ``failed`` → REFUSE (409 ``portrait_mismatch``, the image never
  stored); anything else (between the two, ``not_checked``, an exception, no
  reference) → REVIEW; no answer from the matcher → WAIT.

The services (registration.services) call these inside their own order of
work; the review queue (registration.reviews) decides what REVIEW left open.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from config.api import InvalidInput
from identity import portraits
from identity import services as identity_services
from identity.errors import IdentityInvalid

from .errors import RegistrationRefused

LIVENESS = ("passed", "failed", "not_checked")
EXCEPTION_CANNOT_CAPTURE = "cannot_capture"
POLICY_REQUIRED = "required"


class PortraitRequired(InvalidInput):
    code = "portrait_required"
    message = _("This operator requires a portrait of the person for this transaction.")

    def __init__(self) -> None:
        super().__init__(fields={"portrait": [str(self.message)]})


class PortraitMismatch(RegistrationRefused):
    code = "portrait_mismatch"
    message = _("The live portrait does not match the portrait on file.")


@dataclass
class PortraitInput:
    """The request's ``portrait`` block (API) or the wizard's capture."""

    image: str | None = None  # base64 (API)
    raw: bytes | None = field(default=None, repr=False)  # bytes (the wizard's upload)
    liveness: str | None = None
    exception: str | None = None
    reason: str = ""

    def __repr__(self) -> str:
        return f"PortraitInput(liveness={self.liveness!r}, exception={self.exception!r})"


@dataclass
class CleanPortrait:
    image: bytes | None = field(default=None, repr=False)  # None: a capture exception
    liveness: str = ""
    reason: str = ""

    def __repr__(self) -> str:
        return f"CleanPortrait(liveness={self.liveness!r}, exception={self.image is None})"


class Decision(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a decision, not a password
    REFUSE = "refuse"
    REVIEW = "review"
    WAIT = "wait"


@dataclass(frozen=True)
class Checked:
    decision: Decision
    cause: str = ""
    score: float | None = None
    reference: bytes | None = field(default=None, repr=False)


def takes_portrait(spec) -> bool:
    """Openings, transfers (the new holder) and SIM replacements."""
    return spec.opens_line or spec.transfers or bool(spec.sim_required)


@sensitive_variables()
def portrait_prepare(operator, spec, given: PortraitInput | None) -> CleanPortrait | None:
    """The portrait of the request, checked and cleaned, or None when the kind
    takes none (or none was given and the operator does not require one)."""
    if not takes_portrait(spec):
        if given is not None:
            raise IdentityInvalid(
                {"portrait": [gettext("This kind of transaction takes no portrait.")]}
            )
        return None
    return portrait_prepare_for_holder(operator, given)


@sensitive_variables()
def portrait_prepare_for_holder(operator, given: PortraitInput | None) -> CleanPortrait | None:
    """The portrait of a check that is no transaction kind (the in-store
    re-verification of a line's holder): required by the operator's policy,
    checked and cleaned exactly as an opening's; None when none was given and
    none is required."""
    if given is None:
        if operator.portrait_policy == POLICY_REQUIRED:
            raise PortraitRequired()
        return None
    if given.exception is not None:
        if given.exception != EXCEPTION_CANNOT_CAPTURE:
            raise IdentityInvalid({"portrait.exception": [gettext("Not a known exception.")]})
        reason = " ".join((given.reason or "").split())
        if len(reason) < 5:
            raise IdentityInvalid(
                {"portrait.reason": [gettext("Say why no portrait can be taken.")]}
            )
        return CleanPortrait(image=None, liveness="", reason=reason[:300])
    if given.liveness not in LIVENESS:
        raise IdentityInvalid(
            {"portrait.liveness": [gettext("One of: passed, failed, not_checked.")]}
        )
    try:
        raw = given.raw if given.raw is not None else portraits.decode_base64(given.image or "")
        image = identity_services.portrait_clean(raw)
    except portraits.ImageRefused as refused:
        raise IdentityInvalid({"portrait.image": [str(refused.reason)]}) from None
    return CleanPortrait(image=image, liveness=given.liveness)


@sensitive_variables()
def portrait_from_upload(post, files) -> PortraitInput | None:
    """A capture step's portrait from a page's form (the wizard's confirm step,
    the store's re-verification): the upload ``portrait_image`` with
    ``portrait_liveness``, or the exception ``portrait_exception`` with
    ``portrait_reason``; None when nothing was given. Never kept in a session."""
    if post.get("portrait_exception") == EXCEPTION_CANNOT_CAPTURE:
        return PortraitInput(
            exception=EXCEPTION_CANNOT_CAPTURE, reason=post.get("portrait_reason", "")[:300]
        )
    upload = files.get("portrait_image")
    if upload is None:
        return None
    raw = upload.read(portraits.MAX_IMAGE_BYTES + 1)
    return PortraitInput(raw=raw, liveness=post.get("portrait_liveness", "not_checked"))


def decide(operator, portrait: CleanPortrait, match: portraits.MatchResult | None) -> Checked:
    """The decision for a portrait and the matcher's answer (None: not asked,
    for a capture exception)."""
    if portrait.image is None:
        return Checked(Decision.REVIEW, cause="exception")
    if portrait.liveness == "failed":
        return Checked(Decision.REFUSE, cause="liveness_failed")
    if match is None or match.outcome is portraits.MatchOutcome.UNAVAILABLE:
        return Checked(Decision.WAIT, cause="matcher_unavailable")
    if match.outcome is portraits.MatchOutcome.NO_REFERENCE:
        return Checked(Decision.REVIEW, cause="no_reference")
    score = match.score
    if score < operator.portrait_refuse:
        return Checked(Decision.REFUSE, cause="score", score=score)
    if score >= operator.portrait_pass and portrait.liveness == "passed":
        return Checked(Decision.PASS, score=score, reference=match.reference_image)
    cause = "score" if score < operator.portrait_pass else "liveness_not_checked"
    return Checked(Decision.REVIEW, cause=cause, score=score, reference=match.reference_image)


@sensitive_variables()
def portrait_check(operator, identity, portrait: CleanPortrait) -> Checked:
    """Ask the matcher (outside any database transaction) and decide."""
    if portrait.image is None or portrait.liveness == "failed":
        return decide(operator, portrait, None)
    match = identity_services.portrait_compare(identity=identity, image=portrait.image)
    return decide(operator, portrait, match)


def keep_until(operator, now: dt.datetime) -> dt.datetime | None:
    """When the operator's retention of portraits erases one taken ``now``."""
    days = operator.portrait_retention_days
    return None if days is None else now + dt.timedelta(days=days)


def review_due(operator, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=operator.portrait_review_hours)
