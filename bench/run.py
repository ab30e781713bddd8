"""`make bench`: what registration, look-ups, campaign planning, notice
dispatch and key rotation cost, each beside the ceiling that the stack allows
on the same machine in the same run (issue 6). Prints a Markdown table and
writes var/bench/bench-<time>.json. A benchmark, not a test: it asserts
nothing about speed.

It runs on production settings (``config.settings.bench``: production with
plain HTTP on loopback and the two ceiling endpoints mounted), on a
PostgreSQL database of its own (``telereg_bench``, dropped afterwards) and a
Redis database of its own (``BENCH_REDIS``, flushed before and after), and
never touches the development database.

Environment: ``BENCH_SCALE`` persons and lines (default 100,000),
``BENCH_REG_SECONDS`` per registration run (default 30, 60 at 1,000,000),
``BENCH_LOOKUP_SECONDS`` (default 20), ``BENCH_KEEP=1`` keeps the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import data, procs

SCALE = int(os.environ.get("BENCH_SCALE", "100000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
DB_NAME = os.environ.get("BENCH_DB_NAME", "telereg_bench")
CORES = os.cpu_count() or 1
REG_SECONDS = float(os.environ.get("BENCH_REG_SECONDS", "60" if SCALE >= 1_000_000 else "30"))
LOOKUP_SECONDS = float(os.environ.get("BENCH_LOOKUP_SECONDS", "20"))
NOOP_TASKS = int(os.environ.get("BENCH_NOOP_TASKS", "20000"))
# A comma-separated subset of http,planning,dispatch,rotation (dispatch needs planning).
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(","))) or {
    "http",
    "planning",
    "dispatch",
    "rotation",
}


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def bench_env(workdir: Path) -> dict[str, str]:
    """One environment for this process, gunicorn and the worker: the same
    fresh keys (the blind index must agree), database and Redis."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "TELEREG_KEYS": f"b1:{_key()}",
        "TELEREG_ACTIVE_KEY": "b1",
        "TELEREG_INDEX_KEY": _key(),
        "TELEREG_AUDIT_KEYS": f"ba1:{_key()}",
        "TELEREG_AUDIT_ACTIVE_KEY": "ba1",
        "TELEREG_AUDIT_SIGNING_KEY": _key(),
        "TELEREG_AUDIT_CHECKPOINT_DIR": str(workdir / "audit-checkpoints"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # 16 clients on 16 tokens must not be refused by the per-user throttle;
        # the throttle's own cost (a Redis round trip per request) stays in.
        "THROTTLE_USER": "10000000/min",
        "TELEREG_OUTBOX_DIR": str(workdir / "outbox"),
        "TELEREG_PUBLIC_URL": "https://telereg.example",
        "TELEREG_AUTHORITY_BACKEND": "simulated",
        "WEB_CONCURRENCY": str(2 * CORES + 1),
    }


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _row(figure, value, ceiling, unit, *, target=None, **extra) -> dict:
    return {
        "figure": figure,
        "unit": unit,
        "value": round(value, 1),
        "ceiling": round(ceiling, 1) if ceiling else None,
        "ratio": round(value / ceiling, 3) if ceiling else None,
        "target": target,
        "scale": SCALE,
        **extra,
    }


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- 1 and 2: registration and look-ups through gunicorn --------------------------------


