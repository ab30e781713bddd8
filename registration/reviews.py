"""The portrait review queue: a second person decides a portrait the check
sent to review (registration.portrait_check). Reviewers are the operator's
compliance officers and store managers (permission ``portrait.review``;
store managers see their store's reviews), never the staff member who took
the transaction (four eyes). Approve completes the transaction and activates
the line; refuse rejects it and releases the number; a review not decided by
its time limit expires the same way (beat and ``expire_portrait_reviews``)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from config.api import DomainError, InvalidInput
from identity import services as identity_services
from operators.errors import FourEyes
from operators.tenancy import can, scoped, staff_of

from . import services
from .models import PortraitReview, ReviewState, Transaction, TransactionState

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

REVIEW_PERMISSION = "portrait.review"
DECISIONS = ("approve", "refuse")


class ReviewFourEyes(FourEyes):
    code = "four_eyes"
    message = _("A portrait is reviewed by a second person, never by the one who took it.")


class ReviewNotAllowed(DomainError):
    code = "not_allowed"
    message = _("Only compliance officers and store managers review portraits.")


class ReviewDecided(DomainError):
    code = "review_decided"
    message = _("This review was already decided or has expired.")


class ReviewInvalid(InvalidInput):
    code = "invalid"


class PortraitReviewRefused(DomainError):
    code = "portrait_refused"
    message = _("The portrait was refused by a reviewer.")


class PortraitReviewExpired(DomainError):
    code = "portrait_review_expired"
    message = _("The portrait review was not decided in time.")


def review_list(*, user, state: str | None = None):
    """The reviews ``user`` may see (their operator's; a store manager's store)."""
    if not can(user, REVIEW_PERMISSION):
        return PortraitReview.objects.none()
    qs = scoped(PortraitReview.objects.all(), user).select_related(
        "transaction", "transaction__staff", "store"
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("due_at", "pk")


def _check_reviewer(actor, review: PortraitReview) -> None:
    staff = staff_of(actor)
    if not can(actor, REVIEW_PERMISSION) or staff is None:
        raise ReviewNotAllowed()
    if staff.operator_id != review.operator_id:
        raise ReviewNotAllowed()
    if review.transaction.staff_id == actor.pk:
        raise ReviewFourEyes()


@sensitive_variables()
def review_reveal(*, actor: AbstractBaseUser, review: PortraitReview, reason: str) -> dict:
    """Both images (and an exception's reason), for the reviewer: an audited
    reveal (access-log purpose ``portrait_review``)."""
    _check_reviewer(actor, review)
    tx = review.transaction
    if tx.portrait is None:
        raise ReviewDecided()
    return identity_services.portrait_review_reveal(
        portrait=tx.portrait, actor=actor, reason=reason, store=staff_of(actor).store
    )


def review_decide(
    *, actor: AbstractBaseUser, review: PortraitReview, decision: str, reason: str
) -> PortraitReview:
    """Approve or refuse an open review, with a reason."""
    reason = " ".join((reason or "").split())
    errors = {}
    if decision not in DECISIONS:
        errors["decision"] = [str(_("One of: approve, refuse."))]
    if len(reason) < 5:
        errors["reason"] = [str(_("Give the reason for the decision (at least 5 characters)."))]
    if errors:
        raise ReviewInvalid(fields=errors)
    _check_reviewer(actor, review)
    with transaction.atomic():
        tx = (
            Transaction.objects.select_for_update(of=("self",))
            .select_related("operator", "applicant", "new_holder", "portrait")
            .get(pk=review.transaction_id)
        )
        review = PortraitReview.objects.select_for_update().get(pk=review.pk)
        if review.state != ReviewState.OPEN or tx.state != TransactionState.PENDING_REVIEW:
            raise ReviewDecided()
        now = timezone.now()
        if decision == "approve":
            services.review_complete(tx, actor)
            review.state = ReviewState.APPROVED
        else:
            error = PortraitReviewRefused()
            services.review_reject(tx, error.code, str(error.message), actor)
            review.state = ReviewState.REFUSED
        review.decided_by = actor
        review.decided_at = now
        review.decision_reason = reason[:300]
        review.save()
    logger.info("portrait review %s decided: %s", review.uid, review.state)
    return review


def reviews_expire(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Reject the transactions whose review was not decided in time (their
    numbers released); each in its own transaction. Returns the count."""
    now = now or timezone.now()
    ids = list(
        PortraitReview.objects.filter(state=ReviewState.OPEN, due_at__lt=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in ids:
        with transaction.atomic():
            review = (
                PortraitReview.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            )
            if review is None or review.state != ReviewState.OPEN or review.due_at >= now:
                continue
            tx = (
                Transaction.objects.select_for_update(of=("self",))
                .select_related("operator", "portrait")
                .get(pk=review.transaction_id)
            )
            if tx.state == TransactionState.PENDING_REVIEW:
                error = PortraitReviewExpired()
                services.review_reject(tx, error.code, str(error.message))
            review.state = ReviewState.EXPIRED
            review.decided_at = now
            review.save()
            expired += 1
    return expired


def review_open_count(*, user) -> int:
    """The open reviews ``user`` may see (one aggregate query)."""
    return scoped(PortraitReview.objects.filter(state=ReviewState.OPEN), user).count()


def review_counts(*, user) -> dict:
    """Per store and per clerk: portraits sent to review and refused (the
    console home), from one aggregate query."""
    qs = scoped(Transaction.objects.exclude(portrait_outcome=""), user)
    sent = Q(portrait_review__isnull=False)
    refused = Q(portrait_outcome="refused")
    rows = (
        qs.values("store__code", "staff__username")
        .annotate(reviews=Count("pk", filter=sent), refused=Count("pk", filter=refused))
        .order_by("store__code", "staff__username")
    )
    by_store: dict[str, dict] = {}
    by_clerk: dict[str, dict] = {}
    for row in rows:
        for key, table in ((row["store__code"], by_store), (row["staff__username"], by_clerk)):
            entry = table.setdefault(key, {"reviews": 0, "refused": 0})
            entry["reviews"] += row["reviews"]
            entry["refused"] += row["refused"]
    return {
        "by_store": [{"store__code": k, **v} for k, v in sorted(by_store.items())],
        "by_clerk": [{"staff__username": k, **v} for k, v in sorted(by_clerk.items())],
    }
