"""The pages of issue 16 (subscriber side) in both languages: the risk flag
console pages (list, raise, a flag), velocity alerts, a store's status page,
the dispute queue, the /r/ page of a high flag and /my-lines/ with the access
history and a flagged line. In zh-hans no English text of a catalogue may be
left in what a person reads; ``<html lang>`` names the page's language."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from identity import services as identity_services
from operators.models import Language, Operator
from operators.roles import Role
from reverification import dispatch, risk
from reverification.models import DispatchBatch, RiskFlag, RiskSource, VelocityAlert
from tests.conftest import privileged_login
from tests.reverification.subscriber_states import last_code
from tests.test_translations import compiled_catalogue  # noqa: F401 - a fixture
from tests.test_translations_console import catalogue, html_lang, untranslated_text  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(
    alpha,
    make_staff,
    open_mobile,
    alpha_clerk,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    outbox = tmp_path / "file.jsonl"
    settings.TELEREG_VELOCITY_DOCUMENT_OPENINGS = 1

    def render(language: str) -> dict[str, str]:
        Operator.objects.filter(pk=alpha.pk).update(default_language=language)
        officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
        for number, store in enumerate(alpha.stores.order_by("pk"), start=1):
            store.name = f"朝阳第{number}营业厅"
            store.save(update_fields=["name"])
        tx, holder = open_mobile()
        with django_capture_on_commit_callbacks(execute=True):
            open_mobile(holder)  # the second opening: a velocity alert, medium flags
        other, _ = open_mobile()
        raised = risk.risk_flag_raise(
            line=other.line,
            tier="high",
            reason="反诈中心通报",
            source=RiskSource.COMPLIANCE,
            actor=officer.user,
        )
        identity_services.person_reveal(
            person=tx.line.holder, actor=officer.user, reason="核查投诉材料"
        )
        console = privileged_login(Client(), officer.user)
        paths = {
            "flags": reverse("console:reverification_riskflag_changelist"),
            "raise": reverse("console:reverification_riskflag_raise"),
            "flag": reverse("console:reverification_riskflag_change", args=[raised.flag.pk]),
            "alerts": reverse("console:reverification_velocityalert_changelist"),
            "alert": reverse(
                "console:reverification_velocityalert_change",
                args=[VelocityAlert.objects.get().pk],
            ),
            "store status": reverse("console:operators_store_status", args=[alpha_clerk.store.pk]),
            "disputes": reverse("console:reverification_dispute_changelist"),
            "home": reverse("console:index"),
        }
        out = {}
        for name, path in paths.items():
            response = console.get(path)
            assert response.status_code == 200, (name, response.status_code)
            out[name] = response.content.decode()
        bad = console.post(paths["raise"], {"line": "", "tier": "high", "reason": ""})
        out["raise, refused"] = bad.content.decode()
        bad = console.post(paths["store status"], {"status": "suspended", "reason": ""})
        out["store status, refused"] = bad.content.decode()
        lang = "zh-hans" if language == Language.ZH_HANS else "en"
        for pk in DispatchBatch.objects.values_list("pk", flat=True):
            dispatch.batch_send(batch_id=pk)
        notice = next(
            json.loads(x)
            for x in outbox.read_text().splitlines()
            if json.loads(x)["request"] == raised.request.pk
        )
        path = "/" + notice["link"].split("://", 1)[1].split("/", 1)[1].split("?")[0]
        out["link of a high flag"] = Client().get(f"{path}?lang={lang}").content.decode()
        subscriber = Client()
        subscriber.post(
            f"/my-lines/?lang={lang}",
            {
                "step": "start",
                "operator": "alpha",
                "id_type": holder.id_type,
                "id_number": holder.id_number,
                "name": holder.name,
            },
        )
        code = last_code(outbox)
        out["my lines"] = subscriber.post(
            f"/my-lines/?lang={lang}", {"step": "code", "code": code}
        ).content.decode()
        out["risk disputed"] = subscriber.post(
            f"/my-lines/?lang={lang}",
            {"step": "risk_dispute", "line": str(tx.line.uid), "reason_text": "是我本人"},
        ).content.decode()
        assert RiskFlag.objects.filter(line=tx.line).exists()
        return out

    return render


def test_the_pages_in_chinese_leave_nothing_in_english(pages, catalogue):  # noqa: F811
    rendered = pages(Language.ZH_HANS)
    left = {name: untranslated_text(html, catalogue) for name, html in rendered.items()}
    assert not {name: texts for name, texts in left.items() if texts}
    for name, html in rendered.items():
        assert html_lang(html) == "zh-hans", name
    assert "谁访问了我的数据" in rendered["my lines"]
    assert "合规审查" in rendered["my lines"] or "合规" in rendered["my lines"]
    assert "新增风险标记" in rendered["flags"]
    assert "营业厅" in rendered["link of a high flag"]


def test_the_pages_in_english(pages):
    rendered = pages(Language.EN)
    for name, html in rendered.items():
        assert html_lang(html) == "en", name
    assert "Who accessed my data" in rendered["my lines"]
    assert "Raise a risk flag" in rendered["flags"]
    assert "Visit one of our stores with your identity document" in rendered["link of a high flag"]
    assert "Your dispute of the risk flag is recorded." in rendered["risk disputed"]