def bench_http(env: dict, workdir: Path, notice: str) -> list[dict]:
    from registration.models import Transaction

    sock = procs.listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = procs.gunicorn_start(
        dict(os.environ, **env), sock, int(env["WEB_CONCURRENCY"]), workdir / "gunicorn.log"
    )
    sock.close()  # gunicorn holds its own copy
    rows = []
    try:

        def run(scenario: str, clients: int, seconds: float) -> dict:
            _say(f"{scenario}: {clients} clients for {seconds:.0f} s")
            return procs.load(
                scenario, url=url, clients=clients, seconds=seconds, workdir=workdir, notice=notice
            )

        before = Transaction.objects.filter(state="completed").count()
        reg = {n: run("register", n, REG_SECONDS) for n in (4, 16)}
        completed = Transaction.objects.filter(state="completed").count() - before
        ceiling = {n: run("insert", n, REG_SECONDS) for n in (4, 16)}
        for n in (4, 16):
            rows.append(
                _row(
                    f"registration, {n} clients",
                    reg[n]["per_second"],
                    ceiling[n]["per_second"],
                    "tx/s",
                    target="≥ 0.33 (16 clients); p99 ≤ 60 ms (4 clients); 0 errors",
                    p50_ms=reg[n]["p50_ms"],
                    p95_ms=reg[n]["p95_ms"],
                    p99_ms=reg[n]["p99_ms"],
                    errors=reg[n]["errors"],
                    error_kinds=reg[n]["error_kinds"],
                    ceiling_p99_ms=ceiling[n]["p99_ms"],
                    ceiling_errors=ceiling[n]["errors"],
                )
            )
        rows[-1]["completed_in_database"] = completed
        # Issue 14: the same opening with a ~200 KB live portrait (decoded,
        # re-encoded, hashed, compared, sealed), beside the one without.
        with_portrait = run("register_portrait", 4, REG_SECONDS)
        rows.append(
            _row(
                "registration with a 200 KB portrait (simulated matcher), 4 clients",
                with_portrait["per_second"],
                reg[4]["per_second"],
                "tx/s",
                target="beside the opening without a portrait (the ceiling column); 0 errors",
                p50_ms=with_portrait["p50_ms"],
                p95_ms=with_portrait["p95_ms"],
                p99_ms=with_portrait["p99_ms"],
                errors=with_portrait["errors"],
                error_kinds=with_portrait["error_kinds"],
                ceiling_p99_ms=reg[4]["p99_ms"],
            )
        )
        constant = run("constant", 16, LOOKUP_SECONDS)
        for scenario, figure in (("line", "line look-up by number"), ("person", "person look-up")):
            result = run(scenario, 16, LOOKUP_SECONDS)
            rows.append(
                _row(
                    f"{figure}, 16 clients",
                    result["per_second"],
                    constant["per_second"],
                    "req/s",
                    target="≥ 0.5; p99 ≤ 60 ms",
                    p50_ms=result["p50_ms"],
                    p99_ms=result["p99_ms"],
                    errors=result["errors"],
                    error_kinds=result["error_kinds"],
                    ceiling_p99_ms=constant["p99_ms"],
                )
            )
    finally:
        procs.stop(server)
    return rows


# --- 3: campaign planning ----------------------------------------------------------------


def bench_planning(operator) -> tuple[dict, object]:
    from django.db import connection
    from django.utils import timezone

    from reverification import campaigns
    from reverification.models import Campaign

    campaign = campaigns.campaign_create(
        operator=operator,
        data=campaigns.CampaignInput(
            name="bench",
            criteria={"line_kind": "mobile", "stores": [data.BULK_STORE]},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=None,
    )
    Campaign.objects.filter(pk=campaign.pk).update(state="planning")
    _say(f"planning a campaign over {SCALE:,} lines")
    procs.reset_peak_rss()
    seconds, count = _timed(lambda: campaigns.campaign_plan(campaign=campaign))
    planning_rss = procs.own_peak_rss_mb()
    # Ceiling: the same rows into a regular (logged) table with the same columns,
    # defaults, indexes and unique constraint, in one plain INSERT … SELECT.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_ceiling_requests "
            "(LIKE registration_reverificationrequest INCLUDING ALL)"
        )
        ceiling, _ = _timed(
            lambda: cursor.execute(
                "INSERT INTO bench_ceiling_requests (campaign_id, line_id, person_id, "
                "operator_id, state, deadline, created_at) SELECT %s, l.id, l.holder_id, "
                "l.operator_id, 'pending', now()::date, now() FROM registration_line l "
                "JOIN operators_store s ON s.id = l.store_id WHERE s.code = %s",
                [campaign.pk, data.BULK_STORE],
            )
        )
        cursor.execute("DROP TABLE bench_ceiling_requests")
        # For the record (not the ceiling): the same table with the
        # same four foreign keys, whose row checks planning cannot skip.
        cursor.execute(
            "CREATE TABLE bench_ceiling_requests "
            "(LIKE registration_reverificationrequest INCLUDING ALL)"
        )
        for column, target in (
            ("campaign_id", "registration_campaign"),
            ("line_id", "registration_line"),
            ("person_id", "identity_person"),
            ("operator_id", "operators_operator"),
        ):
            cursor.execute(
                f"ALTER TABLE bench_ceiling_requests ADD FOREIGN KEY ({column}) "
                f"REFERENCES {target} (id) DEFERRABLE INITIALLY DEFERRED"
            )
        with_keys, _ = _timed(
            lambda: cursor.execute(
                "INSERT INTO bench_ceiling_requests (campaign_id, line_id, person_id, "
                "operator_id, state, deadline, created_at) SELECT %s, l.id, l.holder_id, "
                "l.operator_id, 'pending', now()::date, now() FROM registration_line l "
                "JOIN operators_store s ON s.id = l.store_id WHERE s.code = %s",
                [campaign.pk, data.BULK_STORE],
            )
        )
        cursor.execute("DROP TABLE bench_ceiling_requests")
    row = _row(
        "campaign planning",
        count / seconds,
        SCALE / ceiling,
        "rows/s",
        target="≥ 0.5",
        seconds=round(seconds, 2),
        requests=count,
        peak_rss_mb=planning_rss,
        ceiling_with_foreign_keys=round(SCALE / with_keys, 1),
        ratio_to_ceiling_with_foreign_keys=round(count / seconds / (SCALE / with_keys), 3),
    )
    return row, campaign


