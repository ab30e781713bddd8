"""Holder alerts leave ``Delivery`` (issue 11): each alert message now has its
own row, ``registration.HolderAlertMessage`` (unique per alert and line), and
``Delivery`` keeps only request deliveries.

Data: every alert Delivery (``request`` NULL, ``kind`` "alert", its
``alert_key`` "tx:<transaction>:line:<line>") whose transaction and line still
exist is copied into the new table under the transaction's HolderAlert (one is
created, marked done, for a transaction completed before alerts had rows), so
that no line alerted before the upgrade is alerted again. A copied intent —
a worker killed mid-alert just before the upgrade — cannot be reconciled
against the channel under the new key (the channel knows the old delivery
id), so it is copied as sent: at most once, as before. The old rows stay in
``registration_delivery`` as read-only history; no new ones are written. Then
``alert_key`` is dropped. Backwards, the column comes back empty."""

import re

from django.db import migrations

KEY = re.compile(r"^tx:(\d+):line:(\d+)$")


def copy_alert_deliveries(apps, schema_editor):
    Delivery = apps.get_model("reverification", "Delivery")
    Transaction = apps.get_model("registration", "Transaction")
    Line = apps.get_model("registration", "Line")
    HolderAlert = apps.get_model("registration", "HolderAlert")
    HolderAlertMessage = apps.get_model("registration", "HolderAlertMessage")
    rows = Delivery.objects.filter(alert_key__isnull=False).order_by("pk")
    for delivery in rows.iterator():
        match = KEY.match(delivery.alert_key)
        if match is None:
            continue
        transaction_id, line_id = map(int, match.groups())
        if not (
            Transaction.objects.filter(pk=transaction_id).exists()
            and Line.objects.filter(pk=line_id).exists()
        ):
            continue
        alert, _ = HolderAlert.objects.get_or_create(
            transaction_id=transaction_id,
            defaults={
                "created_at": delivery.created_at,
                "enqueued_at": delivery.created_at,
                "done_at": delivery.sent_at or delivery.created_at,
            },
        )
        failed = delivery.state == "failed"
        HolderAlertMessage.objects.get_or_create(
            alert=alert,
            line_id=line_id,
            defaults={
                "channel": delivery.channel,
                "state": "failed" if failed else "sent",
                "error": delivery.error or "",
                "created_at": delivery.created_at,
                "sent_at": None if failed else (delivery.sent_at or delivery.created_at),
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reverification", "0002_i11b2_task_failures_campaign_events"),
        ("registration", "0013_i11a_holder_alert_messages"),
    ]

    operations = [
        migrations.RunPython(copy_alert_deliveries, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="delivery",
            name="alert_key",
        ),
    ]
