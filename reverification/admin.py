"""Re-verification in the console: campaigns (define, preview, launch, pause,
resume, close; every change through reverification.campaigns) and disputes
(dismiss, or suspend and re-verify). Scoped to the signed-in staff member's
operator like every console admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy, ngettext

from config.api import DomainError
from config.forms import form_errors_add
from identity import selectors as identity_selectors
from identity.exports import CsvExportMixin
from operators.admin import OperatorScopedAdmin, console
from operators.tenancy import can, staff_of
from registration.admin import ReadOnlyInline, ReadOnlyScopedAdmin, failed_text
from registration.models import Line, LineStatus
from registration.numbers import InvalidNumber, to_e164

from . import (
    campaigns,
    console_forms,
    console_reports,  # noqa: F401 - registers the regulator report page
    exports,
    launch_preview,
    my_lines,
    risk,
)
from .console_forms import CampaignForm
from .models import (
    RISK_REASON_MAX,
    BatchState,
    Campaign,
    CampaignEvent,
    CampaignState,
    DispatchBatch,
    Dispute,
    RequestState,
    RiskFlag,
    RiskFlagState,
    RiskSource,
    RiskTier,
    VelocityAlert,
)


def _state_label(code: str) -> str:
    """A campaign's (or, for an extension, a request's) state by its label."""
    labels = {**dict(RequestState.choices), **dict(CampaignState.choices)}
    return str(labels.get(code, code)) if code else "—"


class CampaignEventInline(ReadOnlyInline):
    model = CampaignEvent
    view_permission = "campaign.manage"
    fields = ["when", "action_label", "from_label", "to_label", "by", "note_text"]
    readonly_fields = fields
    verbose_name = gettext_lazy("change")
    verbose_name_plural = gettext_lazy("history")

    @admin.display(description=gettext_lazy("When"))
    def when(self, obj: CampaignEvent) -> str:
        return date_format(timezone.localtime(obj.at), "DATETIME_FORMAT")

    @admin.display(description=gettext_lazy("What"))
    def action_label(self, obj: CampaignEvent) -> str:
        return obj.get_action_display()

    @admin.display(description=gettext_lazy("From"))
    def from_label(self, obj: CampaignEvent) -> str:
        return _state_label(obj.from_state)

    @admin.display(description=gettext_lazy("To"))
    def to_label(self, obj: CampaignEvent) -> str:
        return _state_label(obj.to_state)

    @admin.display(description=gettext_lazy("By"))
    def by(self, obj: CampaignEvent) -> str:
        return obj.actor_label if obj.actor_id else gettext("the system")

    @admin.display(description=gettext_lazy("Note"))
    def note_text(self, obj: CampaignEvent) -> str:
        return obj.note or "—"


class CampaignStateFilter(admin.SimpleListFilter):
    """The state filter, titled and labelled in the reader's language."""

    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return CampaignState.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value in CampaignState.values:
            return queryset.filter(state=value)
        return queryset


