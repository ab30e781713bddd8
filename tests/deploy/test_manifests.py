"""deploy/k8s rendered and checked by deploy/scripts/check_manifests.py (what
`make deploy-check` runs in CI): the real manifests pass, and a copy broken in
the ways that matter (a root pod, two beats, a Secret in the repository, an
unknown field, a database of one instance) fails naming each."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (kubectl kustomize) is not installed"
)


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location(
        "check_manifests", ROOT / "deploy" / "scripts" / "check_manifests.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_overlay_renders_and_passes(checker, capsys):
    assert checker.main([]) == 0
    out = capsys.readouterr().out
    for overlay in checker.OVERLAYS:
        assert f"deploy/k8s/{overlay}:" in out


def test_a_broken_copy_fails_naming_each_problem(checker, tmp_path, capsys, monkeypatch):
    k8s = tmp_path / "k8s"
    shutil.copytree(ROOT / "deploy" / "k8s", k8s)
    base = k8s / "base"
    beat = (base / "beat.yaml").read_text()
    (base / "beat.yaml").write_text(
        beat.replace("  replicas: 1\n", "  replicas: 2\n").replace(
            "runAsNonRoot: true", "runAsNonRoot: false"
        )
    )
    db = (base / "database.yaml").read_text()
    (base / "database.yaml").write_text(db.replace("instances: 3", "instances: 1"))
    web = (base / "web.yaml").read_text()
    (base / "web.yaml").write_text(web.replace("terminationGracePeriodSeconds", "gracePeriod", 1))
    (base / "leak.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: telereg-keys\n"
        "stringData:\n  TELEREG_KEYS: k1:AAAA\n"
    )
    kustomization = (base / "kustomization.yaml").read_text()
    (base / "kustomization.yaml").write_text(
        kustomization.replace("  - redis.yaml\n", "  - redis.yaml\n  - leak.yaml\n")
    )
    monkeypatch.setattr(checker, "K8S", k8s)
    assert checker.main(["base"]) == 1
    err = capsys.readouterr().err
    assert "beat is not one replica with the Recreate strategy" in err
    assert "telereg-beat: the pod does not set runAsNonRoot: true" in err
    assert "spec/instances: 1 is less than the minimum of 3" in err
    assert "'gracePeriod' was unexpected" in err
    assert "a Secret is in the manifests: ['telereg-keys']" in err
