#!/usr/bin/env python
"""Escalations benchmark: what the dashboard and the list cost at 100,000 escalations, and how
late 1,000 acknowledge deadlines falling due at the same moment are handled by real workers.

    .venv/bin/python bench/escalations.py                        # PostgreSQL + Redis, 100,000 rows
    .venv/bin/python bench/escalations.py --stack sqlite         # SQLite (WAL) + the embedded broker
    .venv/bin/python bench/escalations.py --count 5000 --runs 10 --skip-timers   # a quick look

1. A fresh database (``postgres``: the throwaway PostgreSQL and Redis servers of
   ``tests/servers.py``; ``sqlite``: a SQLite file and kombu's SQLAlchemy broker on another,
   under ``var/bench/``), ``manage.py migrate`` with ``tests.settings`` (locmem email, the fast
   password hasher) and ``DEBUG=0``, as production runs.
2. A realistic organisation: five teams with weekly on-call rotations, backups and managers,
   ~200 people with contact methods, five services, three policies saved through
   ``policy_save``. Then ``--templates`` escalations raised (and some acknowledged, resolved,
   closed or withdrawn) through the real services, and the rest *cloned* from them with
   ``bulk_create``: new references, ``raised_at`` spread over a year, status by age,
   varied severity, service, owner and raiser, with guardian rows for raiser and owner,
   timeline events and deadline rows. ``bulk_create`` bypasses simple-history and the audit
   chain on purpose: this is fixture data for a benchmark, not something the app does.
3. Pages through Django's test client (``force_login``) for four users: a staff member who
   raises a lot, one who has raised twice (the worst case for "sees only own"), a responder
   (sees everything not confidential) and an auditor. Each URL ``--runs`` times after
   ``--warmup`` runs, interleaved; queries per request (must not vary between runs, nor between
   1,000 and ``--count`` escalations: both sizes are measured) and p50/p95/max milliseconds, with
   the CPU time of this process and the time spent in the database. A query still running after
   ``--request-limit`` seconds is interrupted and its page reported as timed out. On PostgreSQL
   ``VACUUM ANALYZE`` runs after each growth (what autovacuum would have done by then); SQLite
   is measured as deployed, without ``ANALYZE``. The plans of the list's main query follow
   (``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL), and of every page's slowest query when it
   spends 20 ms or more in the database.
4. Timers (unless ``--skip-timers``): ``--worker-procs`` Celery workers and exactly one beat
   as subprocesses (logs under ``var/bench/``), ``--timer-count`` escalations raised through
   ``escalation_raise``, then their acknowledge deadlines all moved with
   ``deadline_reschedule`` to one instant ``--timer-lead`` seconds ahead. The first miss
   calls in the owner's backup (every on-call engineer has one), which writes timeline and
   audit events and queues notifications (delivered by the same workers: realistic load).
   Lateness from the due time to the claim (``Deadline.fired_at``), to the handler's effect
   (the ``ack_missed`` timeline event), to its commit and to the backup's notification being
   sent; lost (no ``ack_missed`` by due + ``--grace``) and duplicated (more than one); what
   the sweep did meanwhile.
5. A summary; exit status 0 when query counts are constant, p95 < 150 ms on PostgreSQL for
   every page, no page timed out, and no deadline was lost or duplicated; 1 otherwise.

The machine's load average is printed with the figures: other work on it shows up in them.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The process helpers and statistics of the timers benchmark (no side effects on import).
from timers import (  # noqa: E402
    HeartbeatSampler,
    Processes,
    broker_backlog_probe,
    fmt_ms,
    log_problems,
    pct,
    say,
)

STACKS = ("postgres", "sqlite")
AIM_P95_MS = 150.0  # PostgreSQL only
SMALL = 1_000  # the first size measured; query counts must match at --count
SUBJECT_TYPE = "escalations.escalation"


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", choices=STACKS, default="postgres")
    p.add_argument("--count", type=int, default=100_000, help="escalations at the second size")
    p.add_argument("--templates", type=int, default=300, help="escalations raised through the services")
    p.add_argument("--runs", type=int, default=50, help="timed requests per page and user")
    p.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    p.add_argument(
        "--request-limit", type=float, default=10.0, help="seconds before a page's query is interrupted"
    )
    p.add_argument("--skip-timers", action="store_true", help="pages only: no workers, no deadlines")
    p.add_argument("--timer-count", type=int, default=1000, help="acknowledge deadlines due at once")
    p.add_argument("--timer-lead", type=float, default=20.0, help="seconds from rescheduling to due")
    p.add_argument("--grace", type=float, default=120.0, help="seconds to wait after the due time")
    p.add_argument("--worker-procs", type=int, default=2, help="celery worker processes")
    p.add_argument("--workers", type=int, default=1, help="pool processes per worker (--concurrency)")
    p.add_argument("--sweep-interval", type=int, default=1, help="TIMERS_SWEEP_INTERVAL (s)")
    p.add_argument(
        "--sweeper",
        action="store_true",
        help="one more worker for the timers queue alone (-Q timers), the others -Q celery (the Procfile's layout)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the database (and PostgreSQL data dir)")
    args = p.parse_args(argv)
    if args.count < SMALL:
        p.error(f"--count must be at least {SMALL:,} (the first size measured)")
    if not 20 <= args.templates <= SMALL:
        p.error(f"--templates must be between 20 and {SMALL:,}")
    return args


NAN = float("nan")


def show_ms(v: float) -> str:
    """Milliseconds for the tables: '-' for no figure, 't/o' for a request that timed out."""
    return "-" if v != v else "t/o" if v == float("inf") else f"{v:.1f}"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# --------------------------------------------------------------------------------------------
# Servers, schema, Django


def start_stack(args, cleanup: contextlib.ExitStack, work: Path, log_dir: Path) -> tuple[dict, str]:
    """Start the servers, migrate, set up Django in this process; (environment, broker URL)."""
    if args.stack == "postgres":
        sys.path.insert(0, str(ROOT))
        from tests.servers import PostgresServer, RedisServer

        pg = PostgresServer(work / "pg")
        cleanup.callback(pg.stop)
        pg.start()
        database_url = pg.create_database("bench_escalations")
        rd = RedisServer(work / "redis")
        cleanup.callback(rd.stop)
        rd.start()
        broker_url = rd.url(db=0)
    else:
        database_url = f"sqlite:///{work}/escalportal.sqlite3"
        broker_url = f"sqlalchemy+sqlite:///{work}/broker.sqlite3"
    say(f"{args.stack}: DATABASE_URL={database_url} CELERY_BROKER_URL={broker_url}")

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        ESCALPORTAL_VAR_DIR=str(work / "var"),
        # Production-like: no debug cursor or template debugging; the test client's host.
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        TIMERS_SWEEP_INTERVAL=str(args.sweep_interval),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    os.environ.clear()
    os.environ.update(env)  # before django.setup(): settings read the environment

    t0 = time.monotonic()
    with open(log_dir / "migrate.log", "wb") as log:
        rc = subprocess.call(
            [PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if rc:
        raise SystemExit(f"bench: migrate failed ({rc}); see {log_dir / 'migrate.log'}")
    say(f"{args.stack}: migrated in {time.monotonic() - t0:.1f}s")

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    import escalportal.celery  # noqa: F401 - the Celery app tasks are queued through

    cleanup.callback(connection.close)
    return env, broker_url


# --------------------------------------------------------------------------------------------
# The organisation

TEAMS = [
    # slug, name, service (name, slug, customer tier)
    ("platform", "Platform Operations", ("Identity", "identity", "premium")),
    ("payments", "Payments", ("Payments API", "payments-api", "premium")),
    ("security", "Security", ("Web checkout", "web-checkout", "standard")),
    ("customer", "Customer Success", ("Customer portal", "customer-portal", "standard")),
    ("data", "Data Platform", ("Reporting", "reporting", "basic")),
]
FIRST = "Ada Ben Cara Dev Eli Fay Gus Hana Ivo Jun Kai Lea Max Nia Oto Pia Raj Sol Tea Uma Vic Wen Yan Zoe".split()
LAST = "Abbott Bello Chen Dube Evans Fischer Garcia Haddad Ito Jensen Kowalski Lind Moreau Novak Okafor Patel".split()
RESPONDERS_PER_TEAM = 6
STAFF_PER_TEAM = 30
ACK = {
    "sev1": timedelta(minutes=15),
    "sev2": timedelta(minutes=30),
    "sev3": timedelta(hours=4),
    "sev4": timedelta(days=1),
}
RESOLVE = {
    "sev1": timedelta(hours=4),
    "sev2": timedelta(hours=8),
    "sev3": timedelta(days=3),
    "sev4": timedelta(days=10),
}
SEVERITY_WEIGHTS = {"sev1": 5, "sev2": 20, "sev3": 45, "sev4": 30}
FIELDS = {
    "title": "Card payments failing for premium customers",
    "criticality": "mission_critical",
    "nature_of_risk": "Payment authorisations time out under load.",
    "who_is_impacted": "Premium merchants in the EU.",
    "impact": "Lost revenue, contractual penalties.",
    "situation": "Error rate at 12% and climbing.",
    "background": "Started after the 14:00 deploy.",
    "assessment": "Connection pool exhaustion in the gateway.",
    "recommendation": "Roll back the deploy; page the gateway owner.",
}
TITLES = [
    "Card payments failing for premium customers",
    "Login latency above SLO in the EU region",
    "Nightly reporting export missing rows",
    "Suspicious admin logins from an unknown network",
    "Checkout page errors after the release",
    "Customer data request overdue",
    "Certificate expiring on the public API",
    "Vendor outage affecting SMS delivery",
]


@dataclass
class Org:
    services: list
    raiser_pool: list  # users, repeated by how often they raise
    responders: dict  # team id -> [Person] (who a team's on-call level may reach)
    person_of: dict  # user id -> Person
    measured: dict  # label -> the user whose pages are measured
    template_ids: list = field(default_factory=list)  # raised through the services


def org_chart() -> list[tuple[str, str, int, list[str], str | None]]:
    """(username, title, authority rank, roles, team slug) for everyone."""
    people = [
        ("ceo", "Chief Executive Officer", 100, ["executive"], None),
        ("cto", "Chief Technology Officer", 90, ["executive"], None),
        ("coo", "Chief Operating Officer", 90, ["executive"], None),
    ]
    for slug, *_ in TEAMS:
        people.append((f"{slug}-mgr", "Engineering manager", 50, ["manager", "responder"], slug))
        people += [
            (f"{slug}-oncall{i}", "Engineer", 20, ["responder"], slug) for i in range(RESPONDERS_PER_TEAM)
        ]
        people += [(f"{slug}-staff{i}", "Analyst", 10, ["staff"], slug) for i in range(STAFF_PER_TEAM)]
    people += [(f"auditor{i}", "Internal auditor", 40, ["auditor"], None) for i in range(3)]
    people += [("hr", "HR officer", 40, ["hr_compliance"], None)]
    people += [("govadmin", "Governance administrator", 40, ["governance_admin"], None)]
    return people


def create_people(teams: dict) -> tuple[dict, dict]:
    """Users with their roles and people with contact methods, in bulk (fixture data: no
    history rows); executives, then managers, then everyone else, each managed by the last."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from apps.accounts.models import User
    from apps.contacts.models import ContactMethod, Person

    chart = org_chart()
    groups = {g.name: g for g in Group.objects.all()}
    names = iter(f"{first} {last}" for last in LAST for first in FIRST)
    full_name = {u: next(names) for u, *_ in chart}
    password = make_password(None)  # unusable: the bench logs in with force_login
    users = User.objects.bulk_create(
        [
            User(username=u, first_name=full_name[u].split()[0], last_name=full_name[u].split()[1],
                 email=f"{u}@example.com", password=password)
            for u, *_ in chart
        ]
    )  # fmt: skip
    user = {u.username: u for u in users}
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=user[u].pk, group_id=groups[r].pk)
            for u, _, _, roles, _ in chart
            for r in roles
        ]
    )

    def make(u, title, rank, team, manager) -> Person:
        return Person(
            user=user[u], full_name=full_name[u], email=f"{u}@example.com", title=title,
            authority_rank=rank, team=teams.get(team), manager=manager,
        )  # fmt: skip

    people = {
        p.user.username: p
        for p in Person.objects.bulk_create([make(u, t, r, None, None) for u, t, r, *_ in chart[:1]])
    }
    people |= {
        p.user.username: p
        for p in Person.objects.bulk_create(
            [make(u, t, r, None, people["ceo"]) for u, t, r, *_ in chart[1:3]]
        )
    }
    boss = {slug: people["coo" if slug == "customer" else "cto"] for slug, *_ in TEAMS}
    managers = [make(u, t, r, team, boss[team]) for u, t, r, _, team in chart if u.endswith("-mgr")]
    people |= {p.user.username: p for p in Person.objects.bulk_create(managers)}
    rest = [
        make(u, t, r, team, people[f"{team}-mgr"] if team else people["coo"])
        for u, t, r, _, team in chart
        if u not in people
    ]
    people |= {p.user.username: p for p in Person.objects.bulk_create(rest)}
    methods = [ContactMethod(person=p, kind="email", value=p.email, priority=1) for p in people.values()]
    methods += [
        ContactMethod(person=p, kind="phone", value="+447700900123", priority=2)
        for p in people.values()
        if p.authority_rank >= 20
    ]
    ContactMethod.objects.bulk_create(methods)
    return user, people


