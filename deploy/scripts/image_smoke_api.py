"""The API half of deploy/scripts/image-smoke (standard library only, run by the
host's python3): against the image's web container, seeded with seed_demo,

1. waits for /readyz to answer 200,
2. signs in as alpha-clerk, accepts the undertaking and opens a mobile line
   (``mobile_open``) for a demo citizen who holds nothing yet, expecting 201
   and an active line,
3. signs in as alpha-compliance (password and the TOTP code from
   var/demo-otp.csv), creates a small campaign over the operator's landlines
   on the ``file`` channel and launches it,
4. waits until the worker container has sent every notice, and finds them in
   the outbox file.

Prints what it did (no personal data: the masked holder only); exits non-zero
naming the step that failed."""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import hashlib
import hmac
import json
import struct
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


class SmokeFailed(Exception):
    pass


def call(base: str, method: str, path: str, body=None, token: str | None = None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json", "Accept-Language": "en"}
    if data is not None:
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = uuid.uuid4().hex
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw[:200].decode(errors="replace")


def expect(what: str, got: tuple[int, object], *statuses: int):
    status, body = got
    if status not in statuses:
        raise SmokeFailed(f"{what}: HTTP {status} (wanted {statuses}): {str(body)[:300]}")
    return body


def totp(secret: str, at: float | None = None) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def wait_ready(base: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, body = call(base, "GET", "/readyz")
        except OSError as exc:  # not listening yet
            last = type(exc).__name__
        else:
            if status == 200:
                return body
            last = (status, body)
        time.sleep(1)
    raise SmokeFailed(f"/readyz never answered 200: {last}")


def sign_in(base: str, username: str, password: str, otp: str | None = None) -> str:
    body = {"username": username, "password": password}
    if otp:
        body["otp"] = otp
    token = expect(f"sign-in {username}", call(base, "POST", "/api/v1/auth/token/", body), 200)[
        "token"
    ]
    undertaking = expect("undertaking", call(base, "GET", "/api/v1/undertaking/", token=token), 200)
    if not undertaking["accepted"]:
        expect(
            "undertaking accept",
            call(
                base,
                "POST",
                "/api/v1/undertaking/accept/",
                {"version": undertaking["version"]},
                token,
            ),
            200,
            201,
        )
    return token


def mobile_open(base: str, var: Path, password: str) -> str:
    token = sign_in(base, "alpha-clerk", password)
    with (var / "demo-citizens.csv").open(encoding="utf-8") as handle:
        citizen = next(row for row in csv.DictReader(handle) if row["role"] == "no_line")
    notice = expect(
        "privacy notice", call(base, "GET", "/api/v1/privacy-notices/current/", token=token), 200
    )
    applicant = {
        key: citizen[key] or None
        for key in (
            "id_type",
            "id_number",
            "name",
            "date_of_birth",
            "sex",
            "id_expiry",
            "nationality",
            "address",
        )
    }
    body = {
        "kind": "mobile_open",
        "applicant": applicant,
        "consent": {"notice": notice["hash"], "given": True},
    }
    created = expect("mobile_open", call(base, "POST", "/api/v1/transactions/", body, token), 201)
    line = created["line"]
    if created["state"] != "completed" and line["status"] != "active":
        raise SmokeFailed(f"mobile_open: state {created['state']}, line {line['status']}")
    shown = expect(
        "line look-up", call(base, "GET", f"/api/v1/lines/{line['number']}/", token=token), 200
    )
    if shown["status"] != "active":
        raise SmokeFailed(f"the new line is {shown['status']}, not active")
    print(
        f"mobile_open: transaction {created['reference']} {created['state']}, "
        f"line {line['kind']} {shown['status']}, holder's document {shown['holder']['id_number']}"
    )
    return line["number"]


def campaign(base: str, var: Path, password: str, outbox: Path, seconds: float) -> None:
    with (var / "demo-otp.csv").open(encoding="utf-8") as handle:
        secrets = dict(row[:2] for row in csv.reader(handle) if len(row) >= 2)
    secret = secrets["alpha-compliance"]
    token = sign_in(base, "alpha-compliance", password, totp(secret))
    deadline = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=60)).isoformat()
    body = {
        "name": f"image smoke {uuid.uuid4().hex[:8]}",
        "criteria": {"line_kind": "landline", "holder_verification": "any"},
        "deadline": deadline,
        "reminder_days": [7],
        "channels": ["file"],
    }
    created = expect("campaign create", call(base, "POST", "/api/v1/campaigns/", body, token), 201)
    cid = created["id"]
    expect("launch", call(base, "POST", f"/api/v1/campaigns/{cid}/launch/", {}, token), 200, 202)
    end = time.monotonic() + seconds
    progress: dict = {}
    while time.monotonic() < end:
        shown = expect("campaign", call(base, "GET", f"/api/v1/campaigns/{cid}/", token=token), 200)
        progress = shown.get("progress") or {}
        sent = (progress.get("deliveries") or {}).get("sent", 0)
        if progress.get("requests") and sent >= progress["requests"]:
            break
        time.sleep(2)
    else:
        raise SmokeFailed(f"the campaign was not sent within {seconds:.0f}s: {progress}")
    notices = []
    path = outbox / "file.jsonl"
    if path.exists():
        for raw in path.read_text(encoding="utf-8").splitlines():
            message = json.loads(raw)
            if message.get("campaign") in (cid, str(cid), body["name"]):
                notices.append(message)
    if len(notices) < progress["requests"]:
        raise SmokeFailed(
            f"{len(notices)} notices of the campaign in {path}, wanted {progress['requests']}"
        )
    if not all(n.get("kind") == "notice" and n.get("link") for n in notices):
        raise SmokeFailed("an outbox message of the campaign is not a notice with a link")
    print(
        f"campaign {cid}: {progress['requests']} requests, {sent} sent by the worker, "
        f"{len(notices)} notices in the outbox"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--var", type=Path, required=True, help="seed_demo's CSV files")
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--password", default="telereg-demo")
    parser.add_argument("--step", choices=["ready", "mobile_open", "campaign"], required=True)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    try:
        if args.step == "ready":
            print(f"/readyz: {json.dumps(wait_ready(args.base, args.timeout))}")
        elif args.step == "mobile_open":
            mobile_open(args.base, args.var, args.password)
        else:
            campaign(args.base, args.var, args.password, args.outbox, args.timeout)
    except SmokeFailed as failed:
        print(f"image smoke FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
