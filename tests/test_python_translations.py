"""Texts written in Python that people read are translated (issue 12): every
model's and field's verbose name (the console's labels), and the API's
human messages, which follow Accept-Language while their codes never change."""

from __future__ import annotations

import uuid

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.functional import Promise

from registration.inventory import InventoryLoadRefused, number_load, number_range
from tests.registration.conftest import api_block
from tests.test_translations import compiled_catalogue  # noqa: F401

pytestmark = pytest.mark.django_db

OUR_APPS = ("operators", "identity", "notices", "registration", "reverification")


def _labels() -> list[tuple[str, object]]:
    """(where, text) of every verbose name and help text of our apps' models."""
    labels: list[tuple[str, object]] = []
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            meta = model._meta
            labels += [
                (meta.label, meta.verbose_name),
                (f"{meta.label}+s", meta.verbose_name_plural),
            ]
            for field in meta.get_fields(include_hidden=False):
                if not field.concrete or field.auto_created:
                    continue
                labels.append((f"{meta.label}.{field.name}", field.verbose_name))
                if field.help_text:
                    labels.append((f"{meta.label}.{field.name} help", field.help_text))
    return labels


def test_every_verbose_name_and_help_text_of_our_models_is_a_lazy_translation():
    labels = _labels()
    assert len(labels) > 300, "the models are read"
    plain = [where for where, text in labels if not isinstance(text, Promise)]
    assert plain == []


def test_every_verbose_name_and_help_text_has_a_chinese_translation(compiled_catalogue):  # noqa: F811
    untranslated = []
    for where, text in _labels():
        with translation.override(None):
            english = str(text)
        with translation.override("zh-hans"):
            chinese = str(text)
        # A text with letters in it must read differently in Chinese.
        if any(c.isalpha() for c in english) and chinese == english:
            untranslated.append(f"{where}: {english}")
    assert untranslated == []


# --- The API ------------------------------------------------------------------------------------


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def _opening(identity, consent) -> dict:
    return {
        "kind": "mobile_open",
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
    }


def test_the_api_answers_a_missing_idempotency_key_in_chinese_when_asked(
    clerk_api,
    citizen,
    consent,
    compiled_catalogue,  # noqa: F811
):
    body = _opening(citizen(), consent)
    chinese = clerk_api.post(
        "/api/v1/transactions/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    english = clerk_api.post(
        "/api/v1/transactions/", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert chinese.status_code == english.status_code == 400
    zh, en = chinese.json()["error"], english.json()["error"]
    assert zh["code"] == en["code"] == "idempotency_key_required"
    assert zh["message"] == "请发送 Idempotency-Key 请求头（每项预期操作使用唯一值）。"
    assert zh["fields"] == {"Idempotency-Key": ["必须提供此请求头。"]}
    assert en["message"].startswith("Send an Idempotency-Key header")


def test_the_api_names_a_bad_field_in_chinese(clerk_api, compiled_catalogue):  # noqa: F811
    response = clerk_api.get("/api/v1/numbers/available/?kind=fax", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "部分字段无效。"
    assert error["fields"] == {"kind": ["可选值：mobile, landline。"]}


def test_a_reused_idempotency_key_is_refused_in_chinese(
    clerk_api,
    citizen,
    consent,
    inventory,
    compiled_catalogue,  # noqa: F811
):
    key = uuid.uuid4().hex
    first = clerk_api.post(
        "/api/v1/transactions/",
        _opening(citizen(), consent),
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert first.status_code == 201
    again = clerk_api.post(
        "/api/v1/transactions/",
        _opening(citizen(), consent),
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert again.status_code == 422
    error = again.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["message"] == "此 Idempotency-Key 已用于另一个请求内容。"


def test_an_unknown_api_path_answers_not_found_in_chinese(clerk_api, compiled_catalogue):  # noqa: F811
    response = clerk_api.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"] != "Not found."


# --- The inventory loader -----------------------------------------------------------------------


def test_the_inventory_loader_refuses_in_the_active_language(alpha, compiled_catalogue):  # noqa: F811
    with translation.override("zh-hans"), pytest.raises(InventoryLoadRefused) as refused:
        number_load(operator=alpha, kind="mobile", numbers=["+8613800138000", "+86123"])
    assert refused.value.message == "第 2 条（'+86123'）被拒绝：不是有效号码。未导入任何号码。"
    with translation.override("zh-hans"), pytest.raises(InventoryLoadRefused) as backwards:
        number_range("+8613800000009-+8613800000000")
    assert "起始号码大于结束号码" in backwards.value.message
    with translation.override("en"), pytest.raises(InventoryLoadRefused) as english:
        number_load(operator=alpha, kind="mobile", numbers=["+86123"])
    assert "is refused: not a valid number. Nothing was loaded." in english.value.message


def test_the_load_numbers_command_speaks_the_active_language(alpha, compiled_catalogue):  # noqa: F811
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("load_numbers", "--operator", "gamma", "--kind", "mobile", "x")
    assert str(refused.value) == "没有代码为 'gamma' 的运营商。"
