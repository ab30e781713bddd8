"""The console's page for second-factor (TOTP) devices: an operator admin sets
one up for a staff member of their operator (the secret is shown once, on the
page that answers the set-up, and never again), removes a lost one, or lifts
the lock after too many wrong codes. Compliance officers see the list; the
secret itself is never a field of any page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import two_factor
from .admin import ScopedAdmin, console
from .tenancy import can

_NEW_DEVICE_ATTR = "_telereg_new_device"


class SecondFactorDeviceAdmin(ScopedAdmin):
    permission_prefix = "staff"
    tenancy_operator_path = "user__staff__operator"
    list_display = ["user", "name", "created_at", "last_used_at", "wrong_codes"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "name"]
    readonly_fields: list[str] = []
    autocomplete_fields: list[str] = []
    actions = ["unlock"]

    @admin.display(description=_("wrong codes in a row"), ordering="throttling_failure_count")
    def wrong_codes(self, device: TOTPDevice) -> int:
        return device.throttling_failure_count

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        if obj is None:
            return []
        return ["user", "name", "created_at", "last_used_at", "throttling_failure_count"]

    def get_fields(self, request: HttpRequest, obj: Model | None = None):
        return self.get_readonly_fields(request, obj) if obj is not None else ["user", "name"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A device is set up anew, never edited (its secret is not a form field).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "staff.change")

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "staff.change")

    @admin.action(description=_("Lift the lock after wrong codes"), permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for device in queryset:
            two_factor.device_unlock(device=device, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d device unlocked.", "%(count)d devices unlocked.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        new = two_factor.device_set_up(user=obj.user, actor=request.user, name=obj.name)
        # The admin goes on with ``obj`` (its log entry, the answer page).
        obj.pk = new.device.pk
        obj._state.adding = False
        setattr(request, _NEW_DEVICE_ATTR, new)

    def response_add(
        self, request: HttpRequest, obj: Model, post_url_continue: str | None = None
    ) -> HttpResponse:
        new = getattr(request, _NEW_DEVICE_ATTR)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Second-factor device set up"),
            "device_user": new.device.user,
            "config_url": new.config_url,
            "secret": new.secret,
        }
        response = TemplateResponse(request, "operators/admin/second_factor_enrolled.html", context)
        # The secret is on this page only: no cache may keep it.
        response["Cache-Control"] = "no-store"
        return response


console.register(TOTPDevice, SecondFactorDeviceAdmin)
