"""The image's HEALTHCHECK: in a web container, GET /healthz on the local port
(python's urllib: the image needs no curl); in a worker or beat container the
process being alive is the check (docker restarts it when it exits)."""

import os
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    try:
        command = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        command = []
    if not any(b"gunicorn" in part for part in command):
        return 0
    port = os.environ.get("BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
    request = urllib.request.Request(  # noqa: S310 (a fixed local http URL)
        f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except Exception as exc:  # any failure is "unhealthy"; say which kind
        print(f"healthz failed: {type(exc).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
