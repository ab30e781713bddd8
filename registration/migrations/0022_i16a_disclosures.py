"""Disclosure requests (issue 16) and the legal holds set from them.

On PostgreSQL, triggers hold what the model's guards hold, against SQL that
bypasses the ORM: a request and its numbers are never deleted; a request's
own facts never change; its state moves only pending → approved | refused
and approved → released, each move writing only its own columns. (TRUNCATE
is left to the database owner: test databases are flushed with it.)"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CREATE = """
CREATE OR REPLACE FUNCTION registration_disclosure_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING MESSAGE = 'a disclosure request is never deleted',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.operator_id, NEW.authority, NEW.authority_type, NEW.legal_basis,
        NEW.case_reference, NEW.document_reference, NEW.fields::text, NEW.filed_by_id,
        NEW.filed_at)
       IS DISTINCT FROM
       (OLD.operator_id, OLD.authority, OLD.authority_type, OLD.legal_basis,
        OLD.case_reference, OLD.document_reference, OLD.fields::text, OLD.filed_by_id,
        OLD.filed_at) THEN
        RAISE EXCEPTION USING MESSAGE = 'a disclosure request''s facts never change',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.state = 'pending_approval' AND NEW.state IN ('approved', 'refused')
       AND NEW.released_by_id IS NULL AND NEW.released_at IS NULL
       AND NEW.release_count = 0 THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'approved' AND NEW.state = 'released'
       AND (NEW.decided_by_id, NEW.decided_at, NEW.refusal_reason)
           IS NOT DISTINCT FROM (OLD.decided_by_id, OLD.decided_at, OLD.refusal_reason) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'a disclosure request moves only pending -> approved|refused -> released',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER registration_disclosure_guard
    BEFORE UPDATE OR DELETE ON registration_disclosure
    FOR EACH ROW EXECUTE FUNCTION registration_disclosure_guard();

CREATE OR REPLACE FUNCTION registration_disclosureline_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the numbers of a disclosure request never change (' || TG_OP || ')',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER registration_disclosureline_guard
    BEFORE UPDATE OR DELETE ON registration_disclosureline
    FOR EACH ROW EXECUTE FUNCTION registration_disclosureline_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS registration_disclosureline_guard ON registration_disclosureline;
DROP FUNCTION IF EXISTS registration_disclosureline_guard();
DROP TRIGGER IF EXISTS registration_disclosure_guard ON registration_disclosure;
DROP FUNCTION IF EXISTS registration_disclosure_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0011_i13_document_notice_days"),
        ("registration", "0021_i13_stay_until"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Disclosure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "authority",
                    models.CharField(max_length=200, verbose_name="requesting authority"),
                ),
                (
                    "authority_type",
                    models.CharField(
                        choices=[
                            ("police", "Police"),
                            ("prosecutor", "Prosecutor"),
                            ("court", "Court"),
                            ("national_security", "National security"),
                            ("regulator", "Regulator"),
                            ("other", "Other authority"),
                        ],
                        default="other",
                        max_length=24,
                        verbose_name="type of authority",
                    ),
                ),
                ("legal_basis", models.CharField(max_length=300, verbose_name="legal basis")),
                ("case_reference", models.CharField(max_length=100, verbose_name="case reference")),
                (
                    "document_reference",
                    models.CharField(
                        blank=True, default="", max_length=200, verbose_name="document reference"
                    ),
                ),
                ("fields", models.JSONField(default=list, verbose_name="fields asked for")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending_approval", "Waiting for a second person's approval"),
                            ("approved", "Approved, not released yet"),
                            ("refused", "Refused"),
                            ("released", "Released"),
                        ],
                        default="pending_approval",
                        max_length=20,
                        verbose_name="state",
                    ),
                ),
                ("filed_at", models.DateTimeField(verbose_name="filed at")),
                (
                    "decided_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="decided at"),
                ),
                (
                    "refusal_reason",
                    models.CharField(
                        blank=True, max_length=300, verbose_name="reason for refusing"
                    ),
                ),
                (
                    "released_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="released at"),
                ),
                (
                    "release_count",
                    models.PositiveSmallIntegerField(default=0, verbose_name="releases"),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "filed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="filed by",
                    ),
                ),
                (
                    "operator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="operators.operator",
                        verbose_name="operator",
                    ),
                ),
                (
                    "released_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="released by",
                    ),
                ),
            ],
            options={
                "verbose_name": "disclosure request",
                "verbose_name_plural": "disclosure requests",
                "ordering": ["-filed_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="legalhold",
            name="disclosure",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="legal_holds",
                to="registration.disclosure",
                verbose_name="disclosure request",
            ),
        ),
        migrations.CreateModel(
            name="DisclosureLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(verbose_name="position")),
                (
                    "disclosure",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="registration.disclosure",
                        verbose_name="disclosure",
                    ),
                ),
                (
                    "line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="disclosures",
                        to="registration.line",
                        verbose_name="line",
                    ),
                ),
            ],
            options={
                "verbose_name": "number asked for",
                "verbose_name_plural": "numbers asked for",
                "ordering": ["disclosure", "position"],
            },
        ),
        migrations.AddIndex(
            model_name="disclosure",
            index=models.Index(
                fields=["operator", "filed_at"], name="registratio_operato_4411f8_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="disclosure",
            constraint=models.CheckConstraint(
                condition=models.Q(("release_count__lte", 1)),
                name="disclosure_released_at_most_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="disclosure",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "released"), _negated=True),
                    models.Q(("release_count", 1), ("released_at__isnull", False)),
                    _connector="OR",
                ),
                name="released_disclosure_names_its_release",
            ),
        ),
        migrations.AddConstraint(
            model_name="disclosure",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("state", "pending_approval"), ("decided_by__isnull", False), _connector="OR"
                ),
                name="decided_disclosure_names_who_decided",
            ),
        ),
        migrations.AddConstraint(
            model_name="disclosure",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("decided_by__isnull", True),
                    models.Q(("decided_by", models.F("filed_by")), _negated=True),
                    _connector="OR",
                ),
                name="disclosure_decided_by_a_second_person",
            ),
        ),
        migrations.AddConstraint(
            model_name="disclosureline",
            constraint=models.UniqueConstraint(
                fields=("disclosure", "line"), name="disclosure_line_once"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
