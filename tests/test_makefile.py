"""``make test`` on a fresh machine (issue 12): before anything slow, a missing
chromium is installed when it can be (root with apt-get, as .ci/run does),
else make stops at once with the one command to run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISSING = "telereg-no-such-browser"


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _make_test_tools(shims: Path, chromium: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"}
    env.pop("TELEREG_CHROMIUM", None)
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), "test-tools", f"CHROMIUM={chromium}"],  # noqa: S607
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_without_chromium_and_without_root_make_stops_with_the_command_to_run(tmp_path):
    _tool(tmp_path, "id", "echo 1000")
    _tool(tmp_path, "apt-get", f"touch {tmp_path}/apt-get-ran; exit 1")
    result = _make_test_tools(tmp_path, MISSING)
    assert result.returncode != 0
    assert "sudo apt-get install -y chromium" in result.stdout
    assert not (tmp_path / "apt-get-ran").exists()


def test_as_root_with_apt_get_make_installs_debians_chromium(tmp_path):
    # A stand-in apt-get "installs" a chromium that answers --version.
    _tool(tmp_path, "id", "echo 0")
    _tool(
        tmp_path,
        "apt-get",
        f'echo "$@" >> {tmp_path}/apt-get.log\n'
        f"printf '#!/bin/sh\\necho Chromium 1\\n' > {tmp_path}/chromium\n"
        f"chmod +x {tmp_path}/chromium",
    )
    result = _make_test_tools(tmp_path, MISSING)
    log = (tmp_path / "apt-get.log").read_text()
    assert "install -y -qq chromium" in log
    assert "update" in log
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Chromium 1" in result.stdout
