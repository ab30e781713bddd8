"""The import direction of the apps, read from the source with ``ast``.

Apps are layered, lowest first: a module may import its own app and the apps
below it, never one above (``operators`` imports none of the others;
``identity`` neither ``registration`` nor ``reverification``; ``registration``
not ``reverification``; ``notices`` none of the apps that send). And an import
of another app is written at the top of the module: one inside a function is
how a cycle hides, so it fails here too. Apps that do not exist yet pass.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["operators", "identity", "notices", "registration", "reverification"]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted and absolute
    line: int
    in_function: bool
    # In an AppConfig's ready() (apps.py): where Django wants an app to wire
    # itself to the apps below it (signal receivers, registries).
    in_ready: bool = False


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, node.module] if node.module else package)
    # ``from identity import vault`` names the module identity.vault.
    return [f"{base}.{alias.name}" if base else alias.name for alias in node.names]


def imports_of(path: Path) -> list[Import]:
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, in_ready: bool) -> None:
        for child in ast.iter_child_nodes(node):
            function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            ready = in_ready or (
                function and path.name == "apps.py" and getattr(child, "name", "") == "ready"
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(module, alias.name, child.lineno, in_function, in_ready))
            elif isinstance(child, ast.ImportFrom):
                for target in _absolute(module, is_package, child):
                    found.append(Import(module, target, child.lineno, in_function, in_ready))
            visit(child, in_function or function, ready)

    visit(tree, False, False)
    return found


def app_of(dotted: str) -> str | None:
    top = dotted.split(".")[0]
    return top if top in LAYERS else None


def app_modules() -> list[Path]:
    paths: list[Path] = []
    for app in LAYERS:
        folder = ROOT / app
        if folder.is_dir():
            paths.extend(p for p in sorted(folder.rglob("*.py")) if "migrations" not in p.parts)
    return paths


def violations() -> tuple[list[str], list[str]]:
    upward, in_functions = [], []
    for path in app_modules():
        for imp in imports_of(path):
            own, other = app_of(imp.module), app_of(imp.target)
            if other is None or other == own:
                continue
            where = f"{imp.module}:{imp.line} imports {imp.target}"
            if LAYERS.index(other) > LAYERS.index(own):
                upward.append(where)
            if imp.in_function and not imp.in_ready:
                in_functions.append(where)
    return upward, in_functions


def test_no_app_imports_an_app_above_it():
    upward, _ = violations()
    assert upward == []


def test_no_app_imports_another_app_inside_a_function():
    _, in_functions = violations()
    assert in_functions == []


# --- The checker itself, on sources written for the purpose --------------------------------


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A project tree of the layered apps under tmp_path."""
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)

    def write(relative: str, source: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            if str(parent) != ".":
                (tmp_path / parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
        return path

    return write


def test_checker_finds_a_lower_app_importing_a_higher_one(scratch):
    scratch("operators/services.py", "from registration.models import Line\n")
    scratch("registration/models.py", "from operators.models import Operator\n")
    scratch("operators/models.py", "")
    upward, in_functions = violations()
    assert upward == ["operators.services:1 imports registration.models.Line"]
    assert in_functions == []


def test_checker_finds_an_import_of_another_app_inside_a_function(scratch):
    scratch(
        "registration/services.py",
        "def f():\n    from identity import vault\n    return vault\n",
    )
    scratch("identity/vault.py", "")
    upward, in_functions = violations()
    assert upward == []
    assert in_functions == ["registration.services:2 imports identity.vault"]


def test_checker_reads_relative_imports_and_passes_imports_within_an_app(scratch):
    scratch("identity/services.py", "from . import vault\n\ndef f():\n    from .models import P\n")
    scratch("identity/sub/deep.py", "from ..models import P\nfrom ... import registration\n")
    scratch("identity/models.py", "")
    upward, in_functions = violations()
    assert upward == ["identity.sub.deep:2 imports registration"]
    assert in_functions == []


def test_checker_passes_an_app_that_does_not_exist_yet(scratch):
    scratch("registration/services.py", "from operators.models import Operator\n")
    assert violations() == ([], [])


def test_checker_lets_an_app_config_wire_itself_in_ready_only(scratch):
    source = (
        "class C:\n"
        "    def ready(self):\n"
        "        from operators.audit import hook\n"
        "    def other(self):\n"
        "        from operators.audit import hook\n"
    )
    scratch("identity/apps.py", source)
    scratch("operators/audit.py", "")
    assert violations() == ([], ["identity.apps:5 imports operators.audit.hook"])
