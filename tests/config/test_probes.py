"""/healthz and /readyz under production settings: plain HTTP to a pod's
address answers (no redirect to HTTPS, no 400 for the Host), and only those two
exact paths are exempt.

Each request is a real WSGI call into ``config.wsgi.application`` in a fresh
interpreter started with production settings (tests/config/test_production_settings.py
makes the environment), against the suite's own PostgreSQL test database."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from config import health
from tests.config.test_production_settings import production_env, run_production

WSGI_CALL = r"""
import io, json, sys
from config.wsgi import application
path, host, scheme = sys.argv[1], sys.argv[2], sys.argv[3]
environ = {
    "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "10.0.0.1",
    "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
    "REMOTE_ADDR": "10.0.0.2", "wsgi.version": (1, 0), "wsgi.url_scheme": scheme,
    "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
    "wsgi.multiprocess": True, "wsgi.run_once": False,
}
seen = {}
def start_response(status, headers, exc_info=None):
    seen["status"] = int(status.split()[0])
    seen["headers"] = dict(headers)
body = b"".join(application(environ, start_response))
print(json.dumps({"status": seen["status"], "location": seen["headers"].get("Location"),
                  "body": body.decode("utf-8", "replace")}))
"""


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    where = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return f"postgres://{s['USER']}{password}@{where}/{s['NAME']}"


def _get(path: str, *, host: str = "10.1.2.3:8000", scheme: str = "http", **env: str) -> dict:
    full = {**production_env(), "DATABASE_URL": _database_url(), **env}
    result = run_production(full, "-c", WSGI_CALL, path, host, scheme)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="production runs on PostgreSQL alone"
)
pytestmark = [pytest.mark.django_db, postgres_only]

NOTHING_LISTENS = "redis://127.0.0.1:1/0"


def test_healthz_answers_plain_http_to_a_pod_address():
    answer = _get("/healthz", REDIS_URL=NOTHING_LISTENS)
    assert answer["status"] == 200
    assert json.loads(answer["body"]) == {"status": "ok"}


def test_readyz_answers_plain_http_to_a_pod_address_with_the_broker_degraded_not_failed():
    answer = _get("/readyz", REDIS_URL=NOTHING_LISTENS)
    assert answer["status"] == 200, answer
    body = json.loads(answer["body"])
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "broker": "degraded"}


def test_readyz_is_ready_when_the_broker_answers(settings):
    import os

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs REDIS_URL (a Redis to reach)")
    answer = _get("/readyz", REDIS_URL=redis_url)
    assert answer["status"] == 200
    body = json.loads(answer["body"])
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable_even_over_plain_http():
    answer = _get(
        "/readyz",
        REDIS_URL=NOTHING_LISTENS,
        DATABASE_URL="postgres://telereg_app:pw@127.0.0.1:1/telereg",
    )
    assert answer["status"] == 503
    assert json.loads(answer["body"])["checks"]["database"] == "unavailable"


@pytest.mark.parametrize("path", ["/healthz/", "/readyz/", "/healthzx", "/sign-in/", "/api/v1/"])
def test_every_other_path_is_still_redirected_to_https(path):
    answer = _get(path, host="telereg.example.test", REDIS_URL=NOTHING_LISTENS)
    assert answer["status"] == 301
    assert answer["location"].startswith("https://telereg.example.test")


def test_every_other_path_still_refuses_an_unknown_host():
    answer = _get("/sign-in/", host="10.1.2.3:8000", scheme="https", REDIS_URL=NOTHING_LISTENS)
    assert answer["status"] == 400


@pytest.fixture
def fresh_migration_state():
    health.forget_migrated()
    yield
    health.forget_migrated()


def test_readyz_is_503_naming_migrations_while_one_is_not_applied(client, fresh_migration_state):
    # In-process (test settings): the row of the newest migration of one app
    # removed inside the test's transaction, rolled back afterwards.
    last = MigrationRecorder.Migration.objects.filter(app="reverification").order_by("-id").first()
    assert last is not None
    last.delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "pending"
    assert response.json()["status"] == "unavailable"
