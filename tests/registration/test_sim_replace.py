"""SIM and eSIM replacement (issue 13): ``sim_replace`` on the kind registry,
its ICCID (Luhn, ITU-T E.118) or EID (ISO 7064 mod 97-10, GSMA SGP.29)
checked on its field, the line's SIM history kept by its last 4 digits and a
keyed digest only, the holder alerted on every line of theirs, the line's
``sim`` in the API, ``sim_last_changed_at``, and the console's recent swaps.
Valid identifiers are built here by computing their check digits."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from identity import services as identity_services
from identity.errors import IdentityInvalid
from identity.services import ConsentInput
from operators.models import Language, Operator
from operators.roles import Role
from registration import alerts, closing, kinds, selectors, services, sims, tasks
from registration.errors import HolderMismatch
from registration.models import SimCard, SimKind, Transaction, TransactionState
from tests.conftest import privileged_login
from tests.helpers import all_text_in_database, identity_form_fields
from tests.registration.conftest import api_block
from tests.test_translations import compiled_catalogue, shop, untranslated, visible  # noqa: F401

pytestmark = pytest.mark.django_db


def make_iccid(body: str = "898601234567890123") -> str:
    """An ICCID of ``body`` plus its Luhn check digit (19 digits by default)."""
    return body + luhn.calc_check_digit(body)


def make_eid(body: str = "890490320000000000000000012345") -> str:
    """An EID of a 30-digit ``body`` plus its two mod 97-10 check digits."""
    return body + mod_97_10.calc_check_digits(body)


def wrong_check(value: str) -> str:
    """The same identifier with its last digit changed: the check fails."""
    return value[:-1] + str((int(value[-1]) + 1) % 10)


@pytest.fixture(autouse=True)
def quiet_broker(monkeypatch):
    published: list[tuple] = []

    def record(task, *args, **options) -> bool:
        published.append((task.name.rsplit(".", 1)[-1], args))
        return True

    for module in (closing, services, tasks):
        monkeypatch.setattr(module, "enqueue", record)
    return published


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def held_line(open_mobile):
    tx, identity = open_mobile()
    return tx.line, identity


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def replace_body(line, identity, consent, **sim) -> dict:
    return {
        "kind": "sim_replace",
        "line": line.number,
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
        **sim,
    }


def post(client, body: dict, key: str | None = None):
    return client.post(
        "/api/v1/transactions/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or uuid.uuid4().hex,
    )


# --- The identifiers' checks ----------------------------------------------------------------


def test_valid_iccids_and_eids_built_with_their_check_digits_pass():
    assert sims.iccid_problem(make_iccid()) is None
    assert sims.iccid_problem(make_iccid("8986012345678901234")) is None  # 20 digits
    assert sims.iccid_problem(" ".join([make_iccid()[:4], make_iccid()[4:]])) is None
    assert sims.eid_problem(make_eid()) is None


@pytest.mark.parametrize(
    "value",
    [
        wrong_check(make_iccid()),
        make_iccid("89860123456789012"),  # 18 digits
        make_iccid("898601234567890123456"),  # 22 digits
        make_iccid("118601234567890123"),  # not 89
        "8986012345678901\x0023",
        "898601234567890123a",
    ],
)
def test_a_bad_iccid_is_refused_with_a_reason(value):
    assert sims.iccid_problem(value)


@pytest.mark.parametrize(
    "value",
    [wrong_check(make_eid()), make_eid()[:-1], make_eid() + "0", "８９" + make_eid()[2:]],
)
def test_a_bad_eid_is_refused_with_a_reason(value):
    assert sims.eid_problem(value)


def test_the_kind_requires_exactly_one_sim_field_and_openings_take_at_most_one():
    spec = kinds.get("sim_replace")
    assert spec.sim_required
    assert kinds.SIM_FIELDS <= spec.fields
    assert kinds.SIM_FIELDS <= kinds.get("mobile_open").fields
    assert kinds.SIM_FIELDS <= kinds.get("landline_install").fields
    assert set(sims.sim_errors({}, required=True)) == {"iccid", "eid"}
    assert sims.sim_errors({}, required=False) == {}
    both = sims.sim_errors({"iccid": make_iccid(), "eid": make_eid()}, required=False)
    assert set(both) == {"iccid", "eid"}


# --- The service ----------------------------------------------------------------------------


def test_a_sim_replace_records_a_sim_change_with_the_last_four_digits_only(
    held_line, submit, outbox
):
    line, identity = held_line
    assert selectors.sim_last_changed_at(line) is None
    iccid = make_iccid()
    tx = submit("sim_replace", line=line.number, applicant=identity, iccid=iccid)
    assert tx.state == TransactionState.COMPLETED
    sim = SimCard.objects.get(line=line)
    assert (sim.kind, sim.last4) == (SimKind.PHYSICAL, iccid[-4:])
    assert sim.changed_at is not None
    assert selectors.sim_last_changed_at(line) == sim.changed_at
    assert iccid not in all_text_in_database()
    assert iccid not in repr(tx.__dict__)


def test_a_second_replacement_replaces_the_sim_in_use_and_keeps_the_history(held_line, submit):
    line, identity = held_line
    submit("sim_replace", line=line.number, applicant=identity, iccid=make_iccid())
    eid = make_eid()
    submit("sim_replace", line=line.number, applicant=identity, eid=eid)
    history = list(SimCard.objects.filter(line=line).order_by("installed_at"))
    assert [s.kind for s in history] == [SimKind.PHYSICAL, SimKind.ESIM]
    assert history[0].replaced_at is not None
    assert history[1].replaced_at is None
    assert history[0].digest != history[1].digest
    assert selectors.line_sim(line) == {
        "kind": "esim",
        "last4": eid[-4:],
        "changed_at": history[1].changed_at,
    }


def test_opening_a_line_with_an_iccid_is_not_a_sim_change(open_mobile):
    iccid = make_iccid()
    tx, _ = open_mobile(iccid=iccid)
    sim = SimCard.objects.get(line=tx.line)
    assert sim.changed_at is None
    assert selectors.sim_last_changed_at(tx.line) is None
    assert selectors.line_sim(tx.line) == {
        "kind": "physical",
        "last4": iccid[-4:],
        "changed_at": None,
    }


def test_a_landline_installation_may_carry_an_iccid(submit, citizen, inventory):
    tx = submit(
        "landline_install",
        applicant=citizen(),
        installation_address="1 Chang'an Avenue, Beijing",
        iccid=make_iccid(),
    )
    assert tx.state == TransactionState.COMPLETED
    assert SimCard.objects.get(line=tx.line).changed_at is None


def test_a_sim_replace_by_someone_who_is_not_the_holder_is_refused(held_line, submit, citizen):
    line, _ = held_line
    with pytest.raises(HolderMismatch):
        submit("sim_replace", line=line.number, applicant=citizen(), iccid=make_iccid())
    assert not SimCard.objects.exists()
    refused = Transaction.objects.get(kind="sim_replace")
    assert refused.refusal_code == "holder_mismatch"
    assert refused.sim_digest == ""


@pytest.mark.parametrize(
    ("sim", "fields"),
    [
        ({"iccid": wrong_check(make_iccid())}, {"iccid"}),
        ({"eid": wrong_check(make_eid())}, {"eid"}),
        ({"iccid": make_iccid(), "eid": make_eid()}, {"iccid", "eid"}),
        ({}, {"iccid", "eid"}),
    ],
)
def test_bad_sim_input_is_refused_on_its_field_and_nothing_is_stored(
    held_line, submit, sim, fields
):
    line, identity = held_line
    with pytest.raises(IdentityInvalid) as refused:
        submit("sim_replace", line=line.number, applicant=identity, **sim)
    assert set(refused.value.errors) == fields
    assert not Transaction.objects.filter(kind="sim_replace").exists()
    assert not SimCard.objects.exists()


# --- The API ----------------------------------------------------------------------------------


def test_a_sim_replace_through_the_api_answers_201_and_the_line_shows_its_sim(
    held_line, clerk_api, consent
):
    line, identity = held_line
    assert clerk_api.get(f"/api/v1/lines/{line.number}/").json()["sim"] is None
    eid = make_eid()
    response = post(clerk_api, replace_body(line, identity, consent, eid=eid))
    assert response.status_code == 201, response.json()
    assert eid not in response.content.decode()
    shown = clerk_api.get(f"/api/v1/lines/{line.number}/")
    sim = shown.json()["sim"]
    assert sim["kind"] == "esim"
    assert sim["last4"] == eid[-4:]
    assert sim["changed_at"] is not None
    assert eid not in shown.content.decode()
    (listed,) = clerk_api.get(f"/api/v1/lines/?number={line.number}").json()["results"]
    assert listed["sim"] == sim


@pytest.mark.parametrize(
    ("sim", "field"),
    [
        ({"iccid": wrong_check(make_iccid())}, "iccid"),
        ({"eid": wrong_check(make_eid())}, "eid"),
        ({"iccid": make_iccid()[:12]}, "iccid"),
        ({"iccid": "8986\x00" + make_iccid()[5:]}, "iccid"),
        ({"iccid": "8" * 400}, "iccid"),
        ({"iccid": make_iccid(), "eid": make_eid()}, "eid"),
        ({}, "iccid"),
    ],
)
def test_bad_sim_input_through_the_api_is_400_on_the_field(
    held_line, clerk_api, consent, sim, field
):
    line, identity = held_line
    response = post(clerk_api, replace_body(line, identity, consent, **sim))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not SimCard.objects.exists()


def test_a_sim_replace_of_someone_elses_line_through_the_api_is_409(
    held_line, clerk_api, consent, citizen
):
    line, _ = held_line
    response = post(clerk_api, replace_body(line, citizen(), consent, iccid=make_iccid()))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "holder_mismatch"


def test_another_operators_line_is_not_found(
    held_line, beta, make_staff, api_client_for, publish_notice
):
    line, identity = held_line
    stranger = api_client_for(make_staff(beta, Role.CLERK))
    assert stranger.get(f"/api/v1/lines/{line.number}/").status_code == 404
    beta_consent = ConsentInput(notice_hash=publish_notice(beta).content_hash, given=True)
    response = post(stranger, replace_body(line, identity, beta_consent, iccid=make_iccid()))
    assert response.status_code == 404, response.json()
    assert response.json()["error"]["code"] == "line_not_found"
    assert not SimCard.objects.exists()


def test_a_replayed_sim_replace_records_one_sim_change(held_line, clerk_api, consent):
    line, identity = held_line
    body = replace_body(line, identity, consent, iccid=make_iccid())
    first = post(clerk_api, body, key="sim-replay-1")
    again = post(clerk_api, body, key="sim-replay-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert SimCard.objects.filter(line=line).count() == 1


# --- The holder's alert -------------------------------------------------------------------------


def test_the_holder_is_alerted_on_every_line_of_theirs_this_one_included(
    open_mobile, citizen, submit, outbox, quiet_broker, django_capture_on_commit_callbacks
):
    identity = citizen()
    first, _ = open_mobile(identity)
    second, _ = open_mobile(identity)
    stranger, _ = open_mobile()
    outbox_before = len(outbox_lines(outbox))
    with django_capture_on_commit_callbacks(execute=True):
        tx = submit("sim_replace", line=first.line.number, applicant=identity, iccid=make_iccid())
    assert ("send_holder_alert", (tx.pk,)) in quiet_broker
    assert alerts.holder_alert_send(transaction_id=tx.pk) == 2
    told = outbox_lines(outbox)[outbox_before:]
    assert sorted(m["to"] for m in told) == sorted([first.line.number, second.line.number])
    assert stranger.line.number not in {m["to"] for m in told}
    text = told[0]["text"]
    assert first.line.number[-4:] in text
    assert "/my-lines/" in text
    assert "补换卡" in text
    assert identity.name not in text
    assert alerts.holder_alert_send(transaction_id=tx.pk) == 0  # redelivered: nothing twice


def test_the_swap_alert_speaks_the_holders_language(open_mobile, citizen, submit, outbox):
    identity = citizen(language="en")
    first, _ = open_mobile(identity)
    before = len(outbox_lines(outbox))
    tx = submit("sim_replace", line=first.line.number, applicant=identity, eid=make_eid())
    alerts.holder_alert_send(transaction_id=tx.pk)
    (told,) = outbox_lines(outbox)[before:]
    assert told["language"] == "en"
    assert "If this was not you" in told["text"]
    assert "/my-lines/" in told["text"]


# --- The selector ------------------------------------------------------------------------------


def test_sim_last_changed_at_is_the_latest_replacement(held_line, submit):
    line, identity = held_line
    submit("sim_replace", line=line.number, applicant=identity, iccid=make_iccid())
    earlier = SimCard.objects.get(line=line)
    SimCard.objects.filter(pk=earlier.pk).update(
        changed_at=earlier.changed_at - dt.timedelta(days=3),
        installed_at=earlier.installed_at - dt.timedelta(days=3),
    )
    submit("sim_replace", line=line.number, applicant=identity, eid=make_eid())
    latest = SimCard.objects.get(line=line, replaced_at__isnull=True)
    assert selectors.sim_last_changed_at(line) == latest.changed_at


# --- The console and the receipt ----------------------------------------------------------------


def console_url(**query) -> str:
    url = reverse("console:registration_simcard_changelist")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_console_lists_recent_swaps_masked_and_of_the_operator_only(
    held_line, submit, alpha_compliance, beta, make_staff, open_mobile
):
    line, identity = held_line
    iccid = make_iccid()
    submit("sim_replace", line=line.number, applicant=identity, iccid=iccid)
    opened, _ = open_mobile(iccid=make_iccid("898601111111111111"))
    client = privileged_login(Client(), alpha_compliance.user)
    page = client.get(console_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert iccid[-4:] in html
    assert iccid not in html
    assert page.context["cl"].result_count == 1  # the opening's SIM is no swap
    old = SimCard.objects.get(line=line)
    SimCard.objects.filter(pk=old.pk).update(changed_at=timezone.now() - dt.timedelta(days=40))
    assert client.get(console_url()).context["cl"].result_count == 0
    assert client.get(console_url(within="all")).context["cl"].result_count == 1
    officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    other = privileged_login(Client(), officer.user)
    assert other.get(console_url(within="all")).context["cl"].result_count == 0
    change = reverse("console:registration_simcard_change", args=[old.pk])
    assert other.get(change).status_code == 404


def test_the_receipt_shows_the_sim_by_its_last_four_digits(held_line, submit, alpha_clerk):
    line, identity = held_line
    iccid = make_iccid()
    tx = submit("sim_replace", line=line.number, applicant=identity, iccid=iccid)
    client = privileged_login(Client(), alpha_clerk.user)
    page = client.get(reverse("registration:receipt", kwargs={"uid": tx.uid}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="sim"' in html
    assert iccid[-4:] in html
    assert iccid not in html


# --- The new and changed pages in both languages ------------------------------------------------


def _sim_pages(the_shop, citizen) -> dict[str, str]:
    """The store wizard taking a sim_replace (its details step asks the SIM,
    a bad check digit refused beside its field), its receipt, and the
    console's recent swaps: name → HTML."""
    operator, clerk, officer = the_shop
    identity = citizen()
    notice = identity_services.current_notices(operator)[0]
    opened = services.transaction_submit(
        actor=clerk.user,
        request=services.TransactionRequest(
            kind="mobile_open", consent=ConsentInput(notice.content_hash, True), applicant=identity
        ),
    )
    counter = privileged_login(Client(), clerk.user)
    step = lambda name: reverse(f"registration:{name}", kwargs={"kind": "sim_replace"})  # noqa: E731
    pages: dict[str, str] = {}

    def keep(name: str, response, status: int = 200) -> None:
        assert response.status_code == status, (name, response.status_code)
        pages[name] = response.content.decode()

    keep("store home", counter.get(reverse("registration:index")))
    keep("identity", counter.get(step("identity")))
    fields = {**identity_form_fields(identity, prefix="applicant-"), "line": opened.line.number}
    assert counter.post(step("identity"), fields).status_code == 302
    notice_page = counter.get(step("notice"))
    notice_hash = notice_page.context["notices"][0].content_hash
    consent = {"notice": notice_hash, "consent": "on", "action": "consent"}
    assert counter.post(step("notice"), consent).status_code == 302
    keep("details", counter.get(step("details")))
    keep(
        "details refused", counter.post(step("details"), {"iccid": wrong_check(make_iccid())}), 400
    )
    iccid = make_iccid()
    assert counter.post(step("details"), {"iccid": iccid}).status_code == 302
    keep("confirm", counter.get(step("confirm")))
    done = counter.post(step("confirm"))
    assert done.status_code == 302, done.content.decode()[:2000]
    tx = Transaction.objects.get(kind="sim_replace")
    assert tx.state == TransactionState.COMPLETED
    keep("receipt", counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})))
    console = privileged_login(Client(), officer.user)
    keep("recent swaps", console.get(console_url()))
    for name, html in pages.items():
        assert iccid not in html, name
    return pages


