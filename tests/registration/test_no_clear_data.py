"""After a day of every kind of transaction, no table holds a name, a document
number, a birth date or an address in clear."""

from __future__ import annotations

import pytest

from tests.helpers import all_text_in_database

pytestmark = pytest.mark.django_db


def test_raw_sql_over_every_table_after_a_day_of_transactions(submit, citizen, inventory, catalog):
    people = []
    for n in range(3):
        identity = citizen(address=f"广东省深圳市南山区样例路{n}号")
        people.append(identity)
        submit("mobile_open", applicant=identity)
    installer = citizen(address="北京市海淀区安装路7号")
    people.append(installer)
    landline = submit(
        "landline_install", applicant=installer, installation_address="北京市海淀区机房路88号"
    )
    submit(
        "landline_relocate",
        applicant=installer,
        line=landline.line.number,
        installation_address="上海市浦东新区搬迁路99号",
    )
    newcomer = citizen(address="浙江省杭州市西湖区受让路3号")
    people.append(newcomer)
    submit("landline_transfer", line=landline.line.number, holder=installer, new_holder=newcomer)
    submit("service_add", line=landline.line.number, applicant=newcomer, service="call_forwarding")
    dump = all_text_in_database()
    for identity in people:
        assert identity.name not in dump
        assert identity.id_number not in dump
        assert identity.address not in dump
        assert identity.date_of_birth.isoformat() not in dump
    for address in ("北京市海淀区机房路88号", "上海市浦东新区搬迁路99号"):
        assert address not in dump