# --- 4: notice dispatch through a real worker ----------------------------------------------


class QueueEvents:
    """Redis keyspace events on the ``campaigns`` list, so the benchmark
    waits on what the worker does instead of polling: a pop is the worker
    taking a message, ``del`` is the list running empty."""

    def __init__(self, client) -> None:
        self.client = client
        self.saved = client.config_get("notify-keyspace-events")["notify-keyspace-events"]
        client.config_set("notify-keyspace-events", "Kgl")  # keyspace; generic and list events
        db = client.connection_pool.connection_kwargs.get("db", 0)
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(f"__keyspace@{db}__:campaigns")
        self.pubsub.get_message(timeout=5)  # the subscription's confirmation

    def wait(self, events: set[str], timeout: float) -> float:
        """perf_counter() when one of ``events`` happens to the list."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=remaining)
            if message and message["type"] == "message" and message["data"].decode() in events:
                return time.perf_counter()
        raise RuntimeError(f"the worker did not {'/'.join(sorted(events))} in {timeout:.0f} s")

    def close(self) -> None:
        self.pubsub.close()
        self.client.config_set("notify-keyspace-events", self.saved)


def _batches_done_listener(count: int, timeout: float):
    """Wait (LISTEN, no polling) until ``count`` dispatch batches are done: a
    trigger that exists only in the benchmark's database notifies each one."""
    import psycopg

    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION bench_batch_done() RETURNS trigger AS $$ "
            "BEGIN PERFORM pg_notify('bench_batch_done', NEW.id::text); RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        conn.execute(
            "CREATE OR REPLACE TRIGGER bench_batch_done AFTER UPDATE OF state "
            "ON registration_dispatchbatch FOR EACH ROW "
            "WHEN (NEW.state = 'done' AND OLD.state <> 'done') EXECUTE FUNCTION bench_batch_done()"
        )
    listener = psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True)
    listener.execute("LISTEN bench_batch_done")

    def wait() -> float:
        done: set[str] = set()
        for notice in listener.notifies(timeout=timeout):
            done.add(notice.payload)
            if len(done) >= count:
                return time.perf_counter()
        raise RuntimeError(f"{count - len(done)} batches not done in {timeout:.0f} s")

    return listener, wait


