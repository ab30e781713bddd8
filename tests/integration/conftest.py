"""Real processes for integration tests: a Celery worker against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0, every: float = 0.2) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes (no fixed sleeps)."""
    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            if condition():
                return True
            deadline.wait(every)
        return condition()
    finally:
        timer.cancel()


def test_database_url() -> str:
    """The test database, as the worker connects to it: as the runtime role where
    one is configured (CI: telereg_app, which may only SELECT and INSERT the access
    log), so the real worker proves it needs no more than that."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    runtime = settings.TELEREG_DB_RUNTIME_ROLE
    auth = runtime or (s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else ""))
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _reset_pool(app) -> None:
    """Drop the producer pool so the next publish connects with the current config."""
    from kombu import pools

    pools.reset()  # kombu keeps producer pools per connection, process-wide
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_workers(transactional_db, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real `celery worker` processes on the test database and a broker of
    their own: a Redis database reserved for these tests (CI), or the filesystem
    transport in a temporary folder. ``start(**env)`` adds settings for that worker;
    ``start(queues=None)`` starts it bare, without ``--queues`` (as deploy/Procfile's
    operators may)."""
    from config.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        import redis

        # A database of their own (15 unless TELEREG_TEST_BROKER_DB says otherwise,
        # so that two test runs on one machine do not share a broker).
        broker_db = os.environ.get("TELEREG_TEST_BROKER_DB", "15")
        url = redis_url.rsplit("/", 1)[0] + f"/{broker_db}"
        redis.Redis.from_url(url).flushdb()
        env["REDIS_URL"] = url
        app.conf.broker_url = url
    else:
        broker_dir = tmp_path / "broker"
        env["TELEREG_BROKER_DIR"] = str(broker_dir)
        app.conf.broker_transport_options = {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
        }
        for sub in ("queue", "processed", "control"):
            (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    _reset_pool(app)
    started: list[tuple[subprocess.Popen, object]] = []

    def start(*, queues: str | None = "default,interactive,campaigns", **extra_env: str):
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                *(["--queues", queues] if queues else []),
                "--hostname",
                f"test{len(started)}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        return process

    try:
        yield start
    finally:
        for process, log in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()
        app.conf.broker_url, app.conf.broker_transport_options = saved
        _reset_pool(app)


@pytest.fixture
def celery_worker_process(celery_workers) -> subprocess.Popen:
    """One real worker with the default settings."""
    return celery_workers()
