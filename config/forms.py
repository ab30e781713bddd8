"""What every form-based page shares with the API: domain errors are copied
onto a form by one helper, with the status the API would answer."""

from __future__ import annotations

from django import forms

from config.api import DomainError, InvalidInput, status_for


def form_errors_add(form: forms.BaseForm, exc: DomainError, *, prefix: str = "") -> int:
    """Copy a domain error onto ``form`` and return its HTTP status (for the
    page's response). Bad input (:class:`InvalidInput`) is copied field by
    field, each reason on the field of that name (``prefix`` taken off: a
    party's ``applicant.name`` on the applicant's form) or on the form when it
    has no such field; any other error is its message on the form."""
    if isinstance(exc, InvalidInput) and exc.fields:
        for name, reasons in exc.fields.items():
            field = name.removeprefix(prefix) if prefix else name
            form.add_error(field if field in form.fields else None, reasons)
    else:
        form.add_error(None, exc.message)
    return status_for(exc)
