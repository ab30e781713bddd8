"""The image's files say what the deployment relies on; the proof that they
work is `make image` in CI (built here, then run against PostgreSQL and Redis)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()


def test_the_dockerfile_builds_from_the_lock_as_a_non_root_user():
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in DOCKERFILE
    assert DOCKERFILE.count("FROM ${BASE_IMAGE}") == 2  # multi-stage
    assert "--require-hashes" in DOCKERFILE
    assert "requirements/base.txt" in DOCKERFILE
    assert "USER 10001:10001" in DOCKERFILE
    assert "compilemessages" in DOCKERFILE
    assert "collectstatic" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE
    assert "telereg-healthcheck" in DOCKERFILE


def test_the_entrypoint_knows_every_role_and_is_valid_shell():
    entrypoint = ROOT / "deploy" / "docker" / "entrypoint.sh"
    subprocess.run(["sh", "-n", str(entrypoint)], check=True)  # noqa: S607
    text = entrypoint.read_text()
    for role in ("web)", "worker)", "beat)", "migrate)", "manage)"):
        assert role in text


def test_compose_has_every_process_and_one_beat():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker-interactive",
        "worker-campaigns",
        "beat",
    }
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly" in services["redis"]["command"]
    queues = {
        s["environment"].get("CELERY_QUEUES") for s in services.values() if "environment" in s
    }
    assert {"default,interactive", "campaigns"} <= queues
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in ("web", "worker-interactive", "worker-campaigns", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_the_runbook_covers_what_operations_need():
    runbook = (ROOT / "docs" / "operations.md").read_text()
    for heading in (
        "## Install on Kubernetes",
        "## Scale: how many for how many stores and lines",
        "## Upgrade: expand, migrate, roll out, contract",
        "## Rotate every key",
        "## Back up and restore",
        "## Respond to a breach",
    ):
        assert heading in runbook
    for command in ("rotate_keys", "SECRET_KEY_FALLBACKS", "TELEREG_AUDIT_VERIFY_KEYS"):
        assert command in runbook
    # Every script and path it names exists.
    for path in (
        "deploy/scripts/backup",
        "deploy/scripts/restore-drill",
        "deploy/k8s/production/externalsecrets.yaml",
        "deploy/k8s/production/migrate/kustomization.yaml",
        "deploy/docker/entrypoint.sh",
    ):
        assert path in runbook
        assert (ROOT / path).exists()
