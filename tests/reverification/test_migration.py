"""The re-verification models moved from registration in state only: a database
built by the old migrations keeps its tables, rows, content types and the
permissions on them after ``migrate``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from reverification.models import Campaign, MyLinesChallenge
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("registration", "0010_h8_campaign_cycle_error"),
    ("reverification", None),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _migrate(targets):
    executor = _executor()
    executor.migrate(targets)
    return _executor().loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.fixture
def old_schema():
    """The schema as main's migrations left it; always migrated forward again
    (later tests need every app at its latest migration)."""
    operator = OperatorFactory(code="move-op")
    apps = _migrate(BEFORE)
    yield operator, apps
    executor = _executor()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_migrating_a_database_built_by_the_old_migrations_keeps_its_rows(old_schema):
    operator, apps = old_schema
    OldCampaign = apps.get_model("registration", "Campaign")  # noqa: N806
    OldChallenge = apps.get_model("registration", "MyLinesChallenge")  # noqa: N806
    OldContentType = apps.get_model("contenttypes", "ContentType")  # noqa: N806
    Permission = apps.get_model("auth", "Permission")  # noqa: N806
    Group = apps.get_model("auth", "Group")  # noqa: N806
    old = OldCampaign.objects.create(
        operator_id=operator.pk, name="Kept", deadline=dt.date(2027, 3, 1), criteria={}
    )
    challenge = OldChallenge.objects.create(
        operator_id=operator.pk, expires_at=dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    )
    content_type, _ = OldContentType.objects.get_or_create(
        app_label="registration", model="campaign"
    )
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="view_campaign", defaults={"name": "Can view campaign"}
    )
    group = Group.objects.create(name="campaign viewers")
    group.permissions.add(permission)

    _migrate(_executor().loader.graph.leaf_nodes())

    moved = Campaign.objects.get(pk=old.pk)
    assert (moved.name, moved.operator_id, moved.deadline) == (
        "Kept",
        operator.pk,
        dt.date(2027, 3, 1),
    )
    assert MyLinesChallenge.objects.get(pk=challenge.pk).uid == challenge.uid
    assert Campaign._meta.db_table == "registration_campaign"
    ContentType.objects.clear_cache()
    renamed = ContentType.objects.get(pk=content_type.pk)
    assert (renamed.app_label, renamed.model) == ("reverification", "campaign")
    assert ContentType.objects.get_for_model(Campaign).pk == content_type.pk
    assert group.permissions.filter(pk=permission.pk, content_type_id=content_type.pk).exists()


def test_the_old_console_addresses_of_moved_models_lead_to_their_new_pages(client):
    response = client.get("/console/registration/campaign/3/change/?_changelist_filters=x")
    assert response.status_code == 301
    assert (
        response["Location"] == "/console/reverification/campaign/3/change/?_changelist_filters=x"
    )
    assert client.get("/console/registration/dispute/").headers["Location"] == (
        "/console/reverification/dispute/"
    )
