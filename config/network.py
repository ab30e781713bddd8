"""The client's address, the one way every per-address limit reads it.

Behind ``TELEREG_NUM_PROXIES`` trusted proxies (load balancers that append the
address they received from to ``X-Forwarded-For``), the client is the entry
that many hops from the right; everything to its left was written by the
client and is ignored. With no proxy the header is ignored entirely and the
socket's address counts. This is DRF's ``NUM_PROXIES`` rule, which the API's
throttles apply with the same setting."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address per-address limits count against (never empty: an
    unparseable value counts as the socket's address or ``0.0.0.0``)."""
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 - a key, not a bind
    proxies = settings.TELEREG_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
