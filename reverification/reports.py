"""Reports for the regulator and the yearly transparency report: counts only,
no personal data, each figure a database aggregate (``values().annotate(Count)``
or ``aggregate(Count(filter=…))``), so the cost is a fixed number of queries
whatever the number of rows.

The figures of a period ``[from, to]`` (days in the operator's time zone,
both included):

- ``transactions``: created in the period, by kind, state, store (its code)
  and refusal code;
- ``lines``: opened and closed in the period, and the lines opened in it by
  their status now;
- ``reverification``: ``sent`` (requests opened: each is sent a notice),
  ``verified`` (answered), ``barred`` (expired at the deadline: the line is
  barred from outgoing service), ``suspended`` (lines suspended in the
  period for want of re-verification, still suspended now), ``restored``
  (requests verified in the period after they had expired: the barred or
  suspended line is active again);
- ``disputes``: opened in the period, by state now;
- ``disclosures``: requested, approved, refused and released in the period,
  by type of authority.

The signed monthly file (``manage.py regulator_report``) holds the same
figures in canonical JSON with a detached Ed25519 signature
(:func:`report_sign`, :func:`report_verify`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from operators.timezones import zone_of
from registration import disclosures
from registration.models import Line, LineStatus, Transaction, TransactionKind, TransactionState

from .models import Dispute, DisputeState, ReverificationRequest

if TYPE_CHECKING:
    from operators.models import Operator

REPORT_FORMAT = "telereg-regulator-report/1"
MIN_YEAR, MAX_YEAR = 2000, 2999


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end`` (both included) in the operator's time zone,
    as the half-open instant range ``[since, until)``."""

    start: dt.date
    end: dt.date
    since: dt.datetime
    until: dt.datetime

    @classmethod
    def of(cls, operator: Operator, start: dt.date, end: dt.date) -> Period:
        zone = zone_of(operator)
        since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
        until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return cls(start=start, end=end, since=since, until=until)

    @classmethod
    def month(cls, operator: Operator, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls.of(operator, start, following - dt.timedelta(days=1))

    def q(self, name: str) -> Q:
        return Q(**{f"{name}__gte": self.since, f"{name}__lt": self.until})


def _grouped(queryset, field: str, *, every: list[str] | None = None) -> dict[str, int]:
    """``{value: count}`` by one column, one query (every listed value kept,
    zeros included; an empty value as "")."""
    counts = dict.fromkeys(every or [], 0)
    for row in queryset.values(field).annotate(n=Count("pk")).order_by(field):
        counts[row[field] or ""] = row["n"]
    return counts


def registrations_report(*, operator: Operator, period: Period) -> dict[str, Any]:
    """The regulator's figures of one operator for one period (see the module
    docstring): counts only, in about ten aggregate queries."""
    txs = Transaction.objects.filter(Q(operator=operator) & period.q("created_at"))
    by_kind = _grouped(txs, "kind", every=list(TransactionKind.values))
    refused = txs.exclude(refusal_code="")
    lines = Line.objects.filter(operator=operator)
    line_counts = lines.aggregate(
        opened=Count("pk", filter=period.q("registered_at")),
        closed=Count("pk", filter=period.q("closed_at")),
    )
    requests = ReverificationRequest.objects.filter(operator=operator).aggregate(
        sent=Count("pk", filter=period.q("created_at")),
        verified=Count("pk", filter=period.q("verified_at")),
        barred=Count("pk", filter=period.q("expired_at")),
        restored=Count("pk", filter=period.q("verified_at") & Q(expired_at__isnull=False)),
    )
    suspended = lines.filter(
        Q(status=LineStatus.SUSPENDED, status_reason="reverification_expired")
        & period.q("status_changed_at")
    ).count()
    disputes = _grouped(
        Dispute.objects.filter(Q(operator=operator) & period.q("created_at")),
        "state",
        every=list(DisputeState.values),
    )
    by_authority = disclosures.disclosure_counts(
        operator=operator, start=period.since, end=period.until
    )
    return {
        "operator": operator.code,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "time_zone": str(zone_of(operator)),
        "transactions": {
            "total": sum(by_kind.values()),
            "by_kind": by_kind,
            "by_state": _grouped(txs, "state", every=list(TransactionState.values)),
            "by_store": _grouped(txs, "store__code"),
            "by_refusal_code": _grouped(refused, "refusal_code"),
        },
        "lines": {
            "opened": line_counts["opened"],
            "closed": line_counts["closed"],
            "opened_by_status": _grouped(
                lines.filter(period.q("registered_at")), "status", every=list(LineStatus.values)
            ),
        },
        "reverification": {
            "sent": requests["sent"],
            "verified": requests["verified"],
            "barred": requests["barred"],
            "suspended": suspended,
            "restored": requests["restored"],
        },
        "disputes": {"opened": sum(disputes.values()), "by_state": disputes},
        "disclosures": {
            **{
                outcome: sum(row[outcome] for row in by_authority.values())
                for outcome in disclosures.OUTCOMES
            },
            "by_authority_type": by_authority,
        },
    }


def report_rows(report: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The report as (section, key, value) rows, for the CSV file: nested
    sections joined with dots (``transactions.by_kind``, ``mobile_open``, 3)."""
    rows: list[tuple[str, str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        for key in sorted(value):
            item = value[key]
            if isinstance(item, dict):
                walk(f"{prefix}.{key}" if prefix else key, item)
            else:
                rows.append((prefix or "report", key, item))

    walk("", report)
    return rows


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for section, key, value in report_rows(report):
        # No cell starts a formula in a spreadsheet (store codes are typed by people).
        cells = [section, key, value]
        writer.writerow(
            [f"'{c}" if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in cells]
        )
    return out.getvalue()


# --- The signed monthly file -----------------------------------------------------------------


class ReportKeyError(Exception):
    """The signing key is missing or unreadable (the message names the setting only)."""


def signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key of ``TELEREG_REPORT_SIGNING_KEY`` (base64 of the raw
    32-byte seed, as ``TELEREG_AUDIT_SIGNING_KEY``)."""
    text = (getattr(settings, "TELEREG_REPORT_SIGNING_KEY", "") or "").strip()
    if not text:
        raise ReportKeyError("TELEREG_REPORT_SIGNING_KEY is missing (empty).")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ReportKeyError("TELEREG_REPORT_SIGNING_KEY is not base64.") from None
    if len(raw) != 32:
        raise ReportKeyError("TELEREG_REPORT_SIGNING_KEY must decode to 32 bytes (Ed25519).")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex."""
    return hashlib.sha256(public_raw(public)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not ASCII-escaped), one trailing newline."""
    return (
        json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode("utf-8")


@dataclass(frozen=True)
class SignedReport:
    content: bytes  # the file
    signature: bytes  # the detached signature (raw 64 bytes), FILE.sig
    fingerprint: str


def report_sign(
    *, report: dict[str, Any], period: str, now: dt.datetime | None = None
) -> SignedReport:
    """The month's figures in an envelope (format, period, when, the signing
    key's public key and fingerprint), canonical JSON, signed over its exact
    bytes."""
    key = signing_key()
    public = key.public_key()
    envelope = {
        "format": REPORT_FORMAT,
        "period": period,
        "generated_at": (now or timezone.now()).astimezone(dt.UTC).isoformat(),
        "public_key": base64.b64encode(public_raw(public)).decode("ascii"),
        "key_fingerprint": fingerprint(public),
    }
    content = canonical_json({"envelope": envelope, "report": report})
    return SignedReport(
        content=content, signature=key.sign(content), fingerprint=envelope["key_fingerprint"]
    )


class ReportInvalid(Exception):
    """A report file that does not verify; the message says why (no content)."""


def report_verify(
    *, content: bytes, signature: bytes, trusted_fingerprints: set[str] | None = None
) -> dict[str, Any]:
    """Check a signed report: readable canonical JSON, its envelope's public
    key matches its fingerprint (and, when given, one of the trusted
    fingerprints; by default the configured signing key's), and the detached
    signature holds over the file's exact bytes. The parsed file, or
    ReportInvalid."""
    try:
        parsed = json.loads(content.decode("utf-8"))
        envelope = parsed["envelope"]
        raw_public = base64.b64decode(envelope["public_key"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw_public)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ReportInvalid(f"not a readable report ({type(exc).__name__})") from None
    if hashlib.sha256(raw_public).hexdigest() != envelope.get("key_fingerprint"):
        raise ReportInvalid("the envelope's public key does not match its fingerprint")
    if trusted_fingerprints is None:
        trusted_fingerprints = {fingerprint(signing_key().public_key())}
    if envelope["key_fingerprint"] not in trusted_fingerprints:
        raise ReportInvalid("signed by a key that is not trusted here")
    try:
        public.verify(signature, content)
    except InvalidSignature:
        raise ReportInvalid("the signature does not match the file") from None
    if canonical_json(parsed) != content:
        raise ReportInvalid("the file is not in canonical form")
    return parsed