def create_on_call(teams: dict, people: dict) -> dict:
    """A weekly primary rotation of each team's engineers; every engineer (and the manager) has
    a backup. Returns team id -> engineers."""
    from apps.contacts.models import BackupAssignment, Rotation, RotationMember

    responders = {}
    for slug, team in teams.items():
        members = [people[f"{slug}-oncall{i}"] for i in range(RESPONDERS_PER_TEAM)]
        responders[team.pk] = members
        rotation = Rotation.objects.create(
            team=team,
            name="Primary",
            shift_hours=168,
            handoff_time=clock_time(9, 0),
            starts_on=date(2026, 1, 5),
        )
        RotationMember.objects.bulk_create(
            [RotationMember(rotation=rotation, person=p, position=i) for i, p in enumerate(members, start=1)]
        )
        backups = [(p, members[(i + 1) % len(members)]) for i, p in enumerate(members)]
        backups.append((people[f"{slug}-mgr"], members[0]))
        BackupAssignment.objects.bulk_create(
            [BackupAssignment(person=p, backup=b, starts_on=date(2026, 1, 1)) for p, b in backups]
        )
    return responders


def seed_org(rng: random.Random) -> Org:
    """Teams, ~200 people, rotations and backups (bulk), then the calendar and the policies
    through the real services."""
    from apps.contacts.models import Team
    from apps.policies.models import Service

    teams = {
        slug: Team.objects.create(name=name, slug=slug, description=f"{name}: escalation benchmark")
        for slug, name, _ in TEAMS
    }
    user, people = create_people(teams)
    responders = create_on_call(teams, people)
    services = [
        Service.objects.create(name=name, slug=sslug, owner_team=teams[slug], customer_tier=tier)
        for slug, _, (name, sslug, tier) in TEAMS
    ]
    managers = {slug: people[f"{slug}-mgr"] for slug in teams}
    policies = save_policies(teams, managers, people, services, user["govadmin"])

    frequent, rare = user["customer-staff0"], user["customer-staff1"]
    pool = [u for name, u in user.items() if "-staff" in name and u not in (frequent, rare)]
    pool += [user[f"{slug}-oncall1"] for slug in teams]  # engineers raise too
    pool += [frequent] * max(1, len(pool) // 30)  # ~3% of all escalations: their page 50 exists
    rng.shuffle(pool)
    say(
        f"org: {len(people)} people in {len(teams)} teams, {len(services)} services, {len(policies)} policies"
    )
    return Org(
        services=services,
        raiser_pool=pool,
        responders=responders,
        person_of={p.user_id: p for p in people.values()},
        measured={
            "staff": frequent,
            "staff-rare": rare,
            "responder": user["payments-oncall0"],
            "auditor": user["auditor0"],
        },
    )


def save_policies(teams, managers, people, services, actor) -> dict:
    """A 24x7 calendar and three policies through the real services: on call of a team, then
    its manager, then an executive behind the approval gate; thresholds by severity (ACK)."""
    from apps.policies.models import BusinessCalendar, CustomerTier, EscalationPolicy
    from apps.policies.services import LevelSpec, ThresholdSpec, calendar_save, policy_save

    calendar = calendar_save(
        calendar=BusinessCalendar(name="24x7", timezone="UTC", always_open=True, weekly_hours={}),
        actor=actor,
        reason="Round-the-clock calendar for incidents",
    )
    thresholds = [
        ThresholdSpec(sev, tier.value, ACK[sev], RESOLVE[sev]) for sev in ACK for tier in CustomerTier
    ]
    everyone = ["staff", "responder", "manager"]

    def chain(team: str, exec_: str) -> list:
        return [
            LevelSpec(1, "On call", "team_on_call", 20, target_team=teams[team], trigger_roles=everyone),
            LevelSpec(2, "Engineering manager", "person", 50, target_person=managers[team], trigger_roles=everyone),
            LevelSpec(
                3, exec_.upper(), "person", 90, target_person=people[exec_], requires_approval=True,
                trigger_roles=["manager"],
            ),
        ]  # fmt: skip

    specs = [
        ("Production incidents", "operational", "payments", "cto", services[:3]),
        ("Platform incidents", "operational", "platform", "cto", services[3:]),
        ("Security incidents", "security", "security", "cto", services),
    ]
    policies = {}
    for name, category, team, exec_, covered in specs:
        policy = EscalationPolicy(
            name=name,
            slug=name.lower().replace(" ", "-"),
            category=category,
            description=f"{name}: who is called, in what order.",
            owner=managers[team],
            calendar=calendar,
            de_escalation_criteria=["Service restored", "Customers told"],
            next_review_on=date.today() + timedelta(days=180),
        )
        policies[name] = policy_save(
            policy=policy,
            levels=chain(team, exec_),
            thresholds=thresholds,
            services=covered,
            actor=actor,
            reason="Initial version of the policy",
        )
    return policies


# --------------------------------------------------------------------------------------------
# Escalations: raised through the services, then cloned


def raise_fields(rng: random.Random, now: datetime) -> dict:
    return {**FIELDS, "title": rng.choice(TITLES), "impact_expected_at": now + timedelta(hours=1)}


def raise_real(
    org: Org, rng: random.Random, *, service, severity: str, raiser, category: str = "operational"
):
    from django.utils import timezone

    from apps.escalations.services import escalation_raise

    return escalation_raise(
        actor=raiser,
        service=service,
        category=category,
        severity=severity,
        fields=raise_fields(rng, timezone.now()),
        confidential=rng.random() < 0.03,
    )


def raise_templates(org: Org, rng: random.Random, n: int) -> list:
    """``n`` escalations through the real services, every service x severity, in the states the
    clones will copy; sev1/sev2 are resolved at once so no short clock fires during the run."""
    from apps.escalations import services as svc

    combos = [(s, sev) for s in org.services for sev in ACK]
    raised = []
    t0 = time.perf_counter()
    for i in range(n):
        service, severity = combos[i % len(combos)]
        raiser = org.measured["staff-rare"] if i in (3, 7) else rng.choice(org.raiser_pool)
        category = "security" if rng.random() < 0.25 else "operational"
        esc = raise_real(org, rng, service=service, severity=severity, raiser=raiser, category=category)
        owner = esc.owner.user
        roll = rng.random()
        if severity in ("sev1", "sev2") or roll < 0.5:
            esc = svc.escalation_acknowledge(escalation=esc, actor=owner)
        if severity in ("sev1", "sev2"):
            esc = svc.escalation_resolve(
                escalation=esc,
                actor=owner,
                summary="Rolled back; error rate back to normal.",
                criteria_confirmed=esc.criteria,
            )
            if roll < 0.5:
                esc = svc.escalation_close(escalation=esc, actor=raiser)
        elif roll > 0.95:
            esc = svc.escalation_withdraw(escalation=esc, actor=raiser, reason="Raised in error, sorry.")
        raised.append(esc)
    org.template_ids = [esc.pk for esc in raised]
    seconds = time.perf_counter() - t0
    say(
        f"seed: {n} escalations raised (and acted on) through the services in {seconds:.1f}s = {n / seconds:.0f}/s"
    )
    return raised


@dataclass
class Fixture:
    """What the cloner needs, loaded once."""

    templates: dict  # (service id, severity) -> [Escalation]
    view_perm_id: int
    user_of_person: dict  # person id -> user id
    now: datetime


def load_fixture(org: Org) -> Fixture:
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from apps.contacts.models import Person
    from apps.escalations.models import Escalation

    templates: dict[tuple, list] = defaultdict(list)
    for esc in Escalation.objects.filter(pk__in=org.template_ids):
        templates[(esc.service_id, esc.severity)].append(esc)
    perm = Permission.objects.get(codename="view_escalation", content_type__app_label="escalations")
    return Fixture(
        templates=dict(templates),
        view_perm_id=perm.pk,
        user_of_person=dict(Person.objects.filter(user__isnull=False).values_list("pk", "user_id")),
        now=timezone.now(),
    )


def status_for(rng: random.Random, age: timedelta) -> str:
    """Recent ones are mostly still active, older ones closed (auto-close after 72 h)."""
    if age < timedelta(days=1):
        table = {"open": 35, "acknowledged": 40, "awaiting_approval": 5, "resolved": 15, "withdrawn": 5}
    elif age < timedelta(days=3):
        table = {"acknowledged": 25, "resolved": 35, "closed": 35, "withdrawn": 5}
    else:
        table = {"closed": 93, "withdrawn": 7}
    return rng.choices(list(table), weights=list(table.values()))[0]


COPIED = None  # the Escalation fields a clone copies from its template (set on first use)


def clone(fx: Fixture, org: Org, rng: random.Random, raised_at: datetime, reference: str):
    """An Escalation copied from a template of a random service and severity, made consistent
    with its own (random) raise time, status, level, owner and raiser."""
    global COPIED
    from apps.escalations.models import Escalation

    if COPIED is None:
        skip = {"id", "reference", "updated_at"}
        COPIED = [f.attname for f in Escalation._meta.concrete_fields if f.attname not in skip]
    service = rng.choice(org.services)
    severity = rng.choices(list(SEVERITY_WEIGHTS), weights=list(SEVERITY_WEIGHTS.values()))[0]
    tpl = rng.choice(fx.templates[(service.pk, severity)])
    esc = Escalation(**{a: getattr(tpl, a) for a in COPIED}, reference=reference)
    raiser = rng.choice(org.raiser_pool)
    esc.raiser_id, esc.raiser_person_id = raiser.pk, org.person_of[raiser.pk].pk
    esc.title = rng.choice(TITLES)
    esc.confidential = rng.random() < 0.03
    esc.raised_at = raised_at
    esc.detected_at = raised_at - timedelta(minutes=rng.randint(1, 90))
    esc.impact_expected_at = raised_at + timedelta(hours=1)
    esc.last_update_at = raised_at
    esc.current_level = rng.choices([1, 2, 3], weights=[82, 15, 3])[0]
    level = esc.level()
    esc.owner_id = (
        rng.choice(org.responders[level.target_team]).pk
        if level.target_kind == "team_on_call"
        else level.target_person
    )
    status = status_for(rng, fx.now - raised_at)
    esc.status, esc.version = status, rng.randint(2, 6)
    esc.ack_misses, esc.pending_level, esc.resume_status = 0, None, ""
    esc.acknowledged_at = esc.resolved_at = esc.closed_at = esc.resolve_breached_at = None
    esc.resolution_summary, esc.criteria_confirmed = "", []
    esc.ack_due_at = esc.next_due_at = None
    esc.resolve_due_at = raised_at + RESOLVE[severity]
    later = lambda start, lo, hi: min(fx.now, start + timedelta(minutes=rng.uniform(lo, hi)))  # noqa: E731
    if status == "open":
        # Active clocks lie ahead (never inside the run: no pending clone deadline fires).
        esc.ack_due_at = esc.next_due_at = fx.now + timedelta(hours=rng.uniform(6, 72))
        esc.resolve_due_at = esc.ack_due_at + RESOLVE[severity]
    elif status in ("acknowledged", "awaiting_approval"):
        esc.acknowledged_at = later(raised_at, 2, 60)
        esc.resolve_due_at = esc.next_due_at = fx.now + timedelta(hours=rng.uniform(6, 120))
        if status == "awaiting_approval":
            esc.current_level, esc.pending_level, esc.resume_status = 2, 3, "acknowledged"
            esc.owner_id = esc.level(2).target_person
    elif status in ("resolved", "closed"):
        esc.acknowledged_at = later(raised_at, 2, 60)
        esc.resolved_at = later(esc.acknowledged_at, 30, 2880)
        esc.resolution_summary, esc.criteria_confirmed = (
            "Fixed and verified with the customer.",
            list(esc.criteria),
        )
        if status == "closed":
            esc.closed_at = later(esc.resolved_at, 10, 4320)
    else:  # withdrawn
        esc.closed_at = later(raised_at, 10, 1440)
    return esc


def related_rows(fx: Fixture, esc) -> tuple[list, list, list]:
    """Guardian rows (raiser, owner), timeline events and deadline rows of one clone."""
    from apps.escalations.models import EscalationUserObjectPermission, TimelineEvent
    from apps.escalations.services import ACK_DUE, RESOLVE_DUE
    from apps.timers.models import Deadline

    owner_user = fx.user_of_person.get(esc.owner_id)
    perms = [
        EscalationUserObjectPermission(permission_id=fx.view_perm_id, user_id=uid, content_object_id=esc.pk)
        for uid in {esc.raiser_id, owner_user} - {None}
    ]
    ev = lambda kind, at, msg, **kw: TimelineEvent(  # noqa: E731
        escalation_id=esc.pk, kind=kind, at=at, level=esc.current_level, message=msg, **kw
    )
    events = [
        ev(
            "raised",
            esc.raised_at,
            "Raised (benchmark clone).",
            actor_id=esc.raiser_id,
            actor_username="raiser",
        ),
        ev("level_reached", esc.raised_at, "Level reached (benchmark clone).", data={"owner": esc.owner_id}),
    ]
    if esc.acknowledged_at:
        events.append(
            ev(
                "acknowledged",
                esc.acknowledged_at,
                "Acknowledged.",
                actor_id=owner_user,
                actor_username="owner",
            )
        )
    if esc.resolved_at:
        events.append(
            ev(
                "resolved",
                esc.resolved_at,
                esc.resolution_summary,
                actor_id=owner_user,
                actor_username="owner",
            )
        )
    if esc.closed_at:
        events.append(ev(esc.status, esc.closed_at, "Closed." if esc.status == "closed" else "Withdrawn."))
    subject = {"subject_type": SUBJECT_TYPE, "subject_id": str(esc.pk)}
    ack_due = esc.ack_due_at or esc.raised_at + timedelta(minutes=30)
    ack_done = esc.acknowledged_at or esc.closed_at
    resolve_done = esc.resolved_at or esc.closed_at
    deadlines = [
        Deadline(
            kind=ACK_DUE, due_at=ack_due, next_attempt_at=ack_due, payload={"level": esc.current_level, "owner": esc.owner_id},
            cancelled_at=ack_done, token=2 if ack_done else 1, **subject,
        ),
        Deadline(
            kind=RESOLVE_DUE, due_at=esc.resolve_due_at, next_attempt_at=esc.resolve_due_at,
            cancelled_at=resolve_done, token=2 if resolve_done else 1, **subject,
        ),
    ]  # fmt: skip
    return perms, events, deadlines


def grow_to(org: Org, rng: random.Random, total: int, batch: int = 2000) -> float:
    """Clone until there are ``total`` escalations; seconds taken."""
    from django.db import transaction
    from django.db.models import Max

    from apps.escalations.models import (
        Escalation,
        EscalationUserObjectPermission,
        ReferenceCounter,
        TimelineEvent,
    )
    from apps.timers.models import Deadline

    missing = total - Escalation.objects.count()
    if missing <= 0:
        return 0.0
    t0 = time.perf_counter()
    fx = load_fixture(org)
    year_ago = fx.now - timedelta(days=365)
    times = sorted(year_ago + (fx.now - year_ago) * rng.random() for _ in range(missing))
    last = dict(ReferenceCounter.objects.values_list("year", "last"))
    counts = Counter()
    for lo in range(0, missing, batch):
        escs = []
        for raised_at in times[lo : lo + batch]:
            year = raised_at.year
            counts[year] += 1
            escs.append(clone(fx, org, rng, raised_at, f"ESC-{year}-{last.get(year, 0) + counts[year]:05d}"))
        with transaction.atomic():
            Escalation.objects.bulk_create(escs)  # no history, no audit: benchmark fixture data
            rows = [related_rows(fx, esc) for esc in escs]
            EscalationUserObjectPermission.objects.bulk_create([p for r in rows for p in r[0]])
            TimelineEvent.objects.bulk_create([e for r in rows for e in r[1]])
            Deadline.objects.bulk_create([d for r in rows for d in r[2]])
        if (lo // batch) % 10 == 9:
            say(f"seed: {lo + len(escs):,} of {missing:,} cloned")
    for year, n in counts.items():
        ReferenceCounter.objects.update_or_create(year=year, defaults={"last": last.get(year, 0) + n})
    seconds = time.perf_counter() - t0
    top = Escalation.objects.aggregate(Max("pk"))["pk__max"]
    say(f"seed: cloned {missing:,} escalations in {seconds:.1f}s = {missing / seconds:,.0f}/s (max id {top})")
    return seconds


def settle() -> str:
    """Fresh planner statistics and visibility map on PostgreSQL (what autovacuum would have
    done by the time a real portal had this many rows); nothing on SQLite (as deployed)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return "no ANALYZE (as deployed)"
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return f"VACUUM ANALYZE {time.perf_counter() - t0:.1f}s"


def table_sizes() -> dict[str, int]:
    from apps.audit.models import AuditEvent
    from apps.escalations.models import Escalation, EscalationUserObjectPermission, TimelineEvent
    from apps.notifications.models import Notification
    from apps.timers.models import Deadline

    models = {
        "escalations": Escalation,
        "guardian rows": EscalationUserObjectPermission,
        "timeline events": TimelineEvent,
        "deadlines": Deadline,
        "notifications": Notification,
        "audit events": AuditEvent,
    }
    return {name: m.objects.count() for name, m in models.items()}


# --------------------------------------------------------------------------------------------
# Pages


def pages() -> list[tuple[str, str]]:
    from django.urls import reverse

    listing = reverse("escalations:list")
    return [
        ("dashboard", reverse("escalations:dashboard")),
        ("list", listing),
        ("list sev1+active", f"{listing}?severity=sev1&state=active"),
        ("list page 50", f"{listing}?page=50"),
        ("list by -next_due", f"{listing}?sort=-next_due_at"),
    ]


@dataclass
class PageResult:
    page: str
    user: str
    url: str
    visible: int  # escalations the user may see
    queries: list[int] = field(default_factory=list)  # per timed run
    ms: list[float] = field(default_factory=list)  # wall clock
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU (Django, templates)
    db_ms: list[float] = field(default_factory=list)  # in cursor.execute()
    slowest_sql: str = ""
    list_sql: str = ""
    timed_out: bool = False
    limit_s: float = 0.0

    @property
    def constant(self) -> bool:
        return len(set(self.queries)) <= 1

    @property
    def q(self) -> str:
        """Queries per request, or why there is no figure."""
        return "t/o" if self.timed_out and not self.queries else str(self.queries[0]) if self.queries else "-"

    def p(self, q: float) -> float:
        return pct(sorted(self.ms), q) if not self.timed_out else float("inf")

    def median(self, values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


class TimedOut(Exception):
    """A request ran past ``--request-limit``; its query was interrupted."""


def request_once(client, url: str, limit_s: float) -> tuple[float, float, list[dict]]:
    """(wall ms, CPU ms, captured queries) of one GET that must answer 200. A query still
    running after ``limit_s`` is interrupted from a timer thread (SQLite ``interrupt()``,
    PostgreSQL cancel) and ``TimedOut`` raised: one pathological page must not stall the run."""
    from django.db import DatabaseError, connection
    from django.test.utils import CaptureQueriesContext

    connection.ensure_connection()
    raw = connection.connection
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        raw.interrupt() if connection.vendor == "sqlite" else raw.cancel()

    timer = threading.Timer(limit_s, interrupt)
    timer.daemon = True
    connection.queries_log.clear()  # a full log (9,000) would make the capture come back empty
    try:
        with CaptureQueriesContext(connection) as ctx:
            c0, t0 = time.process_time(), time.perf_counter()
            timer.start()
            response = client.get(url)
            ms, cpu_ms = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    except DatabaseError:
        if fired.is_set():
            raise TimedOut(ctx.captured_queries) from None  # the last one is the interrupted query
        raise
    finally:
        timer.cancel()
    if response.status_code != 200:
        raise SystemExit(f"bench: GET {url} answered {response.status_code}")
    return ms, cpu_ms, ctx.captured_queries


def measure_pages(org: Org, args) -> list[PageResult]:
    """Every page for every user, ``--warmup`` then ``--runs`` rounds. Interleaved (one request
    of each case per round) so that load from elsewhere on the machine spreads over all cases
    instead of spoiling one. A case that times out once is not requested again."""
    from django.test import Client

    from apps.escalations.selectors import for_list

    # An interrupted page is reported here; Django's own traceback for it would only be noise.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    cases = []
    for label, user in org.measured.items():
        client = Client()
        client.force_login(user)
        visible = for_list(user).count()
        cases += [(client, PageResult(page, label, url, visible)) for page, url in pages()]
    for n in range(-args.warmup, args.runs):
        for client, r in cases:
            if r.timed_out:
                continue
            try:
                ms, cpu_ms, queries = request_once(client, r.url, args.request_limit)
            except TimedOut as exc:
                r.timed_out, r.limit_s = True, args.request_limit
                r.slowest_sql = exc.args[0][-1]["sql"] if exc.args[0] else ""
                say(
                    f"pages: {r.page} for {r.user} timed out after {args.request_limit:.0f}s; not requested again"
                )
                continue
            if n < 0:
                continue  # warm-up
            r.ms.append(ms)
            r.cpu_ms.append(cpu_ms)
            r.queries.append(len(queries))
            r.db_ms.append(sum(float(q["time"]) for q in queries) * 1000)
            r.slowest_sql = max(queries, key=lambda q: float(q["time"]))["sql"] if queries else ""
            r.list_sql = next((q["sql"] for q in queries if is_list_query(q["sql"])), "")
        if n >= 0 and n % 10 == 9:
            say(f"pages: {n + 1} of {args.runs} rounds (load {load()})")
    return [r for _, r in cases]


def is_list_query(sql: str) -> bool:
    return 'FROM "escalations_escalation"' in sql and "LIMIT" in sql and "COUNT(" not in sql


def print_pages(results: list[PageResult], n_rows: int) -> None:
    print(f"\n--- pages at {n_rows:,} escalations (load average {load()})")
    print(
        f"{'page':<18} {'user':<11} {'sees':>7} {'queries':>7} {'const':>5} {'p50':>6} {'p95':>6} {'max':>6} "
        f"{'cpu p50':>7} {'db p50':>6}"
    )
    for r in results:
        print(
            f"{r.page:<18} {r.user:<11} {r.visible:>7,} {r.q:>7} {'yes' if r.constant else 'NO':>5} "
            f"{show_ms(r.p(50)):>6} {show_ms(r.p(95)):>6} {show_ms(max(r.ms, default=NAN)):>6} {show_ms(r.median(r.cpu_ms)):>7} "
            f"{show_ms(r.median(r.db_ms)):>6}"
        )
    print(
        "(ms, wall clock; 'cpu' is this process's CPU time (Django, templates, the driver), which other "
        "load on the machine disturbs less; 'db' the time in cursor.execute() of the captured queries: on "
        "SQLite rows are produced while fetching, so it undercounts there)",
        flush=True,
    )


def explain(sql: str, analyze: bool = True) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") + sql)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [row[-1] for row in cursor.fetchall()]


PLAN_WORDS = (
    "Scan",
    "Sort",
    "Limit",
    "SubPlan",
    "Semi Join",
    "Index Cond",
    "Filter:",
    "Rows Removed",
    "Time:",
)


DB_SLOW_MS = 20.0  # a page whose queries take this long (median) gets its slowest query explained


def print_plans(results: list[PageResult], aim_applies: bool, lines: int = 24) -> None:
    """The plan of the list's main query for the staff users (index use for "sees only own"),
    and of the slowest query of every page spending ``DB_SLOW_MS`` or more in the database.
    A page over the aim with little database time says so: its time goes elsewhere."""
    chosen = {
        r.list_sql: (r, "list query") for r in results if r.page == "list" and r.user.startswith("staff")
    }
    for r in results:
        db = r.median(r.db_ms)
        if r.timed_out:
            chosen.setdefault(r.slowest_sql, (r, f"interrupted after {r.limit_s:.0f}s: plan without ANALYZE"))
        elif db >= DB_SLOW_MS:
            chosen.setdefault(r.slowest_sql, (r, f"slowest query, db p50 {db:.0f} ms"))
        elif aim_applies and r.p(95) >= AIM_P95_MS:
            print(
                f"\n--- {r.page}, {r.user}: p95 {r.p(95):.0f} ms, but only {db:.0f} ms of its p50 "
                f"{r.p(50):.0f} ms in the database (cpu p50 {r.median(r.cpu_ms):.0f} ms)"
            )
    for sql, (r, what) in chosen.items():
        if not sql:
            continue
        print(f"\n--- plan: {r.page}, {r.user} ({what}); WHERE … " + sql[sql.find(" WHERE ") + 7 :][:400])
        plan = explain(sql, analyze=not r.timed_out)
        # The nodes that show index use (or its absence), the filters and the timings.
        if len(plan) > lines:
            shown = [line for i, line in enumerate(plan) if i < 2 or any(w in line for w in PLAN_WORDS)]
        else:
            shown = plan
        for line in shown[:lines]:
            print("    " + line)
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# Timers: 1,000 acknowledge deadlines due at the same moment


def handler_cost(org: Org, rng: random.Random, n: int = 5) -> dict:
    """What one missed acknowledgement costs (queries, ms), fired here before any worker runs:
    ``n`` escalations raised, their deadline made due in place (no ETA task), fired in turn."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apps.escalations.services import ACK_DUE
    from apps.timers.models import Deadline
    from apps.timers.services import Outcome, deadline_fire

    queries, ms = [], []
    for i in range(n):
        esc = raise_real(
            org, rng, service=org.services[i % 2], severity="sev3", raiser=rng.choice(org.raiser_pool)
        )
        deadline = Deadline.objects.get(
            kind=ACK_DUE, subject_type=SUBJECT_TYPE, subject_id=str(esc.pk), fired_at=None, cancelled_at=None
        )
        past = timezone.now() - timedelta(seconds=1)
        Deadline.objects.filter(pk=deadline.pk).update(due_at=past, next_attempt_at=past)
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            outcome = deadline_fire(deadline_id=deadline.pk).outcome
            ms.append((time.perf_counter() - t0) * 1000)
        if outcome != Outcome.FIRED:
            raise SystemExit(f"bench: calibration deadline {deadline.pk} was {outcome}, not fired")
        queries.append(len(ctx.captured_queries))
    return {"n": n, "queries": statistics.median(queries), "ms": statistics.median(ms)}


def start_workers(args, env: dict, procs: Processes, backlog) -> None:
    from apps.timers.models import SweepHeartbeat

    celery = [PY, "-m", "celery", "-A", "escalportal"]
    queues = ["--queues=celery"] if args.sweeper else []
    for n in range(args.worker_procs):
        procs.start(
            f"worker{n + 1}",
            [
                *celery,
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={args.workers}",
                f"--hostname=bench{n + 1}@%h",
                *queues,
            ],
            env,
        )
    if args.sweeper:
        procs.start(
            "sweeper",
            [
                *celery,
                "worker",
                "--loglevel=WARNING",
                "--concurrency=1",
                "--queues=timers",
                "--hostname=sweeper@%h",
            ],
            env,
        )
    procs.start("beat", [*celery, "beat", "--loglevel=WARNING"], env)
    SweepHeartbeat.objects.all().delete()
    t0 = time.monotonic()
    # What seeding queued (deliveries, ETA tasks) goes first; a sweep queued behind it expires
    # (after two intervals) unrun, so the heartbeat can only be expected once that is drained.
    left = wait_drained(backlog, procs, limit=600)
    say(f"timers: the queue left by seeding drained to {left} in {time.monotonic() - t0:.0f}s")
    t1 = time.monotonic()
    while not SweepHeartbeat.objects.filter(name="sweep").exists():
        check_alive(procs)
        if time.monotonic() - t1 > 90:
            raise SystemExit(f"bench: no sweep heartbeat after 90s; see {procs.log_dir}")
        time.sleep(0.25)
    say(
        f"timers: {args.worker_procs} workers x {args.workers}{' and a sweeper' if args.sweeper else ''} "
        f"and one beat up after {time.monotonic() - t0:.1f}s"
    )


def check_alive(procs: Processes) -> None:
    dead = procs.dead()
    if dead:
        raise SystemExit(f"bench: {', '.join(f'{n} exited ({rc})' for n, rc in dead)}; see {procs.log_dir}")


def wait_drained(backlog, procs: Processes, limit: float = 180.0) -> int:
    """Let the workers deliver what the raises queued; the messages still waiting."""
    t0 = time.monotonic()
    waiting, _ = backlog()
    while waiting and time.monotonic() - t0 < limit:
        check_alive(procs)
        time.sleep(1)
        waiting, _ = backlog()
    return waiting


def run_timers(args, env: dict, log_dir: Path, broker_url: str, org: Org, rng: random.Random) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from apps.escalations.models import Escalation
    from apps.escalations.services import ACK_DUE
    from apps.timers.models import Deadline
    from apps.timers.services import deadline_reschedule

    handler = handler_cost(org, rng)
    say(
        f"timers: one acknowledge-missed handler in this process: {handler['queries']} queries, "
        f"{handler['ms']:.0f} ms (median of {handler['n']})"
    )
    procs = Processes(log_dir)
    try:
        backlog = broker_backlog_probe(broker_url)
        say(f"timers: broker backlog {backlog()[0]} (queued while seeding, delivered now)")
        start_workers(args, env, procs, backlog)

        # 1. Raise them through the service (sev3: nothing else falls due for hours).
        staff = [u for u in org.raiser_pool if "-staff" in u.username]
        t0 = time.perf_counter()
        ids = [
            raise_real(
                org,
                rng,
                service=org.services[i % len(org.services)],
                severity="sev3",
                raiser=rng.choice(staff),
            ).pk
            for i in range(args.timer_count)
        ]
        raise_s = time.perf_counter() - t0
        say(f"timers: raised {len(ids)} in {raise_s:.1f}s = {len(ids) / raise_s:.0f}/s; load {load()}")
        left = wait_drained(backlog, procs)
        say(f"timers: broker backlog {left} before rescheduling")

        # 2. Every acknowledge deadline to one instant (and the escalations' own due time,
        # shown on their pages: a fixture update, no history).
        t1 = time.perf_counter()
        due = timezone.now() + timedelta(seconds=args.timer_lead)
        with transaction.atomic():
            deadlines = list(
                Deadline.objects.filter(
                    kind=ACK_DUE, subject_type=SUBJECT_TYPE, subject_id__in=[str(i) for i in ids],
                    fired_at=None, cancelled_at=None,
                )
            )  # fmt: skip
            moved = sum(deadline_reschedule(deadline=d, due_at=due) for d in deadlines)
            Escalation.objects.filter(pk__in=ids).update(ack_due_at=due, next_due_at=due)
        margin = (due - timezone.now()).total_seconds()
        say(
            f"timers: {moved} acknowledge deadlines moved to {due:%H:%M:%S.%f} in "
            f"{time.perf_counter() - t1:.1f}s; due in {margin:.1f}s"
        )
        if moved != len(ids):
            say(f"timers: WARNING {len(ids) - moved} escalations had no pending acknowledge deadline")
        sampler = HeartbeatSampler()  # how many the sweep fired (approximate: summed heartbeats)
        sampler.start()
        try:
            w = watch(args, procs, backlog, ids, due)
            time.sleep(3)  # let a duplicate, if one is coming, commit
        finally:
            sampler.stop()
        result = timer_figures(ids, [d.pk for d in deadlines], due, w)
        end = timezone.now()
        sweeps = sampler.between(due, end)
        runs = sorted(sweeps)
        result["sweep_fired"] = sum(f for f, _ in sweeps.values())
        result["sweeps_seen"] = len(sweeps)
        # /healthz fails when the last sweep is older than three intervals.
        result["sweep_max_gap_s"] = max(
            (b - a).total_seconds() for a, b in zip([due, *runs], [*runs, end], strict=True)
        )
        samples = w.samples
        result.update(
            raise_per_s=len(ids) / raise_s,
            margin_s=margin,
            handler=handler,
            sweep_interval=args.sweep_interval,
            load_avg=round(statistics.mean(s["load1"] for s in samples), 1) if samples else float("nan"),
            backlog_at_due=next((s["waiting"] for s in samples if s["t"] >= 0), None),
        )
    finally:
        procs.stop()
    result["log_problems"] = log_problems(log_dir)
    result["log_dir"] = str(log_dir)
    return result


@dataclass
class Watch:
    """What the bench saw while the deadlines fired, sampled every half second."""

    samples: list = field(default_factory=list)
    seen_at: dict = field(default_factory=dict)  # escalation id -> first poll that saw its ack_missed
    lock_waits: Counter = field(default_factory=Counter)  # PostgreSQL wait events of other sessions


def lock_waits() -> Counter:
    """Sessions waiting on a lock right now, by what they wait for (PostgreSQL only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return Counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wait_event, count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() GROUP BY wait_event"
        )
        return Counter(dict(cursor.fetchall()))


def watch(args, procs: Processes, backlog, ids: list[int], due: datetime) -> Watch:
    """Poll until every escalation has its ack_missed event and its backup's notification is
    out of the outbox, or until due + grace."""
    from django.utils import timezone

    from apps.escalations.models import TimelineEvent
    from apps.notifications.models import Notification

    w = Watch()
    end_by = due + timedelta(seconds=args.grace)
    next_print = time.monotonic()
    told = Notification.objects.filter(
        subject_type=SUBJECT_TYPE,
        subject_id__in=[str(i) for i in ids],
        template="escalation_assigned",
        created_at__gte=due - timedelta(seconds=1),
    ).exclude(status="pending")
    while True:
        check_alive(procs)
        now = timezone.now()
        for esc_id in TimelineEvent.objects.filter(escalation_id__in=ids, kind="ack_missed").values_list(
            "escalation_id", flat=True
        ):
            w.seen_at.setdefault(esc_id, now)
        done, delivered, (waiting, _) = len(w.seen_at), told.count(), backlog()
        w.lock_waits += lock_waits()
        t = (now - due).total_seconds()
        w.samples.append({"t": round(t, 1), "done": done, "waiting": waiting, "load1": os.getloadavg()[0]})
        if time.monotonic() >= next_print:
            next_print += 5
            say(
                f"timers: t={t:+6.1f}s ack_missed {done:>5}/{len(ids)}  backup told {delivered:>5}  "
                f"broker waiting {waiting}  load {load()}"
            )
        if (done >= len(ids) and delivered >= len(ids) and t > 0) or now > end_by:
            return w
        time.sleep(0.5)


def timer_figures(ids: list[int], deadline_ids: list[int], due: datetime, w: Watch) -> dict:
    from apps.escalations.models import Escalation, TimelineEvent
    from apps.notifications.models import Notification
    from apps.timers.models import Deadline

    fired = dict(Deadline.objects.filter(pk__in=deadline_ids).values_list("subject_id", "fired_at"))
    events: dict[int, list[datetime]] = defaultdict(list)
    for esc_id, at in TimelineEvent.objects.filter(escalation_id__in=ids, kind="ack_missed").values_list(
        "escalation_id", "at"
    ):
        events[esc_id].append(at)
    told: dict[str, datetime | None] = {}
    for subject_id, sent_at in Notification.objects.filter(
        subject_type=SUBJECT_TYPE,
        subject_id__in=[str(i) for i in ids],
        template="escalation_assigned",
        created_at__gte=due - timedelta(seconds=1),
    ).values_list("subject_id", "sent_at"):
        told[subject_id] = sent_at
    backup_owns = Escalation.objects.filter(pk__in=ids, ack_misses=1).count()

    def late_ms(values) -> list[float]:
        return sorted((v - due).total_seconds() * 1000 for v in values if v is not None)

    def summary(values: list[float]) -> dict:
        return {q: pct(values, n) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))} | {
            "max": values[-1] if values else float("nan"),
            "n": len(values),
        }

    effects = sorted(min(v) for v in events.values())
    span = (effects[-1] - effects[0]).total_seconds() if len(effects) > 1 else 0.0
    return {
        "count": len(ids),
        "lost": sum(1 for i in ids if not events.get(i) or fired.get(str(i)) is None),
        "duplicated": sum(1 for i in ids if len(events.get(i, [])) > 1),
        "backup_owns": backup_owns,
        "claimed_ms": summary(late_ms(fired.values())),
        "effect_ms": summary(late_ms(effects)),
        "visible_ms": summary(late_ms(w.seen_at.values())),
        "told_ms": summary(late_ms(told.values())),
        "told_unsent": sum(1 for v in told.values() if v is None) + len(ids) - len(told),
        "handled_per_s": len(effects) / span if span else float("nan"),
        "lock_waits": dict(w.lock_waits.most_common()),
    }


def print_timers(r: dict) -> None:
    def line(name: str, s: dict) -> str:
        return (
            f"  {name:<28} n={s['n']:<5} p50 {fmt_ms(s['p50'])}  p95 {fmt_ms(s['p95'])}  "
            f"p99 {fmt_ms(s['p99'])}  max {fmt_ms(s['max'])} ms"
        )

    print(
        "\n".join(
            [
                f"\n--- timers: {r['count']} acknowledge deadlines due at once (raised at {r['raise_per_s']:.0f}/s; "
                f"moved {r['margin_s']:.1f}s before due; broker backlog at due {r['backlog_at_due']})",
                line("claimed (fired_at - due)", r["claimed_ms"]),
                line("handled (ack_missed.at - due)", r["effect_ms"]),
                line("committed (seen by bench)", r["visible_ms"]) + "  (polled every 0.5 s)",
                line("backup told (sent_at - due)", r["told_ms"]) + f"  (not sent {r['told_unsent']})",
                f"  one handler alone: {r['handler']['queries']:.0f} queries, {r['handler']['ms']:.0f} ms; "
                f"handled {fmt_ms(r['handled_per_s'])}/s from first to last",
                f"  sweep: ~{r['sweep_fired']} fired by it (the rest by ETA tasks), {r['sweeps_seen']} sweeps seen "
                f"from the due time on, longest gap without one {r['sweep_max_gap_s']:.1f}s "
                f"(/healthz fails beyond {3 * r['sweep_interval']}s)",
                f"  sessions seen waiting on locks (0.5 s samples, by wait event): {r['lock_waits'] or 'none'}",
                f"  lost {r['lost']}  duplicated {r['duplicated']}  now owned by the backup {r['backup_owns']}",
                f"  worker/beat logs {r['log_problems']} ({r['log_dir']})",
                f"  mean 1-min load average while firing {r['load_avg']}",
            ]
        ),
        flush=True,
    )


# --------------------------------------------------------------------------------------------
# Summary


def compare(small: list[PageResult], big: list[PageResult], n_small: int) -> list[dict]:
    """Per page and user: queries at both sizes, and whether the aims are met."""
    rows = []
    for s, b in zip(small, big, strict=True):
        # Page 50 past the end at the small size shows the last page (one query more): not a leak.
        past_end = s.page == "list page 50" and s.visible <= 49 * 50
        unknown = past_end or s.timed_out or b.timed_out
        rows.append(
            {
                "page": b.page,
                "user": b.user,
                "q_small": s.q,
                "q_big": b.q,
                "same": "n/a" if unknown else ("yes" if s.q == b.q else "NO"),
                "constant": s.constant and b.constant,
                "timed_out": s.timed_out or b.timed_out,
                "p50": b.p(50),
                "p95": b.p(95),
                "max": max(b.ms, default=NAN),
                "cpu": b.median(b.cpu_ms),
            }
        )
    return rows


def verdicts(stack: str, rows: list[dict], timers: dict | None) -> list[str]:
    misses = []
    if any(r["same"] == "NO" or not r["constant"] for r in rows):
        misses.append("query counts vary")
    if stack == "postgres":
        slow = [f"{r['page']}/{r['user']}" for r in rows if not r["p95"] < AIM_P95_MS]
        if slow:
            misses.append(f"p95 >= {AIM_P95_MS:.0f} ms: {', '.join(slow)}")
    timed_out = [f"{r['page']}/{r['user']}" for r in rows if r["timed_out"]]
    if timed_out:
        misses.append(f"timed out: {', '.join(timed_out)}")
    if timers is not None and (timers["lost"] or timers["duplicated"]):
        misses.append(f"timers lost {timers['lost']} duplicated {timers['duplicated']}")
    return misses


def print_summary(args, rows: list[dict], timers: dict | None, seeding: dict, misses: list[str]) -> None:
    print(
        f"\n=== summary: {args.stack}, {SMALL:,} and {args.count:,} escalations, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(f"    seeding {seeding}; machine {os.cpu_count()} CPUs, load average now {load()}")
    print(
        f"{'page':<18} {'user':<11} {'queries':>9} {'same':>4} {'const':>5} {'p50':>6} {'p95':>6} {'max':>6} "
        f"{'cpu p50':>7}  aim"
    )
    for r in rows:
        aim = (
            "TIMED OUT"
            if r["timed_out"]
            else ""
            if args.stack != "postgres"
            else "ok"
            if r["p95"] < AIM_P95_MS
            else "SLOW"
        )
        print(
            f"{r['page']:<18} {r['user']:<11} {r['q_small']:>4}/{r['q_big']:<4} {r['same']:>4} "
            f"{'yes' if r['constant'] else 'NO':>5} {show_ms(r['p50']):>6} {show_ms(r['p95']):>6} {show_ms(r['max']):>6} "
            f"{show_ms(r['cpu']):>7}  {aim}"
        )
    print(
        f"(queries at {SMALL:,}/{args.count:,}; ms at {args.count:,}; aim p95 < {AIM_P95_MS:.0f} ms on PostgreSQL)"
    )
    if timers is not None:
        e, t = timers["effect_ms"], timers["told_ms"]
        print(
            f"timers: {timers['count']} ack deadlines at once: effect p50 {fmt_ms(e['p50'])} p95 {fmt_ms(e['p95'])} "
            f"p99 {fmt_ms(e['p99'])} max {fmt_ms(e['max'])} ms; backup told p99 {fmt_ms(t['p99'])} max "
            f"{fmt_ms(t['max'])} ms; lost {timers['lost']}, duplicated {timers['duplicated']}"
        )
    print("result: " + ("all aims met" if not misses else "MISSED: " + "; ".join(misses)), flush=True)


# --------------------------------------------------------------------------------------------
# Main


def run(args) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "var" / "bench" / f"escalations-{args.stack}-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    # SQLite lives under var/bench/ with the logs; PostgreSQL's data dir in the temp dir.
    work = log_dir if args.stack == "sqlite" else Path(tempfile.mkdtemp(prefix="bench-escalations-"))
    say(f"{args.stack}: work dir {work}, logs in {log_dir.relative_to(ROOT)}; load average {load()}")
    rng = random.Random(args.seed)
    with contextlib.ExitStack() as cleanup:
        if not args.keep:
            if args.stack == "sqlite":
                cleanup.callback(lambda: [p.unlink(missing_ok=True) for p in work.glob("*.sqlite3*")])
            else:
                cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        env, broker_url = start_stack(args, cleanup, work, log_dir)

        t0 = time.perf_counter()
        org = seed_org(rng)
        raise_templates(org, rng, args.templates)
        grow_to(org, rng, SMALL)
        seeding = {"small_s": round(time.perf_counter() - t0, 1)}
        say(f"seed: {SMALL:,} escalations in {seeding['small_s']}s; {settle()}; {table_sizes()}")
        gc.collect()
        small = measure_pages(org, args)
        print_pages(small, SMALL)

        t1 = time.perf_counter()
        grow_to(org, rng, args.count)
        seeding["grow_s"] = round(time.perf_counter() - t1, 1)
        say(f"seed: grown to {args.count:,} in {seeding['grow_s']}s; {settle()}; {table_sizes()}")
        gc.collect()
        big = measure_pages(org, args)
        print_pages(big, args.count)
        print_plans(big, aim_applies=args.stack == "postgres")

        timers = None
        if not args.skip_timers:
            timers = run_timers(args, env, log_dir, broker_url, org, rng)
            print_timers(timers)
        rows = compare(small, big, SMALL)
        misses = verdicts(args.stack, rows, timers)
        print_summary(args, rows, timers, seeding, misses)
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
