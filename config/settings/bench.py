"""`make bench` only: the production settings (DEBUG off, the same middleware,
authentication, throttles, Redis cache and broker), served over plain HTTP on
loopback, with the two benchmark-only ceiling endpoints mounted. Never deploy
this module: production.py leaves the endpoints out."""

from .production import *  # noqa: F403

TELEREG_BENCH_ENDPOINTS = True
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
# The load generator is one API client looking up thousands of documents: the
# per-staff look-up limit (identity.lookups) would turn the benchmark into 429s.
TELEREG_LOOKUP_LIMIT_PER_HOUR = 0