def test_the_sim_pages_leave_no_catalogue_text_in_english(shop, citizen, compiled_catalogue):  # noqa: F811
    pages = _sim_pages(shop, citizen)
    catalogue = {k: v for k, v in compiled_catalogue.items() if k not in v}
    failures = {name: untranslated(html, catalogue) for name, html in pages.items()}
    assert not {name: texts for name, texts in failures.items() if texts}, failures
    for name, html in pages.items():
        assert visible(html, "zh-hans").html_lang == "zh-hans", name
    assert "补换卡" in "\n".join(visible(pages["store home"], "zh-hans").chunks)
    assert "ICCID校验位错误" in "\n".join(visible(pages["details refused"], "zh-hans").chunks)
    assert "最近30天" in "\n".join(visible(pages["recent swaps"], "zh-hans").chunks)


def test_the_sim_pages_in_english_say_so(shop, citizen, compiled_catalogue):  # noqa: F811
    Operator.objects.filter(pk=shop[0].pk).update(default_language=Language.EN)
    pages = _sim_pages(shop, citizen)
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name
    assert "SIM replacement" in pages["store home"]
    assert "SIM card number (ICCID)" in pages["details"]
    assert "check digit is wrong" in pages["details refused"]
    assert "In the last 30 days" in pages["recent swaps"]
