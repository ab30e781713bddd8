"""The processes a benchmark run starts and stops: gunicorn, the load
generator, a Celery worker; and what the kernel says about their memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def gunicorn_start(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    """The production web command (deploy/Procfile) without the access log."""
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--backlog",
            "256",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _wait_http(f"http://127.0.0.1:{port}/readyz", 60)
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 30) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def load(scenario: str, *, url: str, clients: int, seconds: float, workdir: Path, notice: str):
    """Run the load generator in its own process; its JSON result."""
    output = subprocess.run(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "bench.load",
            scenario,
            "--url",
            url,
            "--clients",
            str(clients),
            "--seconds",
            str(seconds),
            "--workdir",
            str(workdir),
            "--notice",
            notice,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def worker_start(env: dict, log: Path, *, concurrency: int = 2) -> subprocess.Popen:
    """The production worker command (deploy/Procfile), campaigns queue only."""
    return subprocess.Popen(  # noqa: S603 - our own command line
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            str(concurrency),
            "--queues",
            "campaigns",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def reset_peak_rss(pid: int | None = None) -> None:
    """Start VmHWM over from the current resident set (Linux: clear_refs 5)."""
    Path(f"/proc/{pid or os.getpid()}/clear_refs").write_text("5")


def own_peak_rss_mb() -> float:
    return peak_rss_mb(os.getpid())["main"]


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set) of a process and each of its children, in MB."""

    def hwm(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return 0.0

    result = {"main": hwm(pid)}
    for n, child in enumerate(sorted(_children(pid))):
        result[f"child{n + 1}"] = hwm(child)
    return result
