"""Person.index_key_id: which index key and algorithm computed a row's blind index.

Rows stored before it were indexed under the index key configured now (the
upgrade must not change TELEREG_INDEX_KEY in the same step): they are stamped
with its fingerprint, so ``reindex_documents`` finds nothing to do until the
index key or its algorithm changes. Without a configured key ring (an empty
development database) rows stay unstamped and a re-index visits them."""

from django.db import migrations, models


def stamp_current_index_key(apps, schema_editor):
    from identity import crypto

    try:
        ring = crypto.KeyRing.from_settings()
    except crypto.KeyRingError:
        return
    Person = apps.get_model("identity", "Person")
    Person.objects.filter(shredded_at__isnull=True).update(index_key_id=ring.index_key_id)


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0014_i13_maintenance_purpose"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="index_key_id",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=40,
                verbose_name="index key id",
            ),
        ),
        migrations.RunPython(stamp_current_index_key, migrations.RunPython.noop),
    ]
