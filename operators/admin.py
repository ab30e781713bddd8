"""The operator console at /console/: a Django AdminSite whose access and
every ModelAdmin's rows, foreign-key choices and object URLs go through the
tenancy scope and the permission matrix, never Django's per-model permissions.
Other apps register their ModelAdmins on :data:`console`."""

from __future__ import annotations

from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .models import ConfidentialityUndertaking, Operator, StaffMember, Store, UndertakingAcceptance
from .tenancy import can, is_platform_admin, scoped, staff_of

User = get_user_model()


class ConsoleSite(admin.AdminSite):
    site_header = "telereg console"
    site_title = "telereg console"
    index_title = "Compliance and operations"

    def has_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "console.access")

    def admin_view(self, view, cacheable: bool = False):
        inner = super().admin_view(view, cacheable)

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Signed in but not allowed: say so (403) instead of showing a login form.
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, view)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # One sign-in page for everyone, so django-axes guards a single door.
        next_url = request.GET.get("next") or reverse("console:index")
        return redirect(f"{reverse('operators:login')}?{urlencode({'next': next_url})}")


console = ConsoleSite(name="console")


class ScopedAdmin(admin.ModelAdmin):
    """Rows, choices and URLs limited to the signed-in staff member's operator.

    ``permission_prefix`` names the matrix entries: ``<prefix>.view`` to see,
    ``<prefix>.change`` to add and change. Deleting is for platform admins only:
    carriers deactivate instead, so history stays whole."""

    permission_prefix: str = ""
    tenancy_operator_path: str | None = None
    tenancy_store_path: str | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped(
            super().get_queryset(request),
            request.user,
            operator_path=self.tenancy_operator_path,
            store_path=self.tenancy_store_path,
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, f"{self.permission_prefix}.view") or self.has_change_permission(
            request, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, f"{self.permission_prefix}.change")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return can(request.user, f"{self.permission_prefix}.change")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_platform_admin(request.user)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another operator's object must be indistinguishable from a missing one.
        raise Http404

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        related = db_field.related_model
        if related in (Operator, Store, StaffMember):
            kwargs["queryset"] = scoped(related._default_manager.all(), request.user)
        elif related is User:
            kwargs["queryset"] = scoped(
                User._default_manager.all(), request.user, operator_path="staff__operator"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OperatorScopedAdmin(ScopedAdmin):
    """For models with an ``operator`` field that tenants never choose: it is
    set to their own operator on save."""

    def get_exclude(self, request: HttpRequest, obj: Model | None = None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not is_platform_admin(request.user):
            exclude.append("operator")
        return exclude

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        if not is_platform_admin(request.user):
            obj.operator = staff_of(request.user).operator
        super().save_model(request, obj, form, change)


@admin.register(Operator, site=console)
class OperatorAdmin(ScopedAdmin):
    permission_prefix = "operator"
    list_display = ["code", "name", "country", "mobile_line_cap", "landline_line_cap"]
    search_fields = ["code", "name"]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if not is_platform_admin(request.user):
            # A carrier cannot rename its tenant key.
            fields.append("code")
        return fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_platform_admin(request.user)


@admin.register(Store, site=console)
class StoreAdmin(OperatorScopedAdmin):
    permission_prefix = "store"
    list_display = ["code", "name", "operator", "region_code", "active"]
    list_filter = ["active", "operator"]
    list_select_related = ["operator"]
    search_fields = ["code", "name", "region_code"]

    def get_list_filter(self, request: HttpRequest):
        return ["active", "operator"] if is_platform_admin(request.user) else ["active"]


class StaffMemberInline(admin.StackedInline):
    model = StaffMember
    fk_name = "user"
    can_delete = False
    min_num = 1
    max_num = 1
    readonly_fields = ["confidentiality_accepted_at", "confidentiality_version"]

    def get_exclude(self, request: HttpRequest, obj: Model | None = None):
        return [] if is_platform_admin(request.user) else ["operator"]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.related_model in (Operator, Store):
            kwargs["queryset"] = scoped(db_field.related_model._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "staff.view")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "staff.change")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "staff.change")


class StaffUserAdmin(ScopedAdmin, UserAdmin):
    """Sign-in accounts of the operator's staff, each with its staff profile."""

    permission_prefix = "staff"
    tenancy_operator_path = "staff__operator"
    inlines = [StaffMemberInline]
    list_display = ["username", "staff_role", "staff_store", "is_active", "last_login"]
    list_select_related = ["staff__store", "staff__operator"]
    list_filter = ["is_active", "staff__role"]
    search_fields = ["username"]
    tenant_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )

    @admin.display(description="role", ordering="staff__role")
    def staff_role(self, user: Any) -> str:
        staff = getattr(user, "staff", None)
        return staff.get_role_display() if staff else "—"

    @admin.display(description="store", ordering="staff__store__code")
    def staff_store(self, user: Any) -> str:
        staff = getattr(user, "staff", None)
        return staff.store.code if staff and staff.store else "head office"

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None):
        if obj is not None and not is_platform_admin(request.user):
            # Names, e-mail, superuser and per-model permissions are not the
            # tenant's to set: roles come from the matrix.
            return self.tenant_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        if is_platform_admin(request.user):
            return super().get_readonly_fields(request, obj)
        return ["last_login", "date_joined"]

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is StaffMember and not is_platform_admin(request.user):
            operator = staff_of(request.user).operator
            for inline_form in formset.forms:
                inline_form.instance.operator = operator
        super().save_formset(request, form, formset, change)


console.register(User, StaffUserAdmin)


@admin.register(StaffMember, site=console)
class StaffMemberAdmin(OperatorScopedAdmin):
    permission_prefix = "staff"
    list_display = [
        "user",
        "role",
        "store",
        "operator",
        "active",
        "confidentiality_accepted_at",
        "confidentiality_version",
    ]
    list_filter = ["role", "active"]
    list_select_related = ["user", "store", "operator"]
    search_fields = ["user__username", "store__code"]
    readonly_fields = ["user", "confidentiality_accepted_at", "confidentiality_version"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # Staff profiles are created with their sign-in account, under Users.
        return False


@admin.register(ConfidentialityUndertaking, site=console)
class ConfidentialityUndertakingAdmin(admin.ModelAdmin):
    """Platform-wide text: everyone reads it, only platform admins publish."""

    list_display = ["version", "published_at"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "console.access")

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "console.access")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_platform_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A published version is immutable: publish a new version instead.
        return obj is None and is_platform_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(UndertakingAcceptance, site=console)
class UndertakingAcceptanceAdmin(ScopedAdmin):
    permission_prefix = "staff"
    tenancy_operator_path = "user__staff__operator"
    list_display = ["user", "undertaking", "accepted_at"]
    list_select_related = ["user", "undertaking"]
    list_filter = ["undertaking"]
    search_fields = ["user__username"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False
