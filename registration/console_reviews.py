"""The portrait review queue in the console: the open reviews of the
operator, and one review's page with the live image beside the reference
(shown only after an audited reveal with a reason: access-log purpose
``portrait_review``), the score, the liveness result, the store and the
clerk, and the decision with a reason. The rules are registration.reviews':
who reviews, four eyes, deciding once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.debug import sensitive_variables

from config.api import DomainError, status_for
from operators.admin import ScopedAdmin, console
from operators.console_home import HomeCount, HomePanel, count_register, panel_register
from operators.tenancy import can

from . import reviews
from .models import PortraitReview, ReviewState

# Why a portrait came to review (PortraitReview.cause), as people read it.
CAUSES = {
    "score": gettext_lazy("Score between the thresholds"),
    "liveness_not_checked": gettext_lazy("Liveness not checked"),
    "exception": gettext_lazy("The person cannot be photographed"),
    "no_reference": gettext_lazy("No portrait on file"),
}


class ReviewRevealForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        min_length=5,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Why you need to see the data. Recorded in the access log with your name."
        ),
    )


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", gettext_lazy("Approve")), ("refuse", gettext_lazy("Refuse"))],
        widget=forms.HiddenInput,
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the decision"),
        min_length=5,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@admin.register(PortraitReview, site=console)
class PortraitReviewAdmin(ScopedAdmin):
    """Reviews are decided one at a time on their own page: no bulk action."""

    permission_prefix = "portrait"
    list_display = ["reference", "state", "cause_label", "score", "store", "clerk", "due_at"]
    list_filter = ["state", "cause"]
    list_select_related = ["transaction", "transaction__staff", "store"]
    actions = []

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, reviews.REVIEW_PERMISSION)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("reference"), ordering="transaction__reference")
    def reference(self, obj: PortraitReview) -> str:
        return obj.transaction.reference

    @admin.display(description=gettext_lazy("cause"), ordering="cause")
    def cause_label(self, obj: PortraitReview) -> str:
        return str(CAUSES.get(obj.cause, obj.cause))

    @admin.display(description=gettext_lazy("portrait score"))
    def score(self, obj: PortraitReview) -> str:
        value = obj.transaction.portrait_score
        return "—" if value is None else f"{value:.2f}"

    @admin.display(description=gettext_lazy("clerk"))
    def clerk(self, obj: PortraitReview) -> str:
        return obj.transaction.staff.get_username()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.review_view(request, object_id)

    @sensitive_variables()
    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the facts. POST ``action=reveal``: both images, through the
        audited reveal. POST ``decision``: approve or refuse with a reason."""
        if not str(object_id).isdigit():
            raise Http404
        queryset = reviews.review_list(user=request.user).select_related(
            "transaction__portrait", "decided_by"
        )
        review = get_object_or_404(queryset, pk=int(object_id))
        if not self.has_view_permission(request, review):
            raise PermissionDenied
        is_open = review.state == ReviewState.OPEN
        own = review.transaction.staff_id == request.user.pk
        reveal_form, decision_form = ReviewRevealForm(), ReviewDecisionForm()
        images, status = None, 200
        if request.method == "POST" and request.POST.get("action") == "reveal":
            reveal_form = ReviewRevealForm(request.POST)
            if reveal_form.is_valid():
                try:
                    images = reviews.review_reveal(
                        actor=request.user,
                        review=review,
                        reason=reveal_form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    reveal_form.add_error(None, exc.message)
                    status = status_for(exc)
            else:
                status = 400
        elif request.method == "POST":
            decision_form = ReviewDecisionForm(request.POST)
            if decision_form.is_valid():
                try:
                    reviews.review_decide(
                        actor=request.user,
                        review=review,
                        decision=request.POST.get("decision", ""),
                        reason=decision_form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    decision_form.add_error(None, exc.message)
                    status = status_for(exc)
                else:
                    review.refresh_from_db()
                    self.message_user(
                        request,
                        gettext("Portrait review of %(reference)s: %(state)s.")
                        % {
                            "reference": review.transaction.reference,
                            "state": review.get_state_display(),
                        },
                    )
                    return redirect(request.path)
            else:
                status = 400
        response = TemplateResponse(
            request,
            "registration/admin/portrait_review.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": review,
                "review": review,
                "tx": review.transaction,
                "cause": CAUSES.get(review.cause, review.cause),
                "images": images,
                "is_open": is_open,
                "own": own,
                "reveal_form": reveal_form,
                "decision_form": decision_form,
                "title": gettext("Portrait review of %(reference)s")
                % {"reference": review.transaction.reference},
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response


# --- The console home: open reviews, and per store and per clerk -------------------------


def _open_reviews(user) -> int:
    return reviews.review_open_count(user=user)


def _by_store_and_clerk(user) -> list[dict[str, Any]]:
    counts = reviews.review_counts(user=user)
    rows = [
        {
            "id": f"store-{row['store__code']}",
            "scope": gettext("Store"),
            "name": row["store__code"],
            **_pair(row),
        }
        for row in counts["by_store"]
    ]
    rows += [
        {
            "id": f"clerk-{row['staff__username']}",
            "scope": gettext("Clerk"),
            "name": row["staff__username"],
            **_pair(row),
        }
        for row in counts["by_clerk"]
    ]
    return rows


def _pair(row: dict) -> dict[str, int]:
    return {"reviews": row["reviews"], "refused": row["refused"]}


count_register(
    HomeCount(
        key="portrait_reviews_open",
        label=gettext_lazy("Portrait reviews waiting for a decision"),
        permission=reviews.REVIEW_PERMISSION,
        count=_open_reviews,
        changelist="console:registration_portraitreview_changelist",
        query={"state__exact": ReviewState.OPEN},
        order=45,
    )
)
panel_register(
    HomePanel(
        key="portrait_checks",
        title=gettext_lazy("Portraits sent to review and refused, per store and per clerk"),
        permission=reviews.REVIEW_PERMISSION,
        rows=_by_store_and_clerk,
        template="registration/admin/portrait_panel.html",
        changelist="console:registration_portraitreview_changelist",
        order=46,
    )
)
