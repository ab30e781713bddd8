"""`make bench`, first part: what campaign planning, notice dispatch and key
rotation cost, each beside the ceiling the stack allows on the same machine in
the same run. Prints a Markdown table and writes var/bench/<time>.json.

It runs on its own PostgreSQL database (``telereg_bench``, recreated each
run), never on the development one. Scale: ``BENCH_SCALE`` lines (default
100,000). Registration throughput and look-ups under gunicorn (issue 6, items
1 and 2) are not measured yet.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

SCALE = int(os.environ.get("BENCH_SCALE", "100000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "telereg_bench"


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _populate(scale: int):
    """One operator, a store, one synthetic holder per 50 lines, ``scale``
    lines inserted with COPY (not through the API: that is measured apart)."""
    from django.db import connection
    from django.utils import timezone

    from identity import services as identity_services
    from identity.services import ConsentInput
    from identity.synthetic import synthetic_identity
    from operators.models import Operator, Store
    from registration.models import Line

    operator = Operator.objects.create(code="bench", name="Bench Telecom")
    store = Store.objects.create(
        operator=operator, code="b1", name="Bench store", region_code="110105", address="x"
    )
    draft = identity_services.notice_draft_create(
        operator=operator,
        language="en",
        parts={
            p: "Bench notice text."
            for p in (
                "purpose",
                "manner",
                "scope",
                "retention",
                "query_and_correction",
                "consequences_of_refusal",
            )
        },
    )
    notice = identity_services.notice_publish(notice=draft, actor=None)
    rng = random.Random(6)  # noqa: S311 - synthetic data
    holders = []
    for _ in range(max(1, scale // 50)):
        identity = synthetic_identity(rng=rng, today=timezone.localdate())
        holders.append(
            identity_services.person_register(
                operator=operator,
                identity=identity,
                consent=ConsentInput(notice.content_hash, True),
                channel="api",
                actor=None,
            ).pk
        )
    now = timezone.now().isoformat()
    table = Line._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {table} (uid, number, kind, operator_id, holder_id, status, store_id, "
            "registered_at, updated_at, status_reason) FROM STDIN"
        ) as copy,
    ):
        import uuid

        for n in range(scale):
            copy.write_row(
                (
                    uuid.uuid4(),
                    f"+86137{n:08d}",
                    "mobile",
                    operator.pk,
                    holders[n % len(holders)],
                    "active",
                    store.pk,
                    now,
                    now,
                    "",
                )
            )
    return operator


def bench_planning(operator) -> dict:
    from django.db import connection
    from django.utils import timezone

    from registration import campaigns
    from registration.models import Campaign

    campaign = campaigns.campaign_create(
        operator=operator,
        data=campaigns.CampaignInput(
            name="bench",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=None,
    )
    Campaign.objects.filter(pk=campaign.pk).update(state="planning")
    seconds, count = _timed(lambda: campaigns.campaign_plan(campaign=campaign))
    # Ceiling: the same number of rows of the same width, plain INSERT … SELECT.
    with connection.cursor() as cursor:
        # Same columns, defaults, indexes and unique constraint as the real table.
        cursor.execute(
            "CREATE TEMP TABLE ceiling_requests "
            "(LIKE registration_reverificationrequest INCLUDING ALL)"
        )
        ceiling, _ = _timed(
            lambda: cursor.execute(
                "INSERT INTO ceiling_requests (campaign_id, line_id, person_id, operator_id, "
                "state, deadline, created_at) SELECT 1, id, holder_id, operator_id, 'pending', "
                "now()::date, now() FROM registration_line"
            )
        )
    return _row("campaign planning", count / seconds, SCALE / ceiling, "rows/s")


def bench_dispatch(operator) -> dict:
    import tempfile

    from django.conf import settings

    from registration import dispatch
    from registration.models import Campaign

    campaign = Campaign.objects.get(name="bench")
    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    settings.TELEREG_OUTBOX_DIR = tempfile.mkdtemp(prefix="telereg-bench-")
    batches = dispatch.batches_create(campaign=campaign, size=1000)

    def send_all() -> int:
        return sum(dispatch.batch_send(batch_id=pk) for pk in batches)

    seconds, sent = _timed(send_all)
    # Ceiling: the same process writing the same lines with nothing else.
    lines = [json.dumps({"request": n, "text": "x" * 120}) + "\n" for n in range(SCALE)]
    path = Path(settings.TELEREG_OUTBOX_DIR) / "ceiling.jsonl"

    def write_only() -> None:
        with path.open("w") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())

    ceiling, _ = _timed(write_only)
    return _row(
        "notice dispatch (file channel, in-process)", sent / seconds, SCALE / ceiling, "notices/s"
    )


def bench_rotation() -> dict:
    import base64

    from django.conf import settings
    from django.db import connection

    from identity import services as identity_services
    from identity.models import Person

    new_key = base64.b64encode(bytes([7]) * 32).decode()
    settings.TELEREG_KEYS = f"{settings.TELEREG_KEYS},b2:{new_key}"
    settings.TELEREG_ACTIVE_KEY = "b2"
    count = Person.objects.count()
    seconds, done = _timed(lambda: identity_services.keys_rotate(batch_size=1000))
    with connection.cursor() as cursor:
        ceiling, _ = _timed(
            lambda: cursor.execute("UPDATE identity_person SET key_id = key_id || ''")
        )
    return _row("key rotation", done / seconds, count / ceiling, "persons/s")


def _row(figure: str, value: float, ceiling: float, unit: str) -> dict:
    return {
        "figure": figure,
        "unit": unit,
        "value": round(value, 1),
        "ceiling": round(ceiling, 1),
        "ratio": round(value / ceiling, 3),
        "scale": SCALE,
    }


def main() -> int:
    _recreate_database()
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    populate_seconds, operator = _timed(lambda: _populate(SCALE))
    rows = [bench_planning(operator), bench_dispatch(operator), bench_rotation()]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{SCALE:,} lines loaded in {populate_seconds:.1f} s; peak RSS {peak_mb:.0f} MB\n")
    print("| figure | value | ceiling | ratio |\n| --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['figure']} | {row['value']:,} {row['unit']} | "
            f"{row['ceiling']:,} {row['unit']} | {row['ratio']} |"
        )
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "rows": rows,
                "peak_rss_mb": round(peak_mb),
                "machine": {
                    "cores": os.cpu_count(),
                    "cpu": platform.processor() or platform.machine(),
                    "python": sys.version.split()[0],
                },
            },
            indent=2,
        )
    )
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
