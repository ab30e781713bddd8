"""Benchmark-only ceilings for `make bench` (issue 6). Mounted only when
``TELEREG_BENCH_ENDPOINTS`` is on, which only ``config.settings.bench`` does:
they are absent in production and in every other settings module.

Both go through the same middleware, token authentication and throttles as
the real API, so what separates them from a real endpoint is the
application's own work.
"""

from __future__ import annotations

from django.db import connection, transaction
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

CEILING_TABLE = "bench_ceiling"


class InsertOneView(APIView):
    """One row inserted in one transaction: the registration ceiling."""

    permission_classes = [IsAuthenticated]
    schema = None

    def post(self, request: Request) -> Response:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {CEILING_TABLE} (body_size, created_at) "  # noqa: S608 - a constant
                "VALUES (%s, CURRENT_TIMESTAMP)",
                [len(request.body)],
            )
        return Response({"stored": True}, status=201)


class ConstantView(APIView):
    """A constant: the look-up ceiling."""

    permission_classes = [IsAuthenticated]
    schema = None

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})

    def post(self, request: Request) -> Response:
        return Response({"status": "ok"})