def bench_dispatch(env: dict, workdir: Path, campaign) -> dict:
    import redis
    from django.conf import settings

    from config.celery import app
    from operators.tasks import noop
    from reverification import dispatch
    from reverification.models import Campaign, Delivery

    client = redis.Redis.from_url(REDIS)
    client.flushdb()
    worker_env = dict(os.environ, **env)

    # Ceiling: the same worker command draining no-op tasks from the same queue.
    _say(f"no-op ceiling: {NOOP_TASKS:,} tasks, one worker -c 2")
    with app.producer_or_acquire() as producer:
        for _ in range(NOOP_TASKS):
            noop.apply_async(queue="campaigns", producer=producer)
    events = QueueEvents(client)
    worker = procs.worker_start(worker_env, workdir / "worker-noop.log")
    try:
        first = events.wait({"rpop", "brpop", "lpop"}, timeout=120)
        noop_seconds = events.wait({"del"}, timeout=600) - first
    except BaseException:
        events.close()
        raise
    finally:
        procs.stop(worker)
    noop_rate = NOOP_TASKS / noop_seconds

    Campaign.objects.filter(pk=campaign.pk).update(state="running")
    batches = dispatch.batches_create(campaign=campaign, size=settings.TELEREG_DISPATCH_BATCH)
    dispatch.batches_enqueue(batches)
    _say(f"dispatch: {len(batches):,} batches of {settings.TELEREG_DISPATCH_BATCH}, worker -c 2")
    listener, batches_done = _batches_done_listener(len(batches), timeout=3600)
    worker = procs.worker_start(worker_env, workdir / "worker-dispatch.log")
    try:
        first = events.wait({"rpop", "brpop", "lpop"}, timeout=120)
        seconds = batches_done() - first
        rss = procs.peak_rss_mb(worker.pid)
    finally:
        procs.stop(worker)
        listener.close()
        events.close()
    sent = Delivery.objects.filter(request__campaign=campaign, state="sent").count()
    outbox = Path(env["TELEREG_OUTBOX_DIR"]) / "file.jsonl"
    with outbox.open("rb") as handle:
        written = sum(1 for _ in handle)
    return _row(
        "notice dispatch (file channel, worker -c 2)",
        sent / seconds,
        noop_rate,
        "notices/s",
        target="≥ 10 × no-op tasks/s; worker RSS ≤ 250 MB",
        ceiling_unit="no-op tasks/s",
        sent=sent,
        outbox_lines=written,
        worker_peak_rss_mb=rss,
    )


# --- 5: key rotation --------------------------------------------------------------------


def bench_rotation() -> dict:
    from django.conf import settings
    from django.db import connection

    from identity import services as identity_services
    from identity.models import Person

    settings.TELEREG_KEYS = f"{settings.TELEREG_KEYS},b2:{_key()}"
    settings.TELEREG_ACTIVE_KEY = "b2"
    count = Person.objects.count()
    _say(f"key rotation over {count:,} persons")
    seconds, done = _timed(lambda: identity_services.keys_rotate())
    # Ceiling: the same rows, the same two columns written (the indexed key id
    # changed, as rotation changes it), 1,000 ids per committed statement.
    low, high = (
        Person.objects.order_by("pk").values_list("pk", flat=True)[0],
        Person.objects.order_by("-pk").values_list("pk", flat=True)[0],
    )

    def plain_update() -> None:
        with connection.cursor() as cursor:
            for start in range(low - 1, high, 1000):
                cursor.execute(
                    "UPDATE identity_person SET wrapped_key = wrapped_key, "
                    "key_id = 'c' || key_id WHERE id > %s AND id <= %s",
                    [start, start + 1000],
                )

    ceiling, _ = _timed(plain_update)
    return _row(
        "key rotation",
        done / seconds,
        count / ceiling,
        "persons/s",
        target="≥ 0.25",
        persons=done,
    )


def bench_rotation_sm4() -> dict:
    """AES-256-GCM -> SM4-GCM (issue 17): every person changes cipher family, so each
    has its data key re-wrapped and its seven fields sealed again, and one
    access-log entry (maintenance), per person, in committed batches."""
    from django.conf import settings
    from django.db import connection

    from identity import services as identity_services
    from identity.models import ENCRYPTED_FIELDS, Person

    sm4 = base64.b64encode(secrets.token_bytes(16)).decode()
    settings.TELEREG_KEYS = f"{settings.TELEREG_KEYS},g1:sm4-gcm:{sm4}"
    settings.TELEREG_ACTIVE_KEY = "g1"
    count = Person.objects.count()
    _say(f"AES -> SM4 rotation (re-encrypting) over {count:,} persons")
    stats: dict[str, int] = {}
    seconds, done = _timed(lambda: identity_services.keys_rotate(stats=stats))
    # Ceiling: the same rows, the same nine columns written (wrapped key, key id and
    # the seven field ciphertexts), 1,000 ids per committed statement.
    low, high = (
        Person.objects.order_by("pk").values_list("pk", flat=True)[0],
        Person.objects.order_by("-pk").values_list("pk", flat=True)[0],
    )
    columns = ", ".join(f"{name}_enc = {name}_enc" for name in ENCRYPTED_FIELDS)

    def plain_update() -> None:
        with connection.cursor() as cursor:
            for start in range(low - 1, high, 1000):
                cursor.execute(
                    f"UPDATE identity_person SET wrapped_key = wrapped_key, {columns}, "  # noqa: S608 - fixed column names
                    "key_id = 'c' || key_id WHERE id > %s AND id <= %s",
                    [start, start + 1000],
                )

    ceiling, _ = _timed(plain_update)
    return _row(
        "key rotation AES → SM4 (re-encrypting)",
        done / seconds,
        count / ceiling,
        "persons/s",
        persons=done,
        reencrypted=stats.get("reencrypted", 0),
    )


