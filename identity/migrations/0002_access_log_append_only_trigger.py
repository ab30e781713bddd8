"""On PostgreSQL, a trigger refuses UPDATE and DELETE of access-log entries,
so even SQL that bypasses the ORM cannot rewrite history. (TRUNCATE is left to
the database owner: test databases are flushed with it.) SQLite relies on the
ORM guard and the hash chain."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION identity_access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the access log is append-only (' || TG_OP || ' refused)',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER identity_access_log_append_only
    BEFORE UPDATE OR DELETE ON identity_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION identity_access_log_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS identity_access_log_append_only ON identity_accesslogentry;
DROP FUNCTION IF EXISTS identity_access_log_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
