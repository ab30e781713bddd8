"""The operator console at /console/: a Django AdminSite whose access and
every ModelAdmin's rows, foreign-key choices and object URLs go through the
tenancy scope and the permission matrix, never Django's per-model permissions.
Other apps register their ModelAdmins on :data:`console`."""

from __future__ import annotations

from functools import update_wrapper
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from config.api import DomainError
from config.forms import form_errors_add

from . import console_home, services
from .models import (
    ConfidentialityUndertaking,
    Operator,
    Partner,
    RoleGrant,
    RoleGrantState,
    StaffMember,
    Store,
    StoreStatus,
    UndertakingAcceptance,
)
from .tenancy import can, is_platform_admin, scoped, staff_of
from .timezones import time_zone_choices

User = get_user_model()


# Texts of Django 5.2's admin that its own zh_Hans catalogue does not translate
# yet (visually hidden table captions of the index); the project catalogue does.
DJANGO_ADMIN_TEXTS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Error:"),  # the title of a form page sent back with errors
)


class ConsoleSite(admin.AdminSite):
    site_header = gettext_lazy("telereg console")
    site_title = gettext_lazy("telereg console")
    index_title = gettext_lazy("Compliance and operations")
    index_template = "operators/admin/console_home.html"

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

    # Apps whose own code names them in English only (django-otp ships no
    # Chinese and names its app and model by code): named here, translated.
    THIRD_PARTY_NAMES = {
        "otp_totp": (
            gettext_lazy("Second factor"),
            {"totpdevice": gettext_lazy("Authenticator devices (TOTP)")},
        ),
    }

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        for app in apps:
            name, models = self.THIRD_PARTY_NAMES.get(app["app_label"], (None, {}))
            if name is not None:
                app["name"] = name
            for model in app["models"]:
                model["name"] = models.get(model["object_name"].lower(), model["name"])
        return apps

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # The home: what needs someone (operators.console_home), then the apps.
        home = console_home.home_for(request.user)
        return super().index(request, {**(extra_context or {}), "home": home})

    def home_counts(self, request: HttpRequest) -> JsonResponse:
        """The home's counts as JSON, for its script to refresh them: the same
        scope and permissions as the page, no personal data, never cached."""
        response = JsonResponse(console_home.home_for(request.user).as_json())
        response["Cache-Control"] = "no-store"
        return response

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[tuple[str, Any, str]] = []

    def page_register(self, route: str, view: Any, name: str) -> None:
        """A console page of an app above this one (e.g. a report), at
        ``/console/<route>``: behind the console's gate like every page; the
        view checks its own permission."""
        self._pages.append((route, view, name))

    def get_urls(self):
        extra = [path("home/counts.json", self.admin_view(self.home_counts), name="home_counts")]
        extra += [
            path(route, self.admin_view(view), name=name) for route, view, name in self._pages
        ]
        return extra + super().get_urls()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # One sign-in page for everyone, so django-axes guards a single door.
        next_url = request.GET.get("next") or reverse("console:index")
        return redirect(f"{reverse('operators:login')}?{urlencode({'next': next_url})}")


console = ConsoleSite(name="console")


def _is_own(request: HttpRequest, user_id: int | None) -> bool:
    return user_id is not None and user_id == request.user.pk


def _tell_staff_change(request: HttpRequest, change: services.StaffChange) -> None:
    if change.grant is not None:
        messages.warning(
            request,
            gettext(
                "%(role)s is a privileged role and needs a second person: a role grant was "
                "filed (Console → Role grants). It applies once another operator admin or a "
                "platform admin approves it."
            )
            % {"role": change.grant.get_role_to_display()},
        )