# --- the run ------------------------------------------------------------------------------


def machine() -> dict:
    import celery
    import django
    import gunicorn
    import redis
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    redis_version = redis.Redis.from_url(REDIS).info("server")["redis_version"]
    return {
        "cores": CORES,
        "cpu": cpu,
        "memory_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20,
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "postgresql": pg_version,
        "redis": redis_version,
        "celery": celery.__version__,
        "gunicorn": gunicorn.__version__,
        "gunicorn_workers": 2 * CORES + 1,
    }


def _table(rows: list[dict]) -> str:
    out = [
        "| figure | value | ceiling | ratio | target | notes |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        notes = []
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            if key in row:
                notes.append(f"{key[:3]} {row[key]} ms")
        if "errors" in row:
            notes.append(f"errors {row['errors']}")
        if "seconds" in row:
            notes.append(f"{row['seconds']} s")
        if "ratio_to_ceiling_with_foreign_keys" in row:
            notes.append(
                f"ratio {row['ratio_to_ceiling_with_foreign_keys']} to the same INSERT into a "
                f"table with the same foreign keys ({row['ceiling_with_foreign_keys']:,} rows/s)"
            )
        if "peak_rss_mb" in row:
            notes.append(f"peak RSS {row['peak_rss_mb']:.0f} MB")
        if "worker_peak_rss_mb" in row:
            rss = ", ".join(f"{v:.0f}" for v in row["worker_peak_rss_mb"].values())
            notes.append(f"worker peak RSS {rss} MB")
        ceiling = f"{row['ceiling']:,} {row.get('ceiling_unit', row['unit'])}"
        out.append(
            f"| {row['figure']} | {row['value']:,} {row['unit']} | {ceiling} | {row['ratio']} | "
            f"{row['target'] or ''} | {'; '.join(notes)} |"
        )
    return "\n".join(out)


def main() -> int:
    import redis

    workdir = Path(tempfile.mkdtemp(prefix="telereg-bench-"))
    env = bench_env(workdir)
    os.environ.update(env)
    data.recreate_database(PG, DB_NAME)
    redis.Redis.from_url(REDIS).flushdb()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        _say(f"loading {SCALE:,} persons and lines with COPY")
        load_seconds, setup = _timed(lambda: data.operator_setup(workdir))
        persons_seconds, _ = _timed(
            lambda: data.persons_and_lines(setup["operator"], SCALE, workdir)
        )
        citizens = int(REG_SECONDS * 2 * 500)
        data.registration_inputs(setup["operator"], citizens, workdir, free_numbers=citizens * 2)
        if "http" in ONLY:
            data.portrait_inputs(int(os.environ.get("BENCH_PORTRAIT_CITIZENS", "3000")), workdir)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, body_size integer, "
                "created_at timestamptz)"
            )
            cursor.execute("VACUUM ANALYZE")
        _say(f"loaded in {persons_seconds:.0f} s")
        rows = bench_http(env, workdir, setup["notice_hash"]) if "http" in ONLY else []
        if "planning" in ONLY:
            planning, campaign = bench_planning(setup["operator"])
            rows.append(planning)
            if "dispatch" in ONLY:
                rows.append(bench_dispatch(env, workdir, campaign))
        if "rotation" in ONLY:
            rows.append(bench_rotation())
            rows.append(bench_rotation_sm4())
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        info = machine()
    finally:
        from django.db import connections

        connections.close_all()
        redis.Redis.from_url(REDIS).flushdb()
        if not os.environ.get("BENCH_KEEP"):
            data.drop_database(PG, DB_NAME)
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n{SCALE:,} persons and lines loaded with COPY in {persons_seconds:.0f} s; "
        f"{info['cores']} cores ({info['cpu']}), PostgreSQL {info['postgresql']}, "
        f"Redis {info['redis']}; benchmark process peak RSS {peak_mb:.0f} MB\n"
    )
    print(_table(rows))
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "scale": SCALE,
                "registration_seconds": REG_SECONDS,
                "lookup_seconds": LOOKUP_SECONDS,
                "load_seconds": round(load_seconds + persons_seconds, 1),
                "rows": rows,
                "bench_process_peak_rss_mb": round(peak_mb),
                "machine": info,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
