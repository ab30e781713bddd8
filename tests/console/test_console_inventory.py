"""Adding numbers from the console (registration.console_inventory): a block
or a file, through the loader ``load_numbers`` uses; all or nothing; bad
lines named by their number beside the field; bounded uploads; an operator
admin adds to their own operator only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from operators.roles import Role
from operators.selectors import undertaking_current
from operators.services import undertaking_accept
from registration import console_inventory, inventory
from registration.models import LineKind, NumberStatus, PhoneNumber
from tests.conftest import privileged_login
from tests.factories import UserFactory, ensure_undertaking

pytestmark = pytest.mark.django_db

LOAD = "console:registration_phonenumber_load"
CHANGELIST = "console:registration_phonenumber_changelist"


@pytest.fixture
def admin_client(alpha, make_staff):
    return privileged_login(Client(), make_staff(alpha, Role.OPERATOR_ADMIN).user)


def upload(text: str | bytes, name: str = "numbers.csv") -> SimpleUploadedFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def errors_of(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def test_an_operator_admin_adds_a_block_to_their_own_inventory(alpha, beta, admin_client):
    response = admin_client.post(
        reverse(LOAD), {"kind": LineKind.MOBILE, "first": "+8613900000000", "count": "5"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST)
    numbers = PhoneNumber.objects.filter(operator=alpha).order_by("number")
    assert [n.number for n in numbers] == [f"+861390000000{d}" for d in range(5)]
    assert {n.status for n in numbers} == {NumberStatus.AVAILABLE}
    assert not PhoneNumber.objects.filter(operator=beta).exists()
    # An operator field posted anyway is not theirs to choose.
    admin_client.post(
        reverse(LOAD),
        {"operator": beta.pk, "kind": LineKind.MOBILE, "first": "13900000100", "count": "2"},
    )
    assert not PhoneNumber.objects.filter(operator=beta).exists()
    assert PhoneNumber.objects.filter(operator=alpha).count() == 7


def test_a_csv_file_with_a_header_is_loaded_and_repeats_are_skipped(alpha, admin_client):
    PhoneNumber.objects.create(operator=alpha, number="+8613900000001", kind=LineKind.MOBILE)
    text = 'number,note\n+8613900000001,old\n13900000002,new\n\n# comment\n"13900000003";x\n'
    response = admin_client.post(reverse(LOAD), {"kind": LineKind.MOBILE, "upload": upload(text)})
    assert response.status_code == 302
    assert set(PhoneNumber.objects.values_list("number", flat=True)) == {
        "+8613900000001",
        "+8613900000002",
        "+8613900000003",
    }
    page = admin_client.get(response["Location"]).content.decode()
    assert "2 number(s) added to the inventory as available; 1 were already there." in page


def test_a_file_with_bad_lines_stores_nothing_and_names_each_line(alpha, admin_client):
    text = "13900000001\n12345\n13900000002\n1062345600\nnot a number\n"
    response = admin_client.post(reverse(LOAD), {"kind": LineKind.MOBILE, "upload": upload(text)})
    assert response.status_code == 400
    assert not PhoneNumber.objects.exists()
    errors = errors_of(response, "upload")
    assert errors[0] == "Nothing was added: these 3 entries are refused (the first ones)."
    assert errors[1:] == [
        "Line 2: not a valid number.",
        "Line 4: not a mobile number.",
        "Line 5: not a telephone number.",
    ]
    html = response.content.decode()
    assert 'id="id_upload_errors"' in html
    assert "12345" not in html  # the entries are not shown back


def test_a_number_of_another_operator_refuses_the_whole_load(alpha, beta, admin_client):
    PhoneNumber.objects.create(operator=beta, number="+8613900000002", kind=LineKind.MOBILE)
    text = "13900000001\n13900000002\n"
    response = admin_client.post(reverse(LOAD), {"kind": LineKind.MOBILE, "upload": upload(text)})
    assert response.status_code == 400
    assert errors_of(response, "upload")[1] == ("Line 2: already in another operator's inventory.")
    assert not PhoneNumber.objects.filter(operator=alpha).exists()


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"first": "+86139000000x", "count": "3"}, "first", "digits only"),
        ({"first": "+8613900000000", "count": "0"}, "count", "greater than or equal to 1"),
        ({"first": "+8613900000000", "count": "1000001"}, "count", "less than or equal to"),
        ({"first": "+9999999999998", "count": "5"}, "first", "runs past the last number"),
        ({"first": "+8613900000000"}, "count", "how many"),
        ({"count": "3"}, "first", "first number"),
        ({"first": "1" * 21, "count": "3"}, "first", "at most 20 characters"),
    ],
)
def test_a_bad_block_is_refused_beside_its_field(admin_client, data, field, says):
    response = admin_client.post(reverse(LOAD), {"kind": LineKind.MOBILE, **data})
    assert response.status_code == 400
    assert any(says in error for error in errors_of(response, field)), response.context[
        "form"
    ].errors
    assert not PhoneNumber.objects.exists()


def test_a_nul_in_a_field_is_refused_before_anything_runs(admin_client):
    response = admin_client.post(reverse(LOAD), {"kind": "mobile", "first": "\x00", "count": "3"})
    assert response.status_code == 400
    assert not PhoneNumber.objects.exists()


def test_a_block_of_bad_numbers_names_them_by_position(admin_client):
    response = admin_client.post(
        reverse(LOAD), {"kind": LineKind.LANDLINE, "first": "+8613900000000", "count": "2"}
    )
    assert response.status_code == 400
    assert errors_of(response, "first")[1] == "Number 1 of the block: not a landline number."
    assert not PhoneNumber.objects.exists()


def test_a_block_and_a_file_together_or_neither_are_refused(admin_client):
    both = admin_client.post(
        reverse(LOAD),
        {"kind": "mobile", "first": "13900000000", "count": "1", "upload": upload("13900000001")},
    )
    assert both.status_code == 400
    assert "not both" in str(both.context["form"].non_field_errors())
    neither = admin_client.post(reverse(LOAD), {"kind": "mobile"})
    assert neither.status_code == 400
    assert "choose a file" in str(neither.context["form"].non_field_errors())
    assert not PhoneNumber.objects.exists()


def test_an_oversized_or_binary_upload_is_refused_cleanly(admin_client, monkeypatch):
    monkeypatch.setattr(console_inventory, "MAX_UPLOAD_BYTES", 64)
    big = admin_client.post(
        reverse(LOAD), {"kind": "mobile", "upload": upload("13900000001\n" * 10)}
    )
    assert big.status_code == 400
    assert "larger than 8 MB" in errors_of(big, "upload")[0]
    monkeypatch.undo()
    for data, says in (
        (b"\xff\xfe1\x003\x009\x00", "not UTF-8"),
        (b"13900000001\n\x00\n", "NUL byte"),
    ):
        response = admin_client.post(reverse(LOAD), {"kind": "mobile", "upload": upload(data)})
        assert response.status_code == 400
        assert says in errors_of(response, "upload")[0]
    assert not PhoneNumber.objects.exists()


def test_only_an_operator_admin_may_add_numbers(alpha, make_staff, alpha_clerk):
    officer = privileged_login(Client(), make_staff(alpha, Role.COMPLIANCE_OFFICER).user)
    assert officer.get(reverse(LOAD)).status_code == 403
    post = {"kind": "mobile", "first": "13900000000", "count": "1"}
    assert officer.post(reverse(LOAD), post).status_code == 403
    assert 'id="load-link"' not in officer.get(reverse(CHANGELIST)).content.decode()
    clerk = privileged_login(Client(), alpha_clerk.user)
    assert clerk.post(reverse(LOAD), post).status_code == 403
    assert not PhoneNumber.objects.exists()


def test_the_inventory_list_links_to_the_page(admin_client):
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert f'href="{reverse(LOAD)}"' in page
    form = admin_client.get(reverse(LOAD))
    assert form.status_code == 200
    assert "operator" not in form.context["form"].fields
    assert 'enctype="multipart/form-data"' in form.content.decode()


def test_a_platform_admin_chooses_the_operator(alpha, beta):
    root = UserFactory(is_superuser=True, is_staff=True)
    ensure_undertaking()
    undertaking_accept(user=root, undertaking=undertaking_current())
    client = privileged_login(Client(), root)
    missing = client.post(reverse(LOAD), {"kind": "mobile", "first": "13900000000", "count": "1"})
    assert missing.status_code == 400
    assert errors_of(missing, "operator")
    response = client.post(
        reverse(LOAD), {"operator": beta.pk, "kind": "mobile", "first": "13900000000", "count": "2"}
    )
    assert response.status_code == 302
    assert PhoneNumber.objects.filter(operator=beta).count() == 2


def test_the_command_and_the_page_read_a_file_alike(alpha, admin_client, tmp_path):
    text = "number\n13900000001\n13900000002\n"
    path = tmp_path / "numbers.csv"
    path.write_text(text, encoding="utf-8")
    call_command("load_numbers", "--operator", alpha.code, "--kind", "mobile", str(path))
    from_command = set(PhoneNumber.objects.values_list("number", flat=True))
    PhoneNumber.objects.all().delete()
    admin_client.post(reverse(LOAD), {"kind": "mobile", "upload": upload(text)})
    assert set(PhoneNumber.objects.values_list("number", flat=True)) == from_command
    assert len(from_command) == 2


def test_number_block_counts_from_its_first_number_keeping_the_zeros():
    assert inventory.number_block("01062345600", 3) == ["01062345600", "01062345601", "01062345602"]
