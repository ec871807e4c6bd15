#!/usr/bin/env python
"""Lists benchmark: the decision log, the audit trail, the history feed, the read log and the
escalation list at 1,000,000 rows, served by gunicorn as the Procfile runs it, each next to
Django admin's changelist of the same model on the same rows, in one run (issues 13 and 11).

    .venv/bin/python bench/lists.py                      # full size, alone
    .venv/bin/python bench/lists.py --with-load          # and again beside a CPU-bound process
    .venv/bin/python bench/lists.py --scale 0.1 --runs 10    # a quick look while developing

1. A throwaway PostgreSQL and Redis (``tests/servers.py``), ``manage.py migrate``, ``DEBUG=0``:
   the organisation and escalations of ``bench/escalations.py`` (imported, not copied: ~200
   people, three policies through ``policy_save``, 300 escalations raised and acted on through
   the services, the rest cloned with ``bulk_create``).
2. Fixture rows, written with COPY and ``INSERT ... SELECT`` (fixture data, not app behaviour):
   approval requests on those escalations with two decisions each, audit events (a mix of
   actions, reads of sensitive records among them) continuing the HMAC chain with valid hashes
   (verified at the small size; ``--verify-chain`` verifies at the full size too), and
   simple-history rows (five versions per escalation, one per approval request) for the
   history feed. ``VACUUM ANALYZE`` after each growth.
3. First at about 1,000 rows of each, then at the full size (100,000 escalations, 1,000,000
   decisions, 1,000,000 audit events, ~1,000,000 history rows, times ``--scale``): gunicorn
   (``escalportal.wsgi``, 2 workers, ``bench/lists_settings.py``: production settings plus a
   middleware answering ``X-Bench-Queries``, ``X-Bench-DB-ms`` and ``X-Bench-CPU-ms``, and admin
   changelists for the models the portal's admin leaves out). Requests over HTTP from this
   process with session cookies made here: an auditor (a manager for one case) on the portal,
   a superuser on the admin. Each list's first page, a deep page (``DEEP`` below says how it is
   reached) and a filtered page; ``--warmup`` then ``--runs`` interleaved rounds.
4. At the full size the same again beside a CPU-bound process (``--with-load``), then the plan
   (``EXPLAIN (ANALYZE, BUFFERS)``) of the slowest query of every portal page over its aim.
5. Exit status 0 when every aim is met: p95 < 200 ms on every portal page (< 100 ms the
   escalation list and dashboard), the deep page at least 5 times faster than the admin's
   (p50), and the portal's queries per request the same at both sizes and in every run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The organisation and escalations of the escalations benchmark, its plan printer, and the
# process helpers and statistics of the timers benchmark (none has side effects on import).
from escalations import (  # noqa: E402
    PLAN_WORDS,
    explain,
    grow_to,
    load,
    raise_templates,
    request_once,
    seed_org,
    settle,
    start_stack,
)
from timers import Processes, pct, say  # noqa: E402

# How each list's deep page is reached. The lead is moving the decision log, the audit trail,
# the history feed and the read log to keyset pagination with ``?from=YYYY-MM-DD`` (rows at or
# before that date, newest first) and an opaque ``?cursor=`` in the "Older" link; until that is
# on main: "page" (``?page=N``, the middle page), "before" (the trail's ``?before=<seq>``),
# "after" (the history feed's ``?after=<cursor>``), or "from" (the middle row's date).
DEEP = {
    "decision log": "from",
    "audit trail": "before",
    "history feed": "after",
    "read log": "before",
    "escalation list": "from",  # keyset since issue 13 item 1, like the decision log
}
AIM_P95_MS = 200.0
AIM_P95_LIST_MS = 100.0  # the escalation list and dashboard (issue 13, item 3)
AIM_DEEP_RATIO = 5.0  # admin p50 / portal p50 on the deep page
SMALL = 1_000
FULL = {"escalations": 100_000, "decisions": 1_000_000, "audit": 1_000_000, "history": 1_000_000}
PORTAL_PAGE, ADMIN_PAGE = 50, 100
ESCALATION_VERSIONS = 5  # history rows per escalation at the full size
NEXT_LINK = re.compile(r"<a\b[^>]*\brel=\"next\"[^>]*>", re.I)
HREF = re.compile(r"\bhref=\"([^\"]*)\"")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (e.g. 0.1)")
    p.add_argument("--runs", type=int, default=30, help="timed rounds (one request of every page each)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument(
        "--admin-runs", type=int, default=None, help="timed rounds of admin pages (default --runs)"
    )
    p.add_argument("--with-load", action="store_true", help="measure the full size again beside a CPU hog")
    p.add_argument("--templates", type=int, default=100, help="escalations raised through the services")
    p.add_argument("--timeout", type=int, default=30, help="gunicorn --timeout (the Procfile's default: 30)")
    p.add_argument("--verify-chain", action="store_true", help="verify the audit chain at the full size too")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL data directory")
    p.add_argument(
        "--attach",
        metavar="DATABASE_URL",
        help="measure a database this bench already seeded (a kept or still running one) at its size: "
        "no seeding, no 1,000-row pass",
    )
    p.add_argument("--broker-url", default="redis://127.0.0.1:6379/0", help="with --attach")
    p.add_argument("--load-only", action="store_true", help="only the pass beside a CPU-bound process")
    p.add_argument(
        "--slow-ms",
        type=float,
        default=5000,
        help="a page answering slower than this is timed only --slow-runs times (it is far past its aim)",
    )
    p.add_argument("--slow-runs", type=int, default=3)
    args = p.parse_args(argv)
    if not 0 < args.scale <= 1:
        p.error("--scale must be in (0, 1]")
    args.admin_runs = args.runs if args.admin_runs is None else min(args.admin_runs, args.runs)
    args.full = {k: max(SMALL * 2, int(v * args.scale)) for k, v in FULL.items()}
    return args


# --------------------------------------------------------------------------------------------
# Fixture rows: COPY and INSERT ... SELECT (no services, no signals: benchmark data)


def copy_rows(table: str, columns: list[str], rows) -> int:
    from django.db import connection, transaction

    n = 0
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


@dataclass
class World:
    """What the fixture generators draw from, loaded once per growth."""

    escalations: list  # (id, raised_at, reference, title, raiser_id, raiser_person_id, confidential)
    managers: list  # (person id, user id, username, full name): approvers
    manager_of: dict  # person id -> manager person id
    users: list  # (user id, username) of everyone who acts
    auditors: list  # (user id, username)
    now: datetime


def load_world() -> World:
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.contacts.models import Person
    from apps.escalations.models import Escalation

    managers = list(
        Person.objects.filter(authority_rank__gte=50, user__isnull=False).values_list(
            "pk", "user_id", "user__username", "full_name"
        )
    )
    return World(
        escalations=list(
            Escalation.objects.order_by("pk").values_list(
                "pk", "raised_at", "reference", "title", "raiser_id", "raiser_person_id", "confidential"
            )
        ),
        managers=managers,
        manager_of=dict(Person.objects.filter(manager__isnull=False).values_list("pk", "manager_id")),
        users=list(User.objects.filter(is_superuser=False).values_list("pk", "username")),
        auditors=list(User.objects.filter(groups__name="auditor").values_list("pk", "username")),
        now=timezone.now(),
    )


FIRST_OUTCOME = {"rerouted": 40, "rejected": 20, "escalated_around": 5, "approved": 35}
SECOND_OUTCOME = {"approved": 70, "rejected": 15, "appealed": 10, "withdrawn": 5}
STATUS_AFTER = {
    "approved": "approved",
    "rejected": "rejected",
    "appealed": "rejected",
    "withdrawn": "withdrawn",
}


def grow_decisions(w: World, rng: random.Random, total: int) -> str:
    """Approval requests on random escalations (the raiser's manager asked, level 3), each with
    two decisions, until there are ``total`` decisions."""
    from django.db import connection
    from django.db.models import Max

    from apps.approvals.models import ApprovalDecision, ApprovalRequest

    missing = total - ApprovalDecision.objects.count()
    if missing <= 0:
        return "decisions: none to add"
    t0 = time.perf_counter()
    n_req = (missing + 1) // 2
    first_id = (ApprovalRequest.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    by_person = {m[0]: m for m in w.managers}
    requests, decisions = [], []
    out1, w1 = list(FIRST_OUTCOME), list(FIRST_OUTCOME.values())
    out2, w2 = list(SECOND_OUTCOME), list(SECOND_OUTCOME.values())
    latest = w.now - timedelta(minutes=5)
    for i in range(n_req):
        esc_id, raised_at, ref, _title, raiser_id, raiser_person, _conf = rng.choice(w.escalations)
        approver = by_person.get(w.manager_of.get(raiser_person)) or rng.choice(w.managers)
        requested_at = min(latest, raised_at + timedelta(minutes=rng.uniform(10, 2880)))
        first = min(latest, requested_at + timedelta(minutes=rng.uniform(5, 600)))
        second = min(latest, first + timedelta(minutes=rng.uniform(5, 600)))
        o1, o2 = rng.choices(out1, w1)[0], rng.choices(out2, w2)[0]
        req_id = first_id + i
        requests.append(
            (req_id, "executive_level", esc_id, 3, "CTO", "", raiser_id, raiser_person, approver[0],
             "manager", "[]", STATUS_AFTER[o2], 3, requested_at, requested_at + timedelta(hours=4),
             second, "Not enough evidence yet." if o2 == "rejected" else "")
        )  # fmt: skip
        for outcome, at in ((o1, first), (o2, second)):
            if len(decisions) < missing:
                decisions.append(
                    (req_id, outcome, approver[1], approver[2], approver[3], "",
                     "Not enough evidence yet." if outcome == "rejected" else "", at,
                     int((at - requested_at).total_seconds()))
                )  # fmt: skip
    copy_rows(
        ApprovalRequest._meta.db_table,
        ["id", "kind", "escalation_id", "level", "level_name", "change_summary", "requested_by_id",
         "requester_person_id", "approver_id", "route", "excluded", "status", "version", "requested_at",
         "due_at", "decided_at", "reason"],
        requests,
    )  # fmt: skip
    with connection.cursor() as cursor:
        table = ApprovalRequest._meta.db_table
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    copy_rows(
        ApprovalDecision._meta.db_table,
        ["approval_id", "outcome", "decided_by_id", "decided_by_username", "decided_by_name",
         "on_behalf_of_name", "reason", "at", "waited_seconds"],
        decisions,
    )  # fmt: skip
    s = time.perf_counter() - t0
    return f"decisions: {len(requests):,} requests and {len(decisions):,} decisions in {s:.1f}s"


# Audit actions by weight: (code, target kind, weight). Reads of sensitive records are ~12%.
AUDIT_MIX = [
    ("escalations.raised", "esc", 14),
    ("escalations.acknowledged", "esc", 12),
    ("escalations.commented", "esc", 10),
    ("escalations.update_posted", "esc", 8),
    ("escalations.resolved", "esc", 8),
    ("escalations.closed", "esc", 7),
    ("escalations.escalated", "esc", 5),
    ("escalations.handed_off", "esc", 3),
    ("escalations.ack_missed", "esc", 2),
    ("escalations.approval_requested", "esc", 3),
    ("approvals.requested", "req", 4),
    ("approvals.approved", "req", 3),
    ("approvals.rejected", "req", 1),
    ("approvals.rerouted", "req", 2),
    ("escalations.confidential_read", "esc", 6),
    ("approvals.brief_read", "req", 5),
    ("escalations.exported", "none", 1),
    ("approvals.log_exported", "none", 1),
]


class _ChainRow:
    """Just the attributes ``AuditEvent.canonical`` reads: the model's own hashing code runs on
    it, so the rows verify exactly as the app's do, without a model instance per row."""

    __slots__ = ("seq", "occurred_at", "actor_id", "actor_username", "action", "target_type", "target_id",
                 "target_repr", "data", "prev_hash", "escalation_id", "team_id", "confined_to")  # fmt: skip

    def __init__(self, **kw) -> None:
        for k, v in kw.items():
            setattr(self, k, v)


def _bind_chain_methods() -> None:
    from apps.audit.models import AuditEvent

    _ChainRow.canonical = AuditEvent.canonical
    _ChainRow.compute_hash = AuditEvent.compute_hash


def grow_audit(w: World, rng: random.Random, total: int) -> str:
    """Audit events continuing the chain from its head, ``occurred_at`` spread over the last
    year in ``seq`` order, until there are ``total``."""
    from apps.audit.models import GENESIS_HASH, AuditEvent

    missing = total - AuditEvent.objects.count()
    if missing <= 0:
        return "audit: none to add"
    _bind_chain_methods()
    t0 = time.perf_counter()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = head if head else (0, GENESIS_HASH)
    start = w.now - timedelta(days=365)
    span = (w.now - timedelta(minutes=1) - start).total_seconds()
    times = sorted(rng.random() * span for _ in range(missing))
    codes, kinds, weights = zip(*AUDIT_MIX, strict=True)
    cum = list(itertools.accumulate(weights))
    picks = range(len(codes))
    from apps.approvals.models import ApprovalRequest

    req_ids = list(ApprovalRequest.objects.values_list("pk", "escalation_id")[:200_000])
    refs = {e[0]: e for e in w.escalations}

    def rows():
        nonlocal seq, prev
        for offset in times:
            i = rng.choices(picks, cum_weights=cum)[0]
            action, kind = codes[i], kinds[i]
            reading = action.endswith(("_read", "exported"))
            actor_id, actor_username = rng.choice(w.auditors if reading and w.auditors else w.users)
            esc = rng.choice(w.escalations)
            data: dict = {}
            target_type = target_id = target_repr = ""
            escalation_id = None
            if kind == "esc":
                target_type, target_id, target_repr = (
                    "escalations.escalation",
                    str(esc[0]),
                    f"{esc[2]} {esc[3]}",
                )
                escalation_id = esc[0]
                data = {
                    "severity": "sev3",
                    "to_level": 2,
                    "from": "on call",
                    "to": "manager",
                    "owner": "on call",
                }
                if reading:
                    data = {"page": "Escalation"}
            elif kind == "req" and req_ids:
                req_id, esc_id = rng.choice(req_ids)
                esc = refs.get(esc_id, esc)
                target_type, target_id, target_repr = (
                    "approvals.approvalrequest",
                    str(req_id),
                    f"Approval #{req_id}",
                )
                escalation_id = esc_id
                data = {"escalation": esc[2], "level": 3, "approver": "manager", "previous": "backup"}
                if reading:
                    data = {"escalation": esc[2], "brief": req_id, "page": "Executive brief"}
                elif action == "approvals.rejected":
                    data["reason"] = "Not enough evidence yet."
            else:
                data = {"filters": {"severity": "sev1"}, "page": "Export"}
            seq += 1
            row = _ChainRow(
                seq=seq, occurred_at=(start + timedelta(seconds=offset)).replace(tzinfo=UTC),
                actor_id=actor_id, actor_username=actor_username, action=action, target_type=target_type,
                target_id=target_id, target_repr=target_repr, data=data, prev_hash=prev,
                escalation_id=escalation_id, team_id=None, confined_to="",
            )  # fmt: skip
            digest = row.compute_hash()
            yield (seq, row.occurred_at, actor_id, actor_username, action, target_type, target_id, target_repr,
                   json.dumps(data), escalation_id, None, "", prev, digest)  # fmt: skip
            prev = digest

    n = copy_rows(
        AuditEvent._meta.db_table,
        ["seq", "occurred_at", "actor_id", "actor_username", "action", "target_type", "target_id",
         "target_repr", "data", "escalation_id", "team_id", "confined_to", "prev_hash", "hash"],
        rows(),
    )  # fmt: skip
    return f"audit: {n:,} events (hash-chained) in {time.perf_counter() - t0:.1f}s"


HISTORY_OWN = {"history_id", "history_date", "history_change_reason", "history_type", "history_user_id",
               "history_user_username"}  # fmt: skip


def _history_insert(model, select_from: str, overrides: dict[str, str], history: dict[str, str]) -> int:
    """INSERT ... SELECT into ``model``'s history table: every tracked column from ``src`` (the
    row of ``select_from``) unless ``overrides`` gives an SQL expression for it."""
    from django.db import connection, transaction

    hist = model.history.model
    tracked = {f.column for f in model._meta.concrete_fields}
    columns, values = [], []
    for f in hist._meta.concrete_fields:
        if f.column == "history_id":
            continue
        if f.column in HISTORY_OWN:
            values.append(history[f.column])
        elif f.column in tracked:
            values.append(overrides.get(f.column, f"src.{f.column}"))
        else:
            raise SystemExit(f"bench: {hist._meta.db_table}.{f.column} is neither tracked nor history")
        columns.append(f.column)
    sql = f"INSERT INTO {hist._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {select_from}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def grow_history(full: bool) -> str:
    """One '+' row per approval request that has none; at the full size also
    ``ESCALATION_VERSIONS`` versions of every escalation that has none (raised, acknowledged
    twice, resolved, its state now: each version differs from the one before)."""
    from apps.approvals.models import ApprovalRequest
    from apps.escalations.models import Escalation

    t0 = time.perf_counter()
    req_table = ApprovalRequest.history.model._meta.db_table
    n_req = _history_insert(
        ApprovalRequest,
        f"FROM {ApprovalRequest._meta.db_table} src JOIN accounts_user u ON u.id = src.requested_by_id "
        f"WHERE NOT EXISTS (SELECT 1 FROM {req_table} h WHERE h.id = src.id)",
        {"status": "'pending'", "version": "1", "decided_at": "NULL", "reason": "''"},
        {"history_date": "src.requested_at", "history_change_reason": "NULL", "history_type": "'+'",
         "history_user_id": "src.requested_by_id", "history_user_username": "u.username"},
    )  # fmt: skip
    n_esc = 0
    if full:
        esc_table = Escalation.history.model._meta.db_table
        status = "CASE g WHEN 1 THEN 'open' WHEN 2 THEN 'acknowledged' WHEN 3 THEN 'acknowledged' WHEN 4 THEN 'resolved' ELSE src.status END"  # noqa: E501
        at = "LEAST(now(), src.raised_at + (g - 1) * interval '41 minutes')"
        n_esc = _history_insert(
            Escalation,
            f"FROM {Escalation._meta.db_table} src CROSS JOIN generate_series(1, {ESCALATION_VERSIONS}) g "
            f"JOIN accounts_user u ON u.id = src.raiser_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM {esc_table} h WHERE h.id = src.id)",
            {"version": "g", "status": status, "last_update_at": at},
            {"history_date": at, "history_change_reason": "NULL",
             "history_type": "CASE WHEN g = 1 THEN '+' ELSE '~' END",
             "history_user_id": "src.raiser_id", "history_user_username": "u.username"},
        )  # fmt: skip
    return f"history: {n_req:,} request rows, {n_esc:,} escalation rows in {time.perf_counter() - t0:.1f}s"


def sizes() -> dict[str, int]:
    from apps.approvals.models import ApprovalDecision, ApprovalRequest
    from apps.audit.feed import sources
    from apps.audit.labels import read_actions
    from apps.audit.models import AuditEvent
    from apps.escalations.models import Escalation

    return {
        "escalations": Escalation.objects.count(),
        "requests": ApprovalRequest.objects.count(),
        "decisions": ApprovalDecision.objects.count(),
        "audit": AuditEvent.objects.count(),
        "reads": AuditEvent.objects.filter(action__in=read_actions()).count(),
        "history": sum(s.model.history.count() for s in sources()),
    }


def grow(w_rng: random.Random, target: dict[str, int], full: bool) -> dict:
    w = load_world()
    say("seed: " + grow_decisions(w, w_rng, target["decisions"]))
    say("seed: " + grow_audit(w, w_rng, target["audit"]))
    say("seed: " + grow_history(full))
    say(f"seed: {settle()}")
    counts = sizes()
    say(f"seed: rows now {counts}")
    return counts


def verify(limit_s: float | None = None) -> str:
    from apps.audit.services import verify_chain

    t0 = time.perf_counter()
    report = verify_chain()
    took = time.perf_counter() - t0
    if not report.ok:
        raise SystemExit(f"bench: the seeded audit chain does not verify: {report}")
    return f"audit chain verified: {report.checked:,} rows intact in {took:.1f}s"


# --------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(args, env: dict, procs: Processes, log_dir: Path) -> int:
    with open(log_dir / "collectstatic.log", "wb") as log:
        rc = subprocess.call(
            [PY, "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.lists_settings"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if rc:
        raise SystemExit(f"bench: collectstatic failed; see {log_dir / 'collectstatic.log'}")
    port = free_port()
    server_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "bench.lists_settings",
        "DEBUG": "0",
        # The bench signs in with session cookies it makes itself: no second factor asked.
        "OTP_REQUIRED_ROLES": "",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    procs.start(
        "gunicorn",
        [PY, "-m", "gunicorn", "escalportal.wsgi", "--pythonpath", str(ROOT), "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", str(args.timeout), "--access-logfile", "-",
         "--access-logformat", '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'],
        server_env,
    )  # fmt: skip
    t0 = time.monotonic()
    while True:
        dead = procs.dead()
        if dead:
            raise SystemExit(f"bench: gunicorn exited ({dead}); see {log_dir / 'gunicorn.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            break
        except OSError:
            if time.monotonic() - t0 > 60:
                raise SystemExit("bench: gunicorn did not answer in 60s") from None
            time.sleep(0.3)
    say(
        f"gunicorn: 2 workers on 127.0.0.1:{port} (timeout {args.timeout}s), up in {time.monotonic() - t0:.1f}s"
    )
    return port


def session_cookie(user) -> str:
    """A signed-in session made here (``login()`` through the test client, so the session's
    clocks start as on the sign-in form), as the Cookie header gunicorn will read."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class Http:
    """One keep-alive connection per signed-in user. gunicorn's sync worker (the Procfile's)
    closes every connection after its response, so in practice each request connects anew."""

    def __init__(self, port: int, cookie: str, timeout: float) -> None:
        self.port, self.cookie, self.timeout = port, cookie, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, url: str) -> tuple[int, float, dict, str]:
        headers = {"Cookie": self.cookie, "X-Forwarded-Proto": "https", "Accept": "text/html"}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            t0 = time.perf_counter()
            try:
                self.conn.request("GET", url, headers=headers)
                response = self.conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 599, (time.perf_counter() - t0) * 1000, {}, ""
                continue
            except TimeoutError:
                self.conn.close()
                self.conn = None
                return 598, (time.perf_counter() - t0) * 1000, {}, ""
            ms = (time.perf_counter() - t0) * 1000
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, ms, dict(response.getheaders()), body.decode("utf-8", "replace")
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# Pages


@dataclass
class Case:
    lst: str  # "decision log", ...
    page: str  # "first", "deep", "filtered", ...
    side: str  # "portal" or "admin"
    user: str  # "auditor", "manager", "superuser"
    url: str
    runs: int
    status: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    errors: int = 0
    timed_out: bool = False  # gunicorn killed the worker twice: not requested again

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.lst, self.page, self.side, self.user)

    def p(self, q: float) -> float:
        return pct(sorted(self.ms), q)

    @staticmethod
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    @property
    def q(self) -> str:
        qs = sorted(set(self.queries))
        return "-" if not qs else str(qs[0]) if len(qs) == 1 else f"{qs[0]}..{qs[-1]}"

    @property
    def aim_ms(self) -> float | None:
        if self.side != "portal":
            return None
        return AIM_P95_LIST_MS if self.lst == "escalation list" else AIM_P95_MS


@dataclass
class Positions:
    """Where each list's middle is, for its deep page (portal and admin)."""

    decisions: int
    audit_mid: tuple[int, datetime]  # (seq, occurred_at) of the middle event
    reads: int
    reads_mid: tuple[int, datetime]
    history_esc: int
    history_mid: tuple[datetime, int]  # (history_date, history_id) of the middle escalation version
    escalations: int
    escalations_mid: datetime


def positions(auditor) -> Positions:
    from apps.approvals.models import ApprovalDecision
    from apps.audit.labels import read_actions
    from apps.audit.models import AuditEvent
    from apps.escalations.models import Escalation
    from apps.escalations.selectors import for_list

    hist = Escalation.history.model
    audit_n = AuditEvent.objects.count()
    reads = AuditEvent.objects.filter(action__in=read_actions())
    reads_n = reads.count()
    hist_n = hist.objects.count()
    visible = for_list(auditor).count()
    return Positions(
        decisions=ApprovalDecision.objects.count(),
        audit_mid=AuditEvent.objects.order_by("-seq").values_list("seq", "occurred_at")[audit_n // 2],
        reads=reads_n,
        reads_mid=reads.order_by("-seq").values_list("seq", "occurred_at")[reads_n // 2],
        history_esc=hist_n,
        history_mid=hist.objects.order_by("-history_date", "-history_id").values_list(
            "history_date", "history_id"
        )[hist_n // 2],
        escalations=visible,
        escalations_mid=Escalation.objects.order_by("-raised_at").values_list("raised_at", flat=True)[
            visible // 2
        ],
    )


def middle_page(rows: int, per_page: int) -> int:
    return max(1, rows // per_page // 2)


def deep_param(lst: str, pos: Positions) -> str:
    """The deep page's query string for ``lst``, as ``DEEP`` says."""
    mode = DEEP[lst]
    mid = {
        "decision log": (pos.decisions, None),
        "audit trail": (None, pos.audit_mid),
        "history feed": (None, None),
        "read log": (None, pos.reads_mid),
        "escalation list": (pos.escalations, None),
    }[lst]
    if mode == "page":
        return f"page={middle_page(mid[0], PORTAL_PAGE)}"
    if mode == "before":
        return f"before={mid[1][0]}"
    if mode == "after":
        at, hid = pos.history_mid
        return "after=" + quote(f"{at.isoformat()}~escalation~{hid}")
    if mode == "from":
        day = {
            "decision log": None,
            "audit trail": pos.audit_mid[1],
            "history feed": pos.history_mid[0],
            "read log": pos.reads_mid[1],
            "escalation list": pos.escalations_mid,
        }[lst]
        if day is None:
            from apps.approvals.models import ApprovalDecision

            day = ApprovalDecision.objects.order_by("-at").values_list("at", flat=True)[pos.decisions // 2]
        return f"from={day.date().isoformat()}"
    raise SystemExit(f"bench: DEEP[{lst!r}] = {mode!r} is not page, before, after or from")


def build_cases(args, pos: Positions, people: dict) -> list[Case]:
    from apps.audit.labels import read_actions

    auditor_name = people["auditor"].get_full_name()
    reads = ",".join(read_actions())
    a, adm = args.runs, args.admin_runs
    sep = lambda url: "&" if "?" in url else "?"  # noqa: E731
    portal = [
        ("decision log", "/approvals/log/", "outcome=rejected"),
        ("audit trail", "/audit/", "action=escalations.escalated"),
        ("history feed", "/audit/history/", "kind=approval"),
        ("read log", "/audit/reads/", "person=" + quote(auditor_name)),
        ("escalation list", "/escalations/all/", "severity=sev1&state=active"),
    ]
    admin = {
        "decision log": ("/admin/approvals/approvaldecision/", pos.decisions, "outcome__exact=rejected"),
        "audit trail": (
            "/admin/audit/auditevent/",
            pos.audit_mid[0] * 2,
            "action__exact=escalations.escalated",
        ),
        "history feed": (
            "/admin/escalations/historicalescalation/",
            pos.history_esc,
            "history_type__exact=%7E",
        ),
        "read log": (
            "/admin/audit/auditevent/?" + urlencode({"action__in": reads}),
            pos.reads,
            "actor_username=" + quote(people["auditor"].get_username()),
        ),
        "escalation list": (
            "/admin/escalations/escalation/",
            pos.escalations,
            "severity__exact=sev1&status__in=open,acknowledged,awaiting_approval",
        ),
    }
    cases = [Case("escalation list", "dashboard", "portal", "auditor", "/escalations/", a)]
    for lst, url, filtered in portal:
        cases += [
            Case(lst, "first", "portal", "auditor", url, a),
            Case(lst, "deep", "portal", "auditor", f"{url}?{deep_param(lst, pos)}", a),
            Case(lst, "filtered", "portal", "auditor", f"{url}?{filtered}", a),
        ]
        if lst == "decision log":
            cases.append(Case(lst, "first", "portal", "manager", url, a))
        aurl, rows, afilter = admin[lst]
        cases += [
            Case(lst, "first", "admin", "superuser", aurl, adm),
            Case(
                lst, "deep", "admin", "superuser", f"{aurl}{sep(aurl)}p={middle_page(rows, ADMIN_PAGE)}", adm
            ),
            Case(lst, "filtered", "admin", "superuser", f"{aurl}{sep(aurl)}{afilter}", adm),
        ]
    return cases


def older_links(cases: list[Case], clients: dict) -> list[Case]:
    """The "Older" link (``rel="next"``) of each portal deep page, when the page has one: one
    more case per list, so the cursor the page hands out is measured too."""
    extra = []
    for c in cases:
        if c.side != "portal" or c.page != "deep":
            continue
        status, _, _, body = clients[c.user].get(c.url)
        tag = NEXT_LINK.search(body) if status == 200 else None
        href = HREF.search(tag.group(0)) if tag else None
        if href:
            url = unescape(href.group(1))
            if url.startswith("?"):
                url = c.url.split("?")[0] + url
            extra.append(Case(c.lst, "older (from deep)", "portal", c.user, url, c.runs))
    return extra


def measure(cases: list[Case], clients: dict, args, label: str) -> dict:
    """``--warmup`` then ``--runs`` rounds, one request of every case per round (so other load
    on the machine spreads over all of them). Returns the load averages seen."""
    loads = []
    for n in range(-args.warmup, args.runs):
        for c in cases:
            if n >= c.runs or c.timed_out:
                continue
            status, ms, headers, body = clients[c.user].get(c.url)
            if status != 200 and ms >= args.timeout * 1000 * 0.9:
                # The worker ran past gunicorn's timeout and was killed (a 500, or no answer):
                # twice is enough to know, and each costs the whole timeout of every round.
                c.errors += 1
                if c.errors >= 2:
                    c.timed_out = True
                    say(
                        f"{label}: {c.lst} {c.page} ({c.side}) ran past the {args.timeout}s timeout twice: dropped"
                    )
                continue
            if ms > args.slow_ms and c.runs > args.slow_runs:
                c.runs = args.slow_runs
                say(f"{label}: {c.lst} {c.page} ({c.side}) took {ms / 1000:.1f}s: timed {c.runs} times only")
            if n < 0:
                continue
            c.status.append(status)
            if status != 200 or 'name="password"' in body:
                c.errors += 1
                continue
            c.ms.append(ms)
            c.queries.append(int(headers.get("X-Bench-Queries", -1)))
            c.cpu_ms.append(float(headers.get("X-Bench-CPU-ms", "nan")))
            c.db_ms.append(float(headers.get("X-Bench-DB-ms", "nan")))
        if n >= 0:
            loads.append(os.getloadavg()[0])
        if n >= 0 and n % 10 == 9:
            say(f"{label}: {n + 1} of {args.runs} rounds (load {load()})")
    return {"mean_load1": statistics.mean(loads) if loads else float("nan"), "load_end": load()}


def show(v: float) -> str:
    return "-" if v != v else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def print_table(cases: list[Case], title: str, small: dict | None) -> None:
    print(f"\n--- {title}")
    print(
        f"{'list':<16} {'page':<18} {'side':<6} {'user':<9} {'queries':>9} {'p50':>6} {'p95':>6} {'max':>6} "
        f"{'cpu p50':>7} {'db p50':>6} {'n':>3} {'err':>3}  aim"
    )
    for c in cases:
        q = c.q if small is None else f"{small.get(c.key, '-')}/{c.q}"
        print(
            f"{c.lst:<16} {c.page:<18} {c.side:<6} {c.user:<9} {q:>9} {show(c.p(50)):>6} {show(c.p(95)):>6} "
            f"{show(max(c.ms, default=float('nan'))):>6} {show(c.median(c.cpu_ms)):>7} {show(c.median(c.db_ms)):>6} "
            f"{len(c.ms):>3} {c.errors:>3}  {verdict(c)}"
        )
    print(
        "(ms; queries at 1,000 rows/full size where both were measured; cpu and db from the server's "
        "X-Bench headers: the gunicorn worker's CPU time and its time in cursor.execute())",
        flush=True,
    )


def verdict(c: Case) -> str:
    if c.timed_out:
        return "TIMED OUT"
    if c.aim_ms is None:
        return ""
    if c.errors or not c.ms:
        return "ERRORS"
    return "ok" if c.p(95) < c.aim_ms else f"SLOW (aim {c.aim_ms:.0f})"


def ratios(cases: list[Case]) -> list[tuple[str, float, float, float]]:
    """(list, portal p50, admin p50, admin/portal) on the deep page."""
    by = {c.key: c for c in cases}
    out = []
    for lst in DEEP:
        portal, admin = (
            by.get((lst, "deep", "portal", "auditor")),
            by.get((lst, "deep", "admin", "superuser")),
        )
        if portal and admin and portal.ms and admin.ms:
            out.append((lst, portal.p(50), admin.p(50), admin.p(50) / portal.p(50)))
    return out


def print_ratios(rows) -> None:
    print(
        "deep page, admin / portal (p50): "
        + "; ".join(f"{lst} {a:.0f}/{p:.0f} ms = {r:.1f}x" for lst, p, a, r in rows)
    )


def misses_of(cases: list[Case], label: str) -> list[str]:
    misses = [
        f"{label}: {c.lst} {c.page} ({c.user}) p95 {c.p(95):.0f} ms >= {c.aim_ms:.0f}"
        for c in cases
        if c.aim_ms is not None and c.ms and not c.p(95) < c.aim_ms
    ]
    misses += [
        f"{label}: {c.lst} {c.page} ({c.side}) {'timed out' if c.timed_out else f'{c.errors} errors'}"
        for c in cases
        if c.errors and (c.side == "portal" or c.timed_out)
    ]
    misses += [
        f"{label}: {lst} deep page only {r:.1f}x faster than the admin"
        for lst, _, _, r in ratios(cases)
        if r < AIM_DEEP_RATIO
    ]
    misses += [
        f"{label}: {c.lst} {c.page} queries vary between runs ({c.q})"
        for c in cases
        if c.side == "portal" and len(set(c.queries)) > 1
    ]
    return misses


def print_plans(cases: list[Case], people: dict) -> None:
    """The slowest query of every portal page over its aim, run here through the test client
    (same code, same database), with its plan."""
    from django.test import Client

    logged = {}
    for c in cases:
        if c.aim_ms is None or (c.ms and c.p(95) < c.aim_ms and not c.errors):
            continue
        if c.user not in logged:
            logged[c.user] = Client()
            logged[c.user].force_login(people[c.user])
        try:
            ms, cpu, queries = request_once(logged[c.user], c.url, 60.0)
        except BaseException as exc:  # noqa: BLE001 - a page that fails here is reported, not fatal
            print(f"\n--- {c.lst} {c.page}: could not be fetched in-process ({exc!r})")
            continue
        db = sum(float(q["time"]) for q in queries) * 1000
        slowest = max(queries, key=lambda q: float(q["time"])) if queries else None
        print(
            f"\n--- {c.lst} {c.page} ({c.user}) {c.url}: p95 {c.p(95):.0f} ms over HTTP; in-process {ms:.0f} ms, "
            f"{len(queries)} queries, {db:.0f} ms in the database, cpu {cpu:.0f} ms"
        )
        if slowest is None or float(slowest["time"]) * 1000 < 20:
            print("    (no query over 20 ms: the time is in Python, templates and rendering)")
            continue
        print(f"    slowest query ({float(slowest['time']) * 1000:.0f} ms): {slowest['sql'][:600]}")
        plan = explain(slowest["sql"])
        shown = [line for i, line in enumerate(plan) if i < 2 or any(w in line for w in PLAN_WORDS)]
        for line in (shown if len(plan) > 30 else plan)[:30]:
            print("    " + line)
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# Main


def attach_stack(args, work: Path) -> dict:
    """The environment of ``start_stack`` for a database seeded earlier (``--attach``): no
    servers started, no migrate; a fresh secret (the sessions are made anew)."""
    import secrets

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=args.attach,
        CELERY_BROKER_URL=args.broker_url,
        ESCALPORTAL_VAR_DIR=str(work / "var"),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return env


def bench_users(org) -> dict:
    """Who the pages are requested as: the auditor of ``escalations.py``'s organisation, a
    team's manager, and a superuser for the admin (made once)."""
    from apps.accounts.models import User

    superuser = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench-admin@example.com", None
    )
    return {
        "auditor": org.measured["auditor"] if org else User.objects.get(username="auditor0"),
        "manager": User.objects.get(username="payments-mgr"),
        "superuser": superuser,
    }


def run(args) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "var" / "bench" / f"lists-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    say(
        f"lists: scale {args.scale} -> {args.full}; work dir {work}; logs in {log_dir.relative_to(ROOT)}; load {load()}"
    )
    rng = random.Random(args.seed)
    misses: list[str] = []
    with contextlib.ExitStack() as cleanup:
        if not args.keep:
            cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        if args.attach:
            env = attach_stack(args, work)
            people, small_q, seeding, counts = bench_users(None), {}, {}, sizes()
            say(f"attached to {args.attach}: {counts}")
            procs = Processes(log_dir)
            cleanup.callback(procs.stop)
            port = start_gunicorn(args, env, procs, log_dir)
            clients = {label: Http(port, session_cookie(u), args.timeout + 5) for label, u in people.items()}
        else:
            stack_args = argparse.Namespace(stack="postgres", sweep_interval=1)
            env, _ = start_stack(stack_args, cleanup, work, log_dir)

            t0 = time.perf_counter()
            org = seed_org(rng)
            raise_templates(org, rng, args.templates)
            grow_to(org, rng, SMALL)
            grow(rng, {"decisions": SMALL, "audit": SMALL}, full=False)
            say(verify())
            seeding = {"small_s": round(time.perf_counter() - t0, 1)}
            people = bench_users(org)
            procs = Processes(log_dir)
            cleanup.callback(procs.stop)
            port = start_gunicorn(args, env, procs, log_dir)
            clients = {label: Http(port, session_cookie(u), args.timeout + 5) for label, u in people.items()}

            pos = positions(people["auditor"])
            small_cases = build_cases(args, pos, people)
            small_cases += older_links(small_cases, clients)
            small_args = argparse.Namespace(**{**vars(args), "runs": min(args.runs, 10)})
            measure(small_cases, clients, small_args, "small")
            print_table(small_cases, f"at about 1,000 rows: {sizes()} (load {load()})", None)
            small_q = {c.key: c.q for c in small_cases}

            t1 = time.perf_counter()
            grow_to(org, rng, args.full["escalations"])
            counts = grow(rng, args.full, full=True)
            seeding["grow_s"] = round(time.perf_counter() - t1, 1)
            if args.verify_chain:
                say(verify())
        pos = positions(people["auditor"])
        passes = ([] if args.load_only else [("alone", False)]) + (
            [("with load", True)] if args.with_load or args.load_only else []
        )
        results = []
        for label, hog in passes:
            cases = build_cases(args, pos, people)
            cases += older_links(cases, clients)
            hog_proc = None
            if hog:
                hog_proc = procs.start("cpu-hog", [PY, "-c", "while 1: pass"], env)
                time.sleep(5)
            try:
                seen = measure(cases, clients, args, label)
            finally:
                if hog_proc is not None:
                    hog_proc.terminate()
                    hog_proc.wait(timeout=10)
            title = f"full size, {label}: {counts}; mean 1-min load average {seen['mean_load1']:.1f} (now {seen['load_end']})"
            print_table(cases, title, small_q)
            print_ratios(ratios(cases))
            misses += misses_of(cases, label)
            results.append(cases)
        for c in results[0] if results else []:
            if c.side == "portal" and c.key in small_q and small_q[c.key] != c.q:
                misses.append(
                    f"{c.lst} {c.page} ({c.user}): {small_q[c.key]} queries at 1,000 rows, {c.q} at full size"
                )
        slow = {
            c.key: c
            for cases in results
            for c in cases
            if c.aim_ms is not None and (c.errors or not c.p(95) < c.aim_ms)
        }
        if slow:
            print_plans(list(slow.values()), people)
        gunicorn_log = (log_dir / "gunicorn.log").read_text(errors="replace")
        print(
            f"\n=== lists: scale {args.scale}, seeding {seeding}, {os.cpu_count()} CPUs; gunicorn log: "
            f"{gunicorn_log.count('[CRITICAL]')} critical, {gunicorn_log.count('Traceback')} tracebacks, "
            f"{gunicorn_log.count('WORKER TIMEOUT')} worker timeouts"
        )
        print(
            "result: " + ("all aims met" if not misses else "MISSED:\n  " + "\n  ".join(misses)), flush=True
        )
    if args.keep:
        say(f"kept {work}")
    return 0 if not misses else 1


def _raise_interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    os.chdir(ROOT)
    try:
        return run(args)
    except KeyboardInterrupt:
        say("interrupted; everything started has been stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
