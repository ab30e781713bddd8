"""The processes a benchmark run starts and stops: gunicorn, the load
generator, a Celery worker; and what the kernel says about their memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def listening_socket() -> socket.socket:
    """A loopback socket already listening, for gunicorn to inherit: requests
    wait in its backlog until a worker is ready, so nobody polls for that."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    return sock


def gunicorn_start(env: dict, sock: socket.socket, workers: int, log: Path) -> subprocess.Popen:
    """The production web command (deploy/Procfile) without the access log,
    serving the inherited socket; returns once /readyz has answered 200."""
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--logger-class",
            "config.gunicorn_logging.RedactingLogger",
            "--bind",
            f"fd://{sock.fileno()}",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        pass_fds=[sock.fileno()],
    )
    port = sock.getsockname()[1]
    # Blocks in the socket's backlog until a worker answers (or 120 s pass).
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=120) as response:  # noqa: S310 - loopback
        if response.status != 200:
            raise RuntimeError(f"/readyz answered {response.status}")
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
