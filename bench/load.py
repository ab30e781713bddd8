"""The load generator: N concurrent clients for S seconds against one endpoint,
each client on its own keep-alive connection with its own clerk's token, in a
process of its own (``python -m bench.load``). Prints one JSON object:
requests, errors (with a few status codes and error codes, never bodies),
requests/s and latency percentiles in milliseconds.

Scenarios:
  register   POST /api/v1/transactions/ (mobile_open), a fresh citizen each time
  register_portrait  the same with a ~200 KB live portrait (citizens with a reference)
  line       GET  /api/v1/lines/?number=…, numbers of loaded lines
  person     POST /api/v1/persons/lookup/, documents of loaded persons
  insert     POST /bench/insert/ (ceiling for register; same body)
  constant   GET  /bench/constant/ (ceiling for the look-ups)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _requests(scenario: str, workdir: Path, notice: str):
    """An endless iterator of (method, path, body, needs_idempotency_key)."""
    if scenario == "register_portrait":
        with (workdir / "citizens-portrait.jsonl").open(encoding="utf-8") as handle:
            citizens = [line for line in handle if line.strip()]
        image = (workdir / "portrait.b64").read_text().strip()
        prefix = (
            '{"kind":"mobile_open","consent":{"notice":"' + notice + '","given":true},'
            '"portrait":{"image":"' + image + '","liveness":"passed"},"applicant":'
        )
        return (
            ("POST", "/api/v1/transactions/", prefix + raw.strip() + "}", True)
            for raw in itertools.chain(citizens, itertools.cycle(citizens))
        )
    if scenario in ("register", "insert"):
        path = "/api/v1/transactions/" if scenario == "register" else "/bench/insert/"
        with (workdir / "citizens.jsonl").open(encoding="utf-8") as handle:
            citizens = [line for line in handle if line.strip()]
        fresh = iter(citizens)
        prefix = (
            '{"kind":"mobile_open","consent":{"notice":"' + notice + '","given":true},"applicant":'
        )

        def bodies():
            for raw in itertools.chain(fresh, itertools.cycle(citizens)):
                yield (
                    "POST",
                    path,
                    prefix + raw.strip() + "}",
                    True,
                )

        return bodies()
    lookups = json.loads((workdir / "lookups.json").read_text())
    if scenario == "line":
        return (
            ("GET", f"/api/v1/lines/?number={number}", None, False)
            for number in itertools.cycle(lookups["numbers"])
        )
    if scenario == "person":
        return (
            ("POST", "/api/v1/persons/lookup/", json.dumps(doc), False)
            for doc in itertools.cycle(lookups["documents"])
        )
    if scenario == "constant":
        return itertools.repeat(("GET", "/bench/constant/", None, False))
    raise SystemExit(f"unknown scenario {scenario}")


async def _client(session, base, token, source, deadline, latencies, errors, counters):
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    while time.perf_counter() < deadline:
        method, path, body, keyed = next(source)
        request_headers = dict(headers, **({"Idempotency-Key": uuid.uuid4().hex} if keyed else {}))
        start = time.perf_counter()
        try:
            async with session.request(
                method, base + path, data=body, headers=request_headers
            ) as response:
                payload = await response.read()
                status = response.status
        except aiohttp.ClientError as exc:
            errors[type(exc).__name__] += 1
            continue
        latencies.append(time.perf_counter() - start)
        counters[status] += 1
        if status >= 400:
            try:
                code = json.loads(payload)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            errors[f"{status} {code}"] += 1
        elif status == 202:
            errors["202 pending"] += 1  # not completed: counted as not done


async def _run(args) -> dict:
    workdir = Path(args.workdir)
    tokens = json.loads((workdir / "tokens.json").read_text())
    source = _requests(args.scenario, workdir, args.notice)
    latencies: list[float] = []
    errors: Counter = Counter()
    counters: Counter = Counter()
    connector = aiohttp.TCPConnector(limit=args.clients, limit_per_host=args.clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Warm-up: one request per client (connections, worker imports), not counted.
        await asyncio.gather(
            *(
                _client(
                    session,
                    args.url,
                    tokens[n % len(tokens)],
                    source,
                    time.perf_counter() + 1.0,
                    [],
                    Counter(),
                    Counter(),
                )
                for n in range(args.clients)
            )
        )
        started = time.perf_counter()
        deadline = started + args.seconds
        await asyncio.gather(
            *(
                _client(
                    session,
                    args.url,
                    tokens[n % len(tokens)],
                    source,
                    deadline,
                    latencies,
                    errors,
                    counters,
                )
                for n in range(args.clients)
            )
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    ok = len(latencies) - sum(v for k, v in errors.items() if k[0].isdigit())
    return {
        "scenario": args.scenario,
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "ok": ok,
        "per_second": round(ok / elapsed, 1),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(5)),
        "statuses": {str(k): v for k, v in sorted(counters.items())},
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario")
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--notice", default="")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args))))


if __name__ == "__main__":
    main()
