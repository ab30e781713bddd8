"""Re-verification in the console: campaigns (define, preview, launch, pause,
resume, close; every change through reverification.campaigns) and disputes
(dismiss, or suspend and re-verify). Scoped to the signed-in staff member's
operator like every console admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, ngettext

from config.api import DomainError
from operators.admin import OperatorScopedAdmin, console
from operators.tenancy import can, staff_of
from registration.admin import ReadOnlyInline, ReadOnlyScopedAdmin, failed_text

from . import campaigns, my_lines
from .models import BatchState, Campaign, CampaignEvent, DispatchBatch, Dispute


class BoundedJSONField(forms.JSONField):
    """Django's JSON form field, refusing nesting too deep to decode (Python's
    decoder raises RecursionError, which the form field would let through as
    a 500)."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(gettext("Nested too deeply."), code="invalid") from None

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)  # shown back as typed, like other bad JSON


class CampaignForm(forms.ModelForm):
    """The campaign body of the API, as a form; rules are the service's."""

    class Meta:
        model = Campaign
        field_classes = {
            "criteria": BoundedJSONField,
            "reminder_days": BoundedJSONField,
            "channels": BoundedJSONField,
        }
        fields = [
            "name",
            "criteria",
            "deadline",
            "reminder_days",
            "channels",
            "notice_text_zh",
            "notice_text_en",
        ]
        help_texts = {
            "criteria": 'e.g. {"line_kind": "mobile", "holder_verification": "never", '
            '"registered_before": "2026-01-01"}',
            "notice_text_zh": "Placeholders: {operator} {number} {deadline} {link}",
            "notice_text_en": "Placeholders: {operator} {number} {deadline} {link}",
        }

    operator = None  # set by CampaignAdmin.get_form

    def campaign_input(self) -> campaigns.CampaignInput:
        data = self.cleaned_data
        return campaigns.CampaignInput(
            name=data.get("name") or "",
            criteria=data.get("criteria") or {},
            deadline=data.get("deadline"),
            reminder_days=data.get("reminder_days") or [],
            channels=data.get("channels") or [],
            notice_text_zh=data.get("notice_text_zh") or "",
            notice_text_en=data.get("notice_text_en") or "",
        )

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.operator is None:
            return cleaned
        try:
            campaigns.campaign_input_check(operator=self.operator, data=self.campaign_input())
        except DomainError as exc:
            for field, reasons in exc.fields.items():
                name = field.split(".", 1)[0]
                self.add_error(name if name in self.fields else None, reasons)
        return cleaned


class CampaignEventInline(ReadOnlyInline):
    model = CampaignEvent
    view_permission = "campaign.manage"
    fields = ["at", "action", "from_state", "to_state", "actor_label", "note"]
    readonly_fields = fields
    verbose_name = gettext_lazy("change")
    verbose_name_plural = gettext_lazy("history")


