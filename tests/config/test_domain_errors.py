"""Domain errors know no HTTP: config.api maps each class to a status once,
and config.forms copies an error onto a form with one helper."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django import forms

from config.api import STATUS_BY_ERROR, DomainError, InvalidInput, status_for
from config.forms import form_errors_add
from identity.errors import IdentityInvalid, PersonShredded, RevealNotAllowed
from identity.services import RevealReasonRequired
from registration.errors import CapReached, LineNotFound, StoreInactive
from reverification.campaigns import (
    AnswerRefused,
    AuthorityUnavailable,
    RequestClosed,
    TooManyAttempts,
)
from reverification.my_lines import CodeRefused

APPS = ("config", "operators", "identity", "notices", "registration", "reverification")


def _domain_errors() -> list[type[DomainError]]:
    # config holds settings modules that must not be imported here: its
    # domain errors live in config.api, imported above.
    for app in APPS[1:]:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            importlib.import_module(info.name)
    found, todo = [], [DomainError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.split(".")[0] in APPS]


def test_every_entry_of_the_status_table_names_a_domain_error():
    classes = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in _domain_errors()}
    assert set(STATUS_BY_ERROR) - set(classes) == set()


def test_no_domain_error_carries_a_status_of_its_own():
    carrying = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _domain_errors()
        if "status_code" in vars(cls)
    ]
    assert carrying == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (IdentityInvalid({"name": ["name is required"]}), 400),
        (StoreInactive(), 403),
        (LineNotFound(), 404),
        (CapReached(count=5, cap=5, kind="mobile"), 409),
        (PersonShredded(), 410),
        (RevealNotAllowed(), 403),
        (RevealReasonRequired(), 400),  # a subclass listed apart from its base
        (DomainError(), 409),
        (AnswerRefused(), 400),
        (TooManyAttempts(), 429),
        (AuthorityUnavailable(), 503),
        (RequestClosed(), 410),
        (CodeRefused(), 400),
    ],
)
def test_each_error_takes_its_class_status_or_its_nearest_listed_base(error, expected):
    assert status_for(error) == expected


def test_identity_invalid_is_a_domain_error_with_the_invalid_shape():
    error = IdentityInvalid({"sex": ["sex must be M or F"], "id_type": ["unknown"]})
    assert isinstance(error, InvalidInput)
    assert error.code == "invalid"
    assert list(error.fields) == ["id_type", "sex"]  # the identity block's order
    assert error.fields is error.errors


class _Form(forms.Form):
    name = forms.CharField()


def test_form_helper_puts_bad_input_on_its_fields_and_the_rest_on_the_form():
    form = _Form(data={"name": "x"})
    assert form.is_valid()
    status = form_errors_add(form, IdentityInvalid({"name": ["too short"], "sex": ["bad"]}))
    assert status == 400
    assert form.errors["name"] == ["too short"]
    assert form.non_field_errors() == ["bad"]


def test_form_helper_puts_a_refusal_message_on_the_form_with_its_status():
    form = _Form(data={"name": "x"})
    assert form.is_valid()
    assert form_errors_add(form, StoreInactive()) == 403
    assert form.non_field_errors() == [StoreInactive.message]
    assert "name" not in form.errors


def test_form_helper_takes_a_party_prefix_off_the_field_names():
    form = _Form(data={"name": "x"})
    assert form.is_valid()
    form_errors_add(form, IdentityInvalid({"applicant.name": ["hidden"]}), prefix="applicant.")
    assert form.errors["name"] == ["hidden"]