@admin.register(Campaign, site=console)
class CampaignAdmin(CsvExportMixin, OperatorScopedAdmin):
    """Compliance officers define, preview, launch, pause, resume and close
    campaigns here; every change goes through reverification.campaigns.
    A draft is edited with typed fields (console_forms); a launch is asked
    for on its own page, which shows what it would select."""

    permission_prefix = "campaign"
    csv_export = exports.CAMPAIGN_REQUESTS
    form = CampaignForm
    add_form_template = change_form_template = "reverification/admin/campaign_change_form.html"
    list_display = [
        "name_column",
        "state_column",
        "deadline_column",
        "planned_column",
        "progress",
        "cycle_status",
        "task_failures",
        "created_column",
    ]
    list_display_links = ["name_column"]
    list_filter = [CampaignStateFilter]
    search_fields = ["name"]
    actions = ["launch", "pause", "resume", "close"]
    # What a draft's page shows besides its form; a launched campaign's page
    # shows all of it read-only (see get_fieldsets).
    progress_fields = [
        "state_column",
        "planned_column",
        "matching_lines",
        "progress",
        "launched_column",
        "cycle_status",
        "task_status",
    ]
    summary_fields = [
        "name_column",
        "deadline_column",
        "criteria_text",
        "reminder_days_text",
        "channels_text",
        "notice_zh_text",
        "notice_en_text",
    ]
    readonly_fields = [*progress_fields, *summary_fields]
    inlines = [CampaignEventInline]

    def get_fieldsets(self, request: HttpRequest, obj: Campaign | None = None):
        if obj is not None and obj.state != CampaignState.DRAFT:
            return [
                (None, {"fields": self.summary_fields}),
                (gettext("Progress"), {"fields": self.progress_fields}),
            ]
        fieldsets = [
            (None, {"fields": ["name", "deadline"]}),
            (
                gettext("Which lines"),
                {
                    "fields": [
                        "line_kinds",
                        "holder_verification",
                        "older_than_days",
                        "registered_before",
                        "stores",
                        "regions",
                    ]
                },
            ),
            (
                gettext("Notices"),
                {"fields": ["reminder_days", "channels", "notice_text_zh", "notice_text_en"]},
            ),
        ]
        if obj is not None:
            fieldsets.append((gettext("Progress"), {"fields": self.progress_fields}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None):
        if obj is not None and obj.state != CampaignState.DRAFT:
            return self.readonly_fields
        return self.progress_fields if obj is not None else []

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

    # --- Columns and read-only fields, labelled in the reader's language ---------------

    @admin.display(description=gettext_lazy("Campaign name"), ordering="name")
    def name_column(self, obj: Campaign) -> str:
        return obj.name

    @admin.display(description=gettext_lazy("State"), ordering="state")
    def state_column(self, obj: Campaign) -> str:
        return obj.get_state_display()

    @admin.display(description=gettext_lazy("Deadline"), ordering="deadline")
    def deadline_column(self, obj: Campaign) -> str:
        return date_format(obj.deadline, "DATE_FORMAT") if obj.deadline else "—"

    @admin.display(description=gettext_lazy("Planned"), ordering="planned_count")
    def planned_column(self, obj: Campaign) -> int:
        return obj.planned_count

    @admin.display(description=gettext_lazy("Created"), ordering="created_at")
    def created_column(self, obj: Campaign) -> str:
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=gettext_lazy("Launched"))
    def launched_column(self, obj: Campaign) -> str:
        if not obj.launched_at:
            return "—"
        return date_format(timezone.localtime(obj.launched_at), "DATETIME_FORMAT")

    @admin.display(description=gettext_lazy("Which lines"))
    def criteria_text(self, obj: Campaign) -> str:
        return format_html_join(
            "", "<div>{}</div>", ((text,) for text in console_forms.criteria_summary(obj.criteria))
        )

    @admin.display(description=gettext_lazy("Reminder days"))
    def reminder_days_text(self, obj: Campaign) -> str:
        return ", ".join(str(day) for day in obj.reminder_days) or "—"

    @admin.display(description=gettext_lazy("Channels"))
    def channels_text(self, obj: Campaign) -> str:
        return console_forms.channels_summary(obj.channels) or "—"

    @admin.display(description=gettext_lazy("Notice text (Chinese)"))
    def notice_zh_text(self, obj: Campaign) -> str:
        return obj.notice_text_zh or "—"

    @admin.display(description=gettext_lazy("Notice text (English)"))
    def notice_en_text(self, obj: Campaign) -> str:
        return obj.notice_text_en or "—"

    @admin.display(description=gettext_lazy("lines matching now"))
    def matching_lines(self, obj: Campaign) -> str:
        return str(campaigns.campaign_preview(campaign=obj)) if obj.pk else "—"

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: Campaign) -> str:
        if not obj.pk:
            return "—"
        p = campaigns.campaign_progress(obj)
        labels = dict(RequestState.choices)
        states = "; ".join(
            f"{labels.get(state, state)} {count}" for state, count in sorted(p["by_state"].items())
        )
        sent = p["deliveries"].get("sent", 0)
        return gettext("%(states)s; messages sent: %(sent)s") % {
            "states": states or gettext("no requests"),
            "sent": sent,
        }

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

    # --- The form ------------------------------------------------------------------------

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

    # --- Launching, with its confirmation page --------------------------------------------

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/launch/",
                self.admin_site.admin_view(self.launch_view),
                name="reverification_campaign_launch",
            )
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        campaign = self.get_queryset(request).filter(pk=object_id).first()
        if (
            campaign is not None
            and campaign.state == CampaignState.DRAFT
            and self.has_manage_permission(request)
        ):
            extra_context["launch_url"] = reverse(
                "console:reverification_campaign_launch", args=[campaign.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def launch_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: how many lines a launch would ask now and five of them, masked,
        with Launch and Cancel. POST: the launch (through campaign_launch).
        Another operator's campaign is a 404, as on every console page."""
        if not self.has_manage_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        change_url = reverse("console:reverification_campaign_change", args=[campaign.pk])
        if campaign.state != CampaignState.DRAFT:
            self.message_user(
                request, gettext("Only a draft campaign can be launched."), messages.WARNING
            )
            return redirect(change_url)
        if request.method == "POST":
            try:
                campaigns.campaign_launch(campaign=campaign, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("Campaign “%(name)s” launched: its requests are being planned.")
                    % {"name": campaign.name},
                )
            return redirect(change_url)
        preview = launch_preview.campaign_launch_preview(campaign=campaign)
        response = TemplateResponse(
            request,
            "reverification/admin/launch_confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": campaign,
                "campaign": campaign,
                "preview": preview,
                "criteria": console_forms.criteria_summary(campaign.criteria),
                "channels": console_forms.channels_summary(campaign.channels),
                "change_url": change_url,
                "title": gettext("Launch the campaign “%(name)s”?") % {"name": campaign.name},
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def _act(self, request: HttpRequest, queryset, action, verb: str) -> None:
        done = 0
        for campaign in queryset:
            try:
                action(campaign=campaign, actor=request.user)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{campaign.name}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%(count)s campaign %(verb)s.", "%(count)s campaigns %(verb)s.", done)
                % {"count": done, "verb": verb},
            )

    @admin.action(
        description=gettext_lazy("Launch… (shows what it selects, then asks)"),
        permissions=["manage"],
    )
    def launch(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """A launch is confirmed on its own page, one campaign at a time."""
        campaign = queryset.first()
        if queryset.count() != 1 or campaign is None:
            self.message_user(
                request, gettext("Select one campaign to launch at a time."), messages.WARNING
            )
            return None
        return redirect(reverse("console:reverification_campaign_launch", args=[campaign.pk]))

    @admin.action(description=gettext_lazy("Pause sending"), permissions=["manage"])
    def pause(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_pause, gettext("paused"))

    @admin.action(description=gettext_lazy("Resume sending"), permissions=["manage"])
    def resume(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_resume, gettext("resumed"))

    @admin.action(
        description=gettext_lazy("Close (cancel waiting requests)"), permissions=["manage"]
    )
    def close(self, request, queryset) -> None:
        self._act(request, queryset, campaigns.campaign_close, gettext("closed"))


@admin.register(Dispute, site=console)
class DisputeAdmin(ReadOnlyScopedAdmin):
    """Lines reported "not mine": dismiss, or suspend and re-verify the holder."""

    list_display = [
        "pk",
        "line",
        "state",
        "reason",
        "created_at",
        "review_by",
        "resolved_by",
        "resolved_at",
    ]
    list_filter = ["state", "reason"]
    list_select_related = ["line", "resolved_by"]
    actions = ["dismiss", "suspend_and_reverify", "uphold_risk_dispute"]

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

    @admin.action(
        description=gettext_lazy("Uphold: lift the disputed risk flag and restore the line"),
        permissions=["uphold"],
    )
    def uphold_risk_dispute(self, request: HttpRequest, queryset) -> None:
        count = 0
        for dispute in queryset.filter(risk_flag__isnull=False, state="open"):
            my_lines.risk_dispute_uphold(
                dispute=dispute, actor=request.user, note=gettext("Dispute upheld in the console")
            )
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d dispute upheld.", "%(count)d disputes upheld.", count)
            % {"count": count},
        )

    def has_uphold_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "risk_flag.manage")


# --- Risk flags and velocity alerts (issue 16) ------------------------------------------


class RiskFlagRaiseForm(forms.Form):
    line = forms.CharField(max_length=32, label=gettext_lazy("Number"))
    tier = forms.ChoiceField(choices=RiskTier.choices, label=gettext_lazy("Tier"))
    reason = forms.CharField(
        max_length=RISK_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Reason"),
        strip=False,
    )


class RiskFlagLiftForm(forms.Form):
    reason = forms.CharField(
        max_length=RISK_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Why is the flag lifted?"),
        strip=False,
    )


@admin.register(RiskFlag, site=console)
class RiskFlagAdmin(ReadOnlyScopedAdmin):
    """Risky lines: each flag with its tier, state, source, deadline and its
    re-verification request. Raise one (Console → Risk flags → Raise a risk
    flag) and lift an open one from its page, both through
    reverification.risk."""

    list_display = [
        "pk",
        "line_masked",
        "tier",
        "state",
        "source",
        "due_at",
        "created_at",
        "request_link",
    ]
    list_filter = ["state", "tier", "source"]
    list_select_related = ["line", "request"]
    fields = [
        "line_masked",
        "tier",
        "state",
        "source",
        "reason",
        "raised_by_label",
        "due_at",
        "created_at",
        "request_link",
        "resolved_at",
        "resolution_note",
    ]
    readonly_fields = fields
    change_form_template = "reverification/admin/riskflag_change_form.html"
    change_list_template = "reverification/admin/riskflag_change_list.html"

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "risk_flag.manage")

    @admin.display(description=gettext_lazy("Number"))
    def line_masked(self, obj: RiskFlag) -> str:
        return identity_selectors.phone_masked(obj.line.number)

    @admin.display(description=gettext_lazy("re-verification request"))
    def request_link(self, obj: RiskFlag) -> str:
        if not obj.request_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("console:reverification_campaign_change", args=[obj.request.campaign_id]),
            gettext("request #%(id)s") % {"id": obj.request_id},
            obj.request.get_state_display(),
        )

    def get_urls(self):
        extra = [
            path(
                "raise/",
                self.admin_site.admin_view(self.raise_view),
                name="reverification_riskflag_raise",
            ),
            path(
                "<int:pk>/lift/",
                self.admin_site.admin_view(self.lift_view),
                name="reverification_riskflag_lift",
            ),
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        flag = self.get_queryset(request).filter(pk=object_id).first()
        if flag is not None and flag.state == RiskFlagState.OPEN:
            extra_context["lift_form"] = RiskFlagLiftForm()
            extra_context["lift_url"] = reverse(
                "console:reverification_riskflag_lift", args=[flag.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def raise_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the form (number, tier, reason). POST: the flag, through
        risk.risk_flag_raise; a bad field is shown beside it, an unknown or
        another operator's number too."""
        staff = staff_of(request.user)
        if not can(request.user, "risk_flag.manage") or staff is None:
            raise PermissionDenied
        form = RiskFlagRaiseForm(request.POST or None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                line = None
                try:
                    number = to_e164(form.cleaned_data["line"], country=staff.operator.country)
                except InvalidNumber as exc:
                    form.add_error("line", str(exc))
                else:
                    line = (
                        Line.objects.filter(operator=staff.operator, number=number)
                        .exclude(status=LineStatus.CLOSED)
                        .first()
                    )
                    if line is None:
                        form.add_error(
                            "line", gettext("No open line of this operator has this number.")
                        )
                if line is not None:
                    try:
                        raised = risk.risk_flag_raise(
                            line=line,
                            tier=form.cleaned_data["tier"],
                            reason=form.cleaned_data["reason"],
                            source=RiskSource.COMPLIANCE,
                            actor=request.user,
                        )
                    except DomainError as exc:
                        status = form_errors_add(form, exc)
                    else:
                        self.message_user(
                            request, gettext("Risk flag #%(id)s raised.") % {"id": raised.flag.pk}
                        )
                        return redirect(
                            reverse("console:reverification_riskflag_change", args=[raised.flag.pk])
                        )
        return TemplateResponse(
            request,
            "reverification/admin/riskflag_raise.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Raise a risk flag"),
                "form": form,
            },
            status=status,
        )

    def lift_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST" or not can(request.user, "risk_flag.manage"):
            raise PermissionDenied
        flag = get_object_or_404(self.get_queryset(request), pk=pk)
        form = RiskFlagLiftForm(request.POST)
        change_url = reverse("console:reverification_riskflag_change", args=[flag.pk])
        if not form.is_valid():
            self.message_user(request, gettext("Say why the flag is lifted."), messages.ERROR)
            return redirect(change_url)
        try:
            risk.risk_flag_lift(flag=flag, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, gettext("The risk flag is lifted; the line is restored."))
        return redirect(change_url)


@admin.register(VelocityAlert, site=console)
class VelocityAlertAdmin(ReadOnlyScopedAdmin):
    """Bursts of openings past a velocity rule: one row per burst."""

    list_display = ["pk", "rule", "store", "openings", "first_at", "last_at", "acknowledged_at"]
    list_filter = ["rule"]
    list_select_related = ["store"]
    fields = ["rule", "store", "openings", "first_at", "last_at", "created_at", "acknowledged_at"]
    readonly_fields = fields
    actions = ["acknowledge"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "risk_flag.manage")

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "risk_flag.manage")

    @admin.action(description=gettext_lazy("Acknowledge"), permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset) -> None:
        count = queryset.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d alert acknowledged.", "%(count)d alerts acknowledged.", count)
            % {"count": count},
        )
