"""Property-based: whatever a client sends, the answer is never a 500; a 400
has the error shape with every field named, and nothing is stored.

Inputs mix what breaks lower layers: NUL and other control characters, lone
surrogates (JSON allows ``\\ud800``), bidirectional and zero-width characters,
integers far beyond 64 bits, floats, dates that are not dates, wrong types in
every slot, nesting within and far beyond the parser's limit. Runtime stays
modest (PROFILE: a few dozen examples per test, no deadline, derandomised so
that CI runs the same examples every time).
"""

from __future__ import annotations

import json
import unicodedata
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.models import CorrectionRequest, Person
from registration.models import IdempotencyRecord, Line, Transaction
from tests.helpers import identity_form_fields

pytestmark = pytest.mark.django_db

PROFILE = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_ODD_CHARS = st.sampled_from(
    ["\x00", "\x1b", "\x7f", "\u202e", "\u2066", "\u200b", "\ufeff", "\u061c", "\U000e0041"]
    + ["\ud800", "\udfff", "ß", "İ", "ﬃ", "１２３", "𠀋", "é", "'", '"', "\\", "%00", "<b>"]
)
odd_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(_ODD_CHARS, st.text(max_size=3)), max_size=8).map("".join),
    st.text(min_size=290, max_size=320),
)
odd_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        ["not-a-date", "99999-01-01", "2024-02-30", "0000-01-01", "2024-13-01", "20240101", ""]
    ),
)
huge_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), huge_numbers, odd_text, odd_dates)
odd_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)
    ),
    max_leaves=8,
)
ID_TYPES = st.sampled_from(["cn_resident_id", "cn_passport", "foreign_passport", "x", "\x00"])


def identity_blocks(valid_types: bool = True):
    slot = st.one_of(odd_text, odd_values)
    return st.fixed_dictionaries(
        {},
        optional={
            "id_type": st.one_of(ID_TYPES, odd_values) if valid_types else odd_values,
            "id_number": st.one_of(st.from_regex(r"\A\d{17}[\dX]\Z"), slot),
            "name": slot,
            "date_of_birth": st.one_of(odd_dates, odd_values),
            "sex": st.one_of(st.sampled_from(["M", "F", "m", "X"]), odd_values),
            "id_expiry": st.one_of(odd_dates, odd_values),
            "nationality": st.one_of(st.sampled_from(["CHN", "USA", "usa", "ZZZ"]), odd_values),
            "address": slot,
        },
    )


KINDS = st.sampled_from(
    ["mobile_open", "mobile_transfer", "landline_install", "landline_relocate", "service_add"]
)


def transaction_bodies(notice_hash: str):
    return st.one_of(
        odd_values,
        st.fixed_dictionaries(
            {"kind": st.one_of(KINDS, odd_values)},
            optional={
                "consent": st.one_of(
                    st.fixed_dictionaries(
                        {
                            "notice": st.one_of(st.just(notice_hash), odd_text),
                            "given": st.one_of(st.booleans(), odd_values),
                        }
                    ),
                    odd_values,
                ),
                "applicant": st.one_of(identity_blocks(), odd_values),
                "holder": identity_blocks(),
                "new_holder": identity_blocks(),
                "number": st.one_of(odd_text, huge_numbers),
                "line": st.one_of(odd_text, odd_values),
                "installation_address": odd_text,
                "service": odd_values,
            },
        ),
    )


deep_nesting = st.builds(
    lambda n, opener, tail: opener * n + tail,
    st.integers(min_value=1, max_value=200_000),
    st.sampled_from(["[", '{"a":', '[{"a":']),
    st.sampled_from(["", "1", "]" * 5, "\x00"]),
)


def json_bodies(structured) -> st.SearchStrategy[str]:
    """Mostly well-formed JSON of ``structured``, sometimes hostile nesting."""
    return st.one_of(structured.map(lambda body: encode(body)), deep_nesting)


def encode(body) -> str:
    # ensure_ascii: lone surrogates travel as \\udXXX escapes, as a hostile client sends them.
    return json.dumps(body, ensure_ascii=True)


def assert_no_500_and_shape(response) -> dict | None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "fields"}
        assert body["error"]["message"]
        if response.status_code == 400:
            assert body["error"]["fields"], body
            assert all(reasons for reasons in body["error"]["fields"].values()), body
        return body
    return None


def counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        Transaction.objects.count(),
        Line.objects.count(),
        CorrectionRequest.objects.count(),
        IdempotencyRecord.objects.count(),
    )


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def test_transaction_bodies_never_500_and_a_refusal_stores_nothing(
    clerk_api, alpha_notice, inventory
):
    @PROFILE
    @given(body=json_bodies(transaction_bodies(alpha_notice.content_hash)))
    def check(body):
        before = counts()
        response = clerk_api.post(
            "/api/v1/transactions/",
            data=body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert_no_500_and_shape(response)
        if response.status_code >= 400:
            assert counts()[:4] == before[:4]

    check()


def test_identity_checks_never_500(clerk_api):
    @PROFILE
    @given(body=json_bodies(st.one_of(identity_blocks(), odd_values)))
    def check(body):
        before = counts()
        response = clerk_api.post(
            "/api/v1/identity/check/", data=body, content_type="application/json"
        )
        assert_no_500_and_shape(response)
        assert counts() == before

    check()


def test_corrections_never_500_and_a_refusal_stores_nothing(clerk_api, register, make_identity):
    person = register(make_identity(address="北京市朝阳区样例路8号"))
    fields = st.sampled_from(
        ["name", "date_of_birth", "sex", "id_expiry", "nationality", "address", "id_number"]
    )
    values = st.one_of(odd_dates, odd_values)

    @PROFILE
    @given(
        body=json_bodies(
            st.one_of(
                st.fixed_dictionaries({"values": st.dictionaries(fields, values, max_size=3)}),
                odd_values,
            )
        )
    )
    def check(body):
        before = counts()
        response = clerk_api.post(
            f"/api/v1/persons/{person.uid}/corrections/",
            data=body,
            content_type="application/json",
        )
        assert_no_500_and_shape(response)
        if response.status_code >= 400:
            assert counts() == before

    check()


def test_sign_in_bodies_never_500_without_signing_in(client):
    from rest_framework.test import APIClient

    anonymous = APIClient()

    @PROFILE
    @given(
        body=json_bodies(
            st.one_of(
                st.fixed_dictionaries({"username": odd_values, "password": odd_values}), odd_values
            )
        )
    )
    def check(body):
        response = anonymous.post("/api/v1/auth/token/", data=body, content_type="application/json")
        assert_no_500_and_shape(response)

    check()


def test_raw_bodies_and_deep_nesting_never_500(clerk_api):
    @PROFILE
    @given(raw=st.one_of(deep_nesting, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
    def check(raw):
        response = clerk_api.post(
            "/api/v1/identity/check/",
            data=raw.encode("utf-8", "surrogatepass"),
            content_type="application/json",
        )
        assert_no_500_and_shape(response)

    check()


def test_list_filters_and_pages_never_500(clerk_api):
    params = st.dictionaries(
        st.sampled_from(["state", "kind", "page", "page_size", "number", "pattern", "x"]),
        st.one_of(
            odd_text.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
            huge_numbers.map(str),
        ),
        max_size=3,
    )
    urls = st.sampled_from(
        [
            "/api/v1/transactions/",
            "/api/v1/lines/",
            "/api/v1/numbers/available/",
            "/api/v1/campaigns/",
            "/api/v1/privacy-notices/current/",
            "/api/v1/services/",
        ]
    )

    @PROFILE
    @given(url=urls, query=params)
    def check(url, query):
        assert_no_500_and_shape(clerk_api.get(url, query))

    check()


def _shows_one_thing_and_is_another(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cf", "Cs") for c in text) or any(
        unicodedata.category(c) == "Cc" and not c.isspace() for c in text
    )


def test_store_identity_form_never_500_stores_nothing_and_passes_no_hidden_characters(
    alpha_clerk, web_client_for, citizen, alpha_notice
):
    client = web_client_for(alpha_clerk)
    base = identity_form_fields(citizen(), prefix="applicant-")
    form_text = st.one_of(odd_text, odd_dates, huge_numbers.map(str)).filter(
        # A browser cannot send a lone surrogate in a form (it is not UTF-8).
        lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)
    )

    @PROFILE
    @given(overrides=st.dictionaries(st.sampled_from(sorted(base)), form_text, min_size=1))
    def check(overrides):
        before = counts()
        response = client.post("/store/new/mobile_open/", {**base, **overrides})
        assert response.status_code < 500
        assert counts() == before
        spoofing = [
            field
            for field in ("applicant-name", "applicant-address")
            if _shows_one_thing_and_is_another(overrides.get(field, ""))
        ]
        if spoofing:
            assert response.status_code == 400, spoofing
        client.post("/store/abandon/")

    check()
