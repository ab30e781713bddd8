"""Re-verification and notices sit where the layout says: registration and the
apps below it never import re-verification, notices imports none of the apps,
and re-verification's modules import at their top (no import inside a
function to hide a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
APPS = ("operators", "identity", "registration", "reverification", "notices")


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def _apps_imported(tree: ast.AST) -> set[str]:
    return {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in _imported(node)
        if name.split(".")[0] in APPS
    }


@pytest.mark.parametrize("app", ["operators", "identity", "registration"])
def test_apps_below_reverification_never_import_it(app):
    offenders = [
        str(path.relative_to(ROOT))
        for path, tree in _modules(app)
        if "reverification" in _apps_imported(tree)
    ]
    assert offenders == []


def test_notices_import_none_of_the_apps_that_send_them():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_apps_imported(tree) - {"notices"})
        for path, tree in _modules("notices")
        if _apps_imported(tree) - {"notices"}
    }
    assert offenders == {}


def test_reverification_imports_at_the_top_of_its_modules():
    """Only AppConfig.ready() (registration of hooks) and TYPE_CHECKING blocks
    may import below the top of a module."""
    offenders = []
    for path, tree in _modules("reverification"):
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.name == "apps.py" and function.name == "ready":
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_registration_services_publish_their_tasks_without_importing_them():
    """services -> tasks -> services was a cycle hidden in functions."""
    tree = ast.parse((ROOT / "registration" / "services.py").read_text(encoding="utf-8"))
    relative = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
    }
    assert "tasks" not in relative


OLD_TASK_NAMES = (
    "registration.tasks.plan_campaign",
    "registration.tasks.send_batch",
    "registration.tasks.requeue_expired_batches",
    "registration.tasks.requeue_overdue_messages",
    "registration.tasks.reverification_cycle",
)


def test_reverification_tasks_keep_the_names_beat_and_queued_messages_use():
    """Messages already in the broker, and the beat schedule, name the tasks as
    they were registered in registration.tasks: a worker still consumes them."""
    app.loader.import_default_modules()
    for name in OLD_TASK_NAMES:
        assert app.tasks[name].__module__ == "reverification.tasks"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "registration.tasks.reverification_cycle",
        "registration.tasks.requeue_expired_batches",
        "registration.tasks.requeue_overdue_messages",
    } <= scheduled
    assert all(name in app.tasks for name in scheduled)
