"""Bench-only parts of the server ``bench/lists.py`` measures (see ``bench/lists_settings.py``).

- ``BenchHeadersMiddleware`` answers ``X-Bench-Queries`` (queries the request ran),
  ``X-Bench-DB-ms`` (time inside ``cursor.execute``) and ``X-Bench-CPU-ms`` (this worker's CPU
  time for the request: gunicorn's sync worker runs one request at a time, so the process's CPU
  clock is the request's).
- The URL conf is the portal's, with admin changelists registered for the models the portal's
  admin leaves out (escalations and their history), as plain ``ModelAdmin`` classes showing what
  the portal's lists show: the baseline the portal's lists are compared with.
"""

from __future__ import annotations

import os
import sys
import time

from django.contrib import admin
from django.db import connections

from apps.escalations.models import Escalation

# BENCH_LOG_QUERIES_OVER=N: print the statements of every request that ran more than N queries to
# the gunicorn log (to find what a page that runs more queries than its peers runs).
LOG_QUERIES_OVER = int(os.environ["BENCH_LOG_QUERIES_OVER"]) if os.environ.get("BENCH_LOG_QUERIES_OVER") else None


class BenchHeadersMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        counts = {"n": 0, "s": 0.0}
        statements = []

        def count(execute, sql, params, many, context):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                counts["n"] += 1
                counts["s"] += time.perf_counter() - t0
                statements.append(sql)

        cpu0 = time.process_time()
        with connections["default"].execute_wrapper(count):
            response = self.get_response(request)
        if LOG_QUERIES_OVER is not None and counts["n"] > LOG_QUERIES_OVER:
            print(f"BENCH {request.get_full_path()}: {counts['n']} queries", file=sys.stderr)
            for sql in statements:
                print(f"BENCH   {sql[:400]}", file=sys.stderr)
        response["X-Bench-Queries"] = str(counts["n"])
        response["X-Bench-DB-ms"] = f"{counts['s'] * 1000:.2f}"
        response["X-Bench-CPU-ms"] = f"{(time.process_time() - cpu0) * 1000:.2f}"
        return response


class BenchEscalationAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "severity", "status", "service", "owner", "raised_at"]
    list_filter = ["severity", "status"]
    list_select_related = ["service", "owner"]  # as anyone would, so the baseline is no straw man
    ordering = ["-raised_at"]


class BenchHistoricalEscalationAdmin(admin.ModelAdmin):
    list_display = ["history_date", "reference", "title", "status", "history_type", "history_user_username"]
    list_filter = ["history_type"]


for model, model_admin in (
    (Escalation, BenchEscalationAdmin),
    (Escalation.history.model, BenchHistoricalEscalationAdmin),
):
    if not admin.site.is_registered(model):
        admin.site.register(model, model_admin)

# Imported after the registrations above: ``admin.site.urls`` is read when the portal's URL conf
# is first imported, and only models registered by then get a changelist.
from escalportal.urls import handler400, handler403, handler404, urlpatterns  # noqa: E402,F401