@admin.register(Campaign, site=console)
class CampaignAdmin(OperatorScopedAdmin):
    """Compliance officers define, preview, launch, pause, resume and close
    campaigns here; every change goes through reverification.campaigns."""

    permission_prefix = "campaign"
    form = CampaignForm
    list_display = [
        "name",
        "state",
        "deadline",
        "planned_count",
        "progress",
        "cycle_status",
        "task_failures",
        "created_at",
    ]
    list_filter = ["state"]
    search_fields = ["name"]
    actions = ["launch", "pause", "resume", "close"]
    readonly_fields = [
        "state",
        "planned_count",
        "matching_lines",
        "progress",
        "launched_at",
        "cycle_status",
        "task_status",
    ]
    inlines = [CampaignEventInline]

    def get_inlines(self, request: HttpRequest, obj: Campaign | None):
        # A draft (or a new campaign) has no history yet, and its form is
        # posted: a read-only formset would demand management data it lacks.
        if obj is None or obj.state == "draft":
            return []
        return super().get_inlines(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "campaign.manage")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Only a draft's definition may change; then the actions drive it.
        return can(request.user, "campaign.manage") and (obj is None or obj.state == "draft")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return can(request.user, "campaign.manage")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "campaign.manage")

    @admin.display(description="lines matching now")
    def matching_lines(self, obj: Campaign) -> str:
        return str(campaigns.campaign_preview(campaign=obj)) if obj.pk else "—"

    @admin.display(description="progress")
    def progress(self, obj: Campaign) -> str:
        if not obj.pk:
            return "—"
        p = campaigns.campaign_progress(obj)
        states = ", ".join(f"{k} {v}" for k, v in sorted(p["by_state"].items())) or "no requests"
        sent = p["deliveries"].get("sent", 0)
        return f"{states}; {sent} message(s) sent"

    @admin.display(description=gettext_lazy("cycle"))
    def cycle_status(self, obj: Campaign) -> str:
        if not obj.cycle_error:
            return gettext("ok")
        return gettext("failed %(when)s (%(error)s)") % {
            "when": date_format(timezone.localtime(obj.cycle_failed_at), "DATETIME_FORMAT")
            if obj.cycle_failed_at
            else "—",
            "error": obj.cycle_error,
        }

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list's failure column counts failed batches in the same query.
        failed = (
            DispatchBatch.objects.filter(campaign=OuterRef("pk"), state=BatchState.FAILED)
            .order_by()
            .values("campaign")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(failed_batches=Coalesce(Subquery(failed, output_field=IntegerField()), 0))
        )

    @admin.display(description=gettext_lazy("task failures"))
    def task_failures(self, obj: Campaign) -> str:
        parts = [obj.failure] if obj.failure else []
        count = getattr(obj, "failed_batches", 0)
        if count:
            parts.append(
                ngettext("%(count)s batch failed", "%(count)s batches failed", count)
                % {"count": count}
            )
        return "; ".join(parts) or gettext("none")

    @admin.display(description=gettext_lazy("tasks"))
    def task_status(self, obj: Campaign) -> str:
        """Its planning's last failure and its batches that gave up sending."""
        if not obj.pk:
            return "—"
        parts = []
        if obj.failure:
            parts.append(
                gettext("planning %(status)s") % {"status": failed_text(obj.failure, obj.failed_at)}
            )
        failed = list(
            obj.batches.filter(state=BatchState.FAILED)
            .order_by("pk")
            .values_list("pk", "error")[:5]
        )
        if failed:
            count = obj.batches.filter(state=BatchState.FAILED).count()
            parts.append(
                gettext("%(count)s batch(es) failed: %(errors)s")
                % {
                    "count": count,
                    "errors": ", ".join(f"#{pk} {error}" for pk, error in failed),
                }
            )
        return "; ".join(parts) or gettext("ok")

    def get_form(self, request: HttpRequest, obj: Campaign | None = None, **kwargs: Any):
        form_class = super().get_form(request, obj, **kwargs)
        staff = staff_of(request.user)
        form_class.operator = obj.operator if obj else (staff.operator if staff else None)
        return form_class

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        data = form.campaign_input()
        if change:
            campaigns.campaign_update_draft(campaign=obj, data=data)
            return
        created = campaigns.campaign_create(operator=form.operator, data=data, actor=request.user)
        obj.pk, obj.operator, obj.state = created.pk, created.operator, created.state
        obj._state.adding = False

    def _act(self, request: HttpRequest, queryset, action, verb: str) -> None:
        done = 0
        for campaign in queryset:
            try:
                action(campaign=campaign, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{campaign.name}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} campaign(s) {verb}.")

    @admin.action(description="Launch (plan requests, send notices)", permissions=["manage"])
    def launch(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_launch, "launched")

    @admin.action(description="Pause sending", permissions=["manage"])
    def pause(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_pause, "paused")

    @admin.action(description="Resume sending", permissions=["manage"])
    def resume(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_resume, "resumed")

    @admin.action(description="Close (cancel waiting requests)", permissions=["manage"])
    def close(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_close, "closed")


@admin.register(Dispute, site=console)
class DisputeAdmin(ReadOnlyScopedAdmin):
    """Lines reported "not mine": dismiss, or suspend and re-verify the holder."""

    list_display = ["pk", "line", "state", "created_at", "resolved_by", "resolved_at"]
    list_filter = ["state"]
    list_select_related = ["line", "resolved_by"]
    actions = ["dismiss", "suspend_and_reverify"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "campaign.manage")

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "campaign.manage")

    def _resolve(self, request: HttpRequest, queryset, suspend: bool) -> None:
        for dispute in queryset:
            my_lines.dispute_resolve(dispute=dispute, suspend=suspend, actor=request.user)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d dispute resolved.", "%(count)d disputes resolved.", count)
            % {"count": count},
        )

    @admin.action(description=gettext_lazy("Dismiss"), permissions=["resolve"])
    def dismiss(self, request: HttpRequest, queryset) -> None:
        self._resolve(request, queryset, False)

    @admin.action(
        description=gettext_lazy("Suspend the line and re-verify its holder"),
        permissions=["resolve"],
    )
    def suspend_and_reverify(self, request: HttpRequest, queryset) -> None:
        self._resolve(request, queryset, True)