class DomainErrorsAsMessages:
    """Console forms that call services: a domain error becomes a message on the
    same page and the whole save (account, profile, inlines) is rolled back."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            messages.error(request, str(error.message))
            for reasons in error.fields.values():
                for reason in reasons:
                    messages.error(request, reason)
            return HttpResponseRedirect(request.get_full_path())


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
    list_display = [
        "code",
        "name",
        "country",
        "mobile_line_cap",
        "landline_line_cap",
        "default_language",
    ]
    search_fields = ["code", "name"]
    readonly_fields = ["created_at", "updated_at"]

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs: Any):
        """The time zone as a list of the known IANA names, not a text box
        (the model's validator still refuses anything else)."""
        if db_field.name == "time_zone":
            return forms.ChoiceField(
                choices=time_zone_choices(),
                label=capfirst(db_field.verbose_name),
                help_text=db_field.help_text,
                initial=db_field.default,
                validators=db_field.validators,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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

    # Issue 16: a store's status (suspended, blacklisted) changes only through
    # its status page (services.store_status_set), never in the store form.
    readonly_fields = ["status", "status_reason", "status_changed_by", "status_changed_at"]
    change_form_template = "operators/admin/store_change_form.html"

    def get_list_display(self, request: HttpRequest):
        return [*super().get_list_display(request), "status"]

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/status/",
                self.admin_site.admin_view(self.status_view),
                name="operators_store_status",
            )
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if can(request.user, "store.suspend"):
            extra_context["status_url"] = reverse(
                "console:operators_store_status", args=[object_id]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def status_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Suspend, blacklist or reinstate the store with a reason (compliance
        officers): GET the form, POST through services.store_status_set; a bad
        field is shown beside it. Another operator's store is a 404."""
        if not can(request.user, "store.suspend"):
            raise PermissionDenied
        store = get_object_or_404(self.get_queryset(request), pk=pk)
        form = StoreStatusForm(request.POST or None, initial={"status": store.status})
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    services.store_status_set(
                        store=store,
                        status=form.cleaned_data["status"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                    )
                except DomainError as exc:
                    status = form_errors_add(form, exc)
                else:
                    self.message_user(request, gettext("The store's status is changed."))
                    return redirect(reverse("console:operators_store_change", args=[store.pk]))
        return TemplateResponse(
            request,
            "operators/admin/store_status.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Suspend or blacklist a store"),
                "store": store,
                "form": form,
            },
            status=status,
        )


class StoreStatusForm(forms.Form):
    status = forms.ChoiceField(choices=StoreStatus.choices, label=gettext_lazy("Status"))
    reason = forms.CharField(
        max_length=300,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Reason"),
    )


class StaffMemberInline(admin.StackedInline):
    model = StaffMember
    fk_name = "user"
    can_delete = False
    min_num = 1
    max_num = 1
    # The language is the staff member's own choice (the language switch).
    readonly_fields = ["language", "confidentiality_accepted_at", "confidentiality_version"]

    def get_exclude(self, request: HttpRequest, obj: Model | None = None):
        return [] if is_platform_admin(request.user) else ["operator"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and is_platform_admin(request.user):
            # A staff member never moves to another carrier: a new account does.
            fields.append("operator")
        return fields

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.related_model in (Operator, Store):
            kwargs["queryset"] = scoped(db_field.related_model._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "staff.view")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Nobody edits their own profile (role, store, active): view only.
        own = obj is not None and _is_own(request, obj.pk)
        return can(request.user, "staff.change") and not own

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        own = obj is not None and _is_own(request, obj.pk)
        return can(request.user, "staff.change") and not own


class StaffUserAdmin(DomainErrorsAsMessages, ScopedAdmin, UserAdmin):
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

    @admin.display(description=gettext_lazy("role"), ordering="staff__role")
    def staff_role(self, user: Any) -> str:
        staff = getattr(user, "staff", None)
        return staff.get_role_display() if staff else "—"

    @admin.display(description=gettext_lazy("store"), ordering="staff__store__code")
    def staff_store(self, user: Any) -> str:
        staff = getattr(user, "staff", None)
        return staff.store.code if staff and staff.store else "head office"

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None):
        if obj is not None and not is_platform_admin(request.user):
            # Names, e-mail, superuser and per-model permissions are not the
            # tenant's to set: roles come from the matrix.
            return self.tenant_fieldsets
        return super().get_fieldsets(request, obj)

    # Privileges that never change in the console: platform admins are made on
    # the server (manage.py createsuperuser); access comes from the staff
    # profile's role and active flag, which go through operators.services.
    privilege_fields = ("is_superuser", "is_staff", "groups", "user_permissions", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        if is_platform_admin(request.user):
            fields = list(super().get_readonly_fields(request, obj))
            return [*fields, *(f for f in self.privilege_fields if f not in fields)]
        return ["last_login", "date_joined", "is_active"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # One's own account is view only here (passwords: the console's own
        # "change password" page); a platform admin's account is not a tenant's to edit.
        own = obj is not None and _is_own(request, obj.pk)
        above = obj is not None and obj.is_superuser and not is_platform_admin(request.user)
        return super().has_change_permission(request, obj) and not own and not above

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Deactivate the staff profile instead: that is audited, history stays whole.
        return False

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""):
        target = self.get_object(request, unquote(id))
        if target is None:
            return super().user_change_password(request, id, form_url)  # its 403 or 404
        try:
            services.staff_password_check(user=target, actor=request.user)
        except DomainError as error:
            raise PermissionDenied(str(error.message)) from error
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        try:
            with transaction.atomic():
                response = super().user_change_password(request, id, form_url)
                stored = User._default_manager.filter(pk=target.pk).values_list(
                    "password", flat=True
                )
                if stored.first() != target.password:
                    services.staff_password_record(user=target, actor=request.user)
        except DomainError as error:  # the role changed meanwhile: nothing was stored
            raise PermissionDenied(str(error.message)) from error
        return response

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not StaffMember:
            super().save_formset(request, form, formset, change)
            return
        # The staff profile is written by the services, never by the formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() and inline_form.instance.pk is not None:
                continue
            data = inline_form.cleaned_data
            if inline_form.instance.pk is None:
                operator = (
                    data["operator"]
                    if is_platform_admin(request.user)
                    else staff_of(request.user).operator
                )
                result = services.staff_create(
                    user=formset.instance,
                    operator=operator,
                    role=data["role"],
                    store=data.get("store"),
                    active=data.get("active", True),
                    actor=request.user,
                )
                formset.new_objects.append(result.staff)
            else:
                result = services.staff_update(
                    staff=inline_form.instance,
                    role=data.get("role"),
                    store=data.get("store", services.UNCHANGED),
                    active=data.get("active"),
                    actor=request.user,
                )
                formset.changed_objects.append((result.staff, list(inline_form.changed_data)))
            _tell_staff_change(request, result)


console.register(User, StaffUserAdmin)


@admin.register(StaffMember, site=console)
class StaffMemberAdmin(DomainErrorsAsMessages, OperatorScopedAdmin):
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
    # The language is the staff member's own choice (the language switch).
    readonly_fields = [
        "user",
        "language",
        "confidentiality_accepted_at",
        "confidentiality_version",
    ]
    actions = ["deactivate_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if is_platform_admin(request.user):
            # A staff member never moves to another carrier: a new account does.
            fields.append("operator")
        return fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # Staff profiles are created with their sign-in account, under Users.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Nobody edits their own profile: view only.
        own = obj is not None and _is_own(request, obj.user_id)
        return super().has_change_permission(request, obj) and not own

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Deactivate instead: audited, and history stays whole.
        return False

    def save_model(self, request: HttpRequest, obj: StaffMember, form, change: bool) -> None:
        # The form already put the new values on ``obj``; the service compares
        # them with the stored row and decides what applies and what waits.
        result = services.staff_update(
            staff=obj,
            role=form.cleaned_data.get("role"),
            store=form.cleaned_data.get("store", services.UNCHANGED),
            active=form.cleaned_data.get("active"),
            actor=request.user,
        )
        _tell_staff_change(request, result)

    @admin.action(
        description=gettext_lazy("Deactivate selected staff (revokes access at once)"),
        permissions=["change"],
    )
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for staff in queryset:
            try:
                services.staff_update(staff=staff, active=False, actor=request.user)
                done += 1
            except DomainError as error:
                messages.error(request, f"{staff.user.get_username()}: {error.message}")
        if done:
            messages.success(request, gettext("%(count)d deactivated.") % {"count": done})


@admin.register(RoleGrant, site=console)
class RoleGrantAdmin(ScopedAdmin):
    """Pending and past grants of privileged roles, for operator admins of the
    same operator and platform admins. Decisions are admin actions calling the
    services; nothing here is edited directly."""

    list_display = [
        "id",
        "staff",
        "role_from",
        "role_to",
        "activates",
        "state",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["state", "role_to"]
    list_select_related = ["staff__user", "requested_by", "decided_by"]
    search_fields = ["staff__user__username"]
    actions = ["approve_selected", "refuse_selected", "withdraw_selected"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can(request.user, "role_grant.manage")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest):
        # Admin actions are hidden without change permission unless listed here.
        actions = super().get_actions(request)
        return actions if can(request.user, "role_grant.manage") else {}

    def _decide_each(self, request: HttpRequest, queryset: QuerySet, decide, done_text) -> None:
        done = 0
        for grant in queryset.filter(state=RoleGrantState.PENDING):
            try:
                decide(grant)
                done += 1
            except DomainError as error:
                messages.error(request, f"#{grant.pk}: {error.message}")
        if done:
            messages.success(request, done_text % {"count": done})

    @admin.action(description=gettext_lazy("Approve selected grants"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide_each(
            request,
            queryset,
            lambda g: services.role_grant_decide(grant=g, actor=request.user, approve=True),
            gettext("%(count)d approved: the role now applies."),
        )

    @admin.action(description=gettext_lazy("Refuse selected grants"))
    def refuse_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide_each(
            request,
            queryset,
            lambda g: services.role_grant_decide(grant=g, actor=request.user, approve=False),
            gettext("%(count)d refused."),
        )

    @admin.action(description=gettext_lazy("Withdraw selected grants"))
    def withdraw_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide_each(
            request,
            queryset,
            lambda g: services.role_grant_withdraw(grant=g, actor=request.user),
            gettext("%(count)d withdrawn."),
        )


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


@admin.register(Partner, site=console)
class PartnerAdmin(ScopedAdmin):
    """The operator's partners, read-only here: a partner is made on its own
    account with ``operators.services.partner_create`` (never a staff
    member's), so the console cannot turn a staff account into one."""

    permission_prefix = "partner"
    list_display = ("name", "user", "kind", "active", "created_at")
    list_filter = ("active", "kind")
    list_select_related = ("user", "operator")
    search_fields = ("name",)
    fields = ("name", "user", "operator", "kind", "active", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
