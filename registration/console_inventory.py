"""Adding numbers to the inventory from the console: a block (the first
number and how many) or a file (a plain list, or a CSV with the number in its
first column). The page calls the loader ``load_numbers`` calls
(:func:`registration.inventory.number_load`, fed by ``number_block`` or
``file_entries``), so both check and store alike: all or nothing, in one
transaction. Bad entries are named by their line number beside the field,
never shown back (a number in an error could be someone's); the upload is
bounded in size; an operator admin loads into their own operator only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy, ngettext

from operators.models import Operator
from operators.tenancy import can, is_platform_admin, staff_of

from . import inventory
from .models import LineKind

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
# Lines named beside the file field when a load is refused.
SHOWN_PROBLEMS = inventory.MAX_PROBLEMS


class NumberLoadForm(forms.Form):
    """A block or a file of numbers, one kind, for one operator (asked of
    platform admins only: tenants load into their own)."""

    operator = forms.ModelChoiceField(
        queryset=Operator.objects.order_by("code"), label=gettext_lazy("Operator")
    )
    kind = forms.ChoiceField(choices=LineKind.choices, label=gettext_lazy("Kind of line"))
    first = forms.CharField(
        required=False,
        max_length=20,
        label=gettext_lazy("First number of the block"),
        help_text=gettext_lazy("International (+86…) or national, digits only."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=inventory.MAX_RANGE,
        label=gettext_lazy("How many numbers"),
    )
    upload = forms.FileField(
        required=False,
        label=gettext_lazy("Or a file of numbers"),
        help_text=gettext_lazy(
            "A text file with one number per line, or a CSV file with the number in its first "
            "column (a header line is allowed). UTF-8, at most 8 MB."
        ),
    )

    def __init__(self, *args: Any, ask_operator: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not ask_operator:
            del self.fields["operator"]

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is not None and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than 8 MB: split it into several loads.")
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        has_block = bool(data.get("first")) or data.get("count") is not None
        has_file = data.get("upload") is not None
        if has_block and has_file:
            raise forms.ValidationError(gettext("Give a block or a file, not both."))
        if not has_block and not has_file and not self.errors:
            raise forms.ValidationError(
                gettext("Give the first number of a block and how many, or choose a file.")
            )
        if has_block and not data.get("first") and "first" not in self.errors:
            self.add_error("first", gettext("Give the block's first number."))
        if has_block and data.get("count") is None and "count" not in self.errors:
            self.add_error("count", gettext("Say how many numbers the block holds."))
        return data

    def file_lines(self) -> list[str]:
        """The uploaded file's lines, or a ValidationError on the file field
        (not UTF-8 text, or a NUL byte: not a list of numbers)."""
        raw = self.cleaned_data["upload"].read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than 8 MB: split it into several loads.")
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                gettext("The file is not UTF-8 text: save it as UTF-8 (CSV UTF-8) and try again.")
            ) from None
        if "\x00" in text:
            raise forms.ValidationError(
                gettext("The file holds a NUL byte: it is not a text file.")
            )
        return text.splitlines()


def _problem_lines(refusal: inventory.InventoryLoadRefused, *, in_file: bool) -> list[str]:
    """Each bad entry as "line N: why" (a file) or "number N of the block:
    why", without the entry itself."""
    text = (
        gettext("Line %(line)d: %(reason)s.")
        if in_file
        else gettext("Number %(line)d of the block: %(reason)s.")
    )
    return [
        text % {"line": p.position, "reason": p.reason} for p in refusal.problems[:SHOWN_PROBLEMS]
    ]


class NumberLoadMixin:
    """Adds ``load/`` (the page above) to the inventory's console admin, for
    whoever holds ``inventory.manage``."""

    def has_load_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "inventory.manage")

    def get_urls(self):
        opts = self.model._meta
        extra = [
            path(
                "load/",
                self.admin_site.admin_view(self.load_view),
                name=f"{opts.app_label}_{opts.model_name}_load",
            )
        ]
        return extra + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if self.has_load_permission(request):
            extra_context = {
                **(extra_context or {}),
                "load_url": reverse("console:registration_phonenumber_load"),
            }
        return super().changelist_view(request, extra_context)

    def load_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_load_permission(request):
            raise PermissionDenied
        staff = staff_of(request.user)
        ask_operator = staff is None and is_platform_admin(request.user)
        if staff is None and not ask_operator:
            raise PermissionDenied
        form = NumberLoadForm(
            request.POST or None, request.FILES or None, ask_operator=ask_operator
        )
        status = 200
        if request.method == "POST":
            if form.is_valid():
                done = self._load(request, form, staff.operator if staff else None)
                if done:
                    return HttpResponseRedirect(
                        reverse("console:registration_phonenumber_changelist")
                    )
            status = 400
        response = TemplateResponse(
            request,
            "registration/admin/number_load.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "title": gettext("Add numbers to the inventory"),
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response

    def _load(self, request: HttpRequest, form: NumberLoadForm, operator: Operator | None) -> bool:
        """Run the load; say how it went (a message, or errors on the form)."""
        data = form.cleaned_data
        operator = operator or data["operator"]
        field = "upload" if data.get("upload") is not None else "first"
        try:
            if field == "upload":
                numbers = inventory.file_entries(form.file_lines())
            else:
                numbers = inventory.number_block(data["first"], data["count"])
            created, skipped = inventory.number_load(
                operator=operator, kind=data["kind"], numbers=numbers
            )
        except forms.ValidationError as error:
            form.add_error(field, error)
            return False
        except inventory.InventoryLoadRefused as refusal:
            problems = _problem_lines(refusal, in_file=field == "upload")
            if problems:
                shown = len(problems)
                form.add_error(
                    field,
                    ngettext(
                        "Nothing was added: %(count)d entry is refused.",
                        "Nothing was added: these %(count)d entries are refused (the first ones).",
                        shown,
                    )
                    % {"count": shown},
                )
                for problem in problems:
                    form.add_error(field, problem)
            else:
                form.add_error(field, str(refusal.message))
            return False
        messages.success(
            request,
            gettext(
                "%(created)d number(s) added to the inventory as available; "
                "%(skipped)d were already there."
            )
            % {"created": created, "skipped": skipped},
        )
        return True
