#!/usr/bin/env python
"""Timers benchmark: how late, how lost, how duplicated are deadlines under real workers?

    .venv/bin/python bench/timers.py [--stack embedded|postgres-redis|both] [--count 10000]
                                     [--spread 180] [--workers 2]

For each stack it starts throwaway servers (``embedded``: SQLite (WAL) for data plus kombu's
SQLAlchemy broker on another SQLite file, as ``make run`` does; ``postgres-redis``: the
PostgreSQL and Redis servers of ``tests/servers.py``), migrates, starts real Celery workers and
exactly one beat as subprocesses (logs kept under ``var/bench/``), schedules ``--count`` probe
deadlines (``tests.probe``) due uniformly over ``--spread`` seconds starting ``--lead`` seconds
ahead, waits for them, and reports per-deadline lateness (``ProbeHit.fired_at - due_at``, both
by the database's clock), lost and duplicated firings, and how many the sweep fired (summed
from the sweep heartbeat, sampled every 0.2 s, so approximate).

``--stack both`` runs each stack in a child process of this script (Django can be set up only
once per process) and prints the table comparing them at the end. Everything started is
stopped on exit, Ctrl-C or error. Experiment with ``--sweep-interval``, ``--sweep-batch``,
``--workers``, ``--worker-procs``, ``--pool``, ``--worker-arg=...`` and ``--env KEY=VALUE``.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import random
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
STACKS = ("embedded", "postgres-redis")
AIM_P99_MS = {"embedded": 2000, "postgres-redis": 1000}
TABLE_HEADER = (
    f"{'stack':<16} {'count':>6} {'lost':>5} {'dup':>4} {'p50_ms':>7} {'p95_ms':>7} {'p99_ms':>7} "
    f"{'max_ms':>7} {'sched/s':>8} {'sweep%':>6} {'gap_s':>5} {'cap/core':>8} {'load':>4} {'hog':>3}  aim"
)


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", choices=[*STACKS, "both"], default="both")
    p.add_argument("--count", type=int, default=10_000, help="deadlines to schedule")
    p.add_argument("--spread", type=float, default=180.0, help="seconds the due times cover")
    p.add_argument(
        "--lead",
        type=float,
        default=None,
        help="seconds from the start of scheduling to the first due time (default: "
        "enough to schedule them all at the rate a calibration batch showed, and 10+)",
    )
    p.add_argument("--grace", type=float, default=30.0, help="seconds to wait after the last due time")
    p.add_argument("--workers", type=int, default=2, help="pool processes per worker (--concurrency)")
    p.add_argument("--worker-procs", type=int, default=1, help="celery worker processes")
    p.add_argument("--pool", default="prefork", help="worker --pool (prefork, threads, solo, ...)")
    p.add_argument(
        "--worker-arg",
        action="append",
        default=[],
        help="extra argument for each worker, e.g. --worker-arg=--prefetch-multiplier=4",
    )
    p.add_argument(
        "--extra-worker",
        action="append",
        default=[],
        metavar="ARGS",
        help="start one more worker with these arguments, e.g. '-Q timers --concurrency=1'",
    )
    p.add_argument(
        "--no-sweeper",
        dest="sweeper",
        action="store_false",
        help="no dedicated sweeper: the workers take both queues (default: as the Procfile, the "
        "workers take 'celery' and one 'sweeper' worker with one process takes 'timers')",
    )
    p.add_argument("--sweep-interval", type=int, default=1, help="TIMERS_SWEEP_INTERVAL (s)")
    p.add_argument("--sweep-batch", type=int, default=None, help="TIMERS_SWEEP_BATCH (default: settings)")
    p.add_argument("--txn", type=int, default=500, help="deadlines per scheduling transaction")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the bench, workers and beat",
    )
    p.add_argument("--seed", type=int, default=1)
    add_with_load(p)
    p.add_argument("--keep", action="store_true", help="keep the temporary databases")
    p.add_argument("--json-out", help="also write the results here (used by --stack both)")
    args = p.parse_args(argv)
    for item in args.env:
        if "=" not in item:
            p.error(f"--env {item!r}: expected KEY=VALUE")
    return args


def child_argv(args: argparse.Namespace, stack: str, json_out: str) -> list[str]:
    argv = [
        PY,
        str(Path(__file__).resolve()),
        "--stack",
        stack,
        "--json-out",
        json_out,
        "--count",
        str(args.count),
        "--spread",
        str(args.spread),
        "--grace",
        str(args.grace),
        "--workers",
        str(args.workers),
        "--worker-procs",
        str(args.worker_procs),
        "--pool",
        args.pool,
        "--sweep-interval",
        str(args.sweep_interval),
        "--txn",
        str(args.txn),
        "--seed",
        str(args.seed),
    ]
    if args.lead is not None:
        argv += ["--lead", str(args.lead)]
    if args.sweep_batch:
        argv += ["--sweep-batch", str(args.sweep_batch)]
    if not args.sweeper:
        argv.append("--no-sweeper")
    argv += [f"--extra-worker={a}" for a in args.extra_worker]
    argv += [f"--worker-arg={a}" for a in args.worker_arg]
    argv += [f"--env={e}" for e in args.env]
    argv += [f"--with-load={args.with_load}"]
    if args.keep:
        argv.append("--keep")
    return argv


# --------------------------------------------------------------------------------------------
# Processes


def add_with_load(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--with-load",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="N",
        help="run N CPU-bound processes (python -c 'while 1: pass') beside the stack, started and "
        "stopped by the bench (N defaults to 1)",
    )


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _die_with_parent() -> None:
    """A hog left behind by a bench killed outright would load the machine for good (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def cpu_hogs(n: int):
    """``n`` busy-looping processes for the block's duration (none when ``n`` is 0)."""
    hogs = [
        subprocess.Popen(
            [PY, "-c", "while 1: pass"], stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent
        )
        for _ in range(n)
    ]
    if hogs:
        say(f"started {n} CPU-bound process(es) {[h.pid for h in hogs]}; load average {loadavg()}")
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        if hogs:
            say(f"stopped the CPU-bound process(es); load average {loadavg()}")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Processes:
    """Long-running children (workers, beat), each in its own session, logging to a file."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen, object]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append((name, proc, log))
        return proc

    def dead(self) -> list[tuple[str, int]]:
        return [(name, p.returncode) for name, p, _ in self.procs if p.poll() is not None]

    def stop(self, timeout: float = 20.0) -> None:
        # Beat first (nothing new gets queued), then the workers: TERM to the main process is
        # Celery's warm shutdown; whatever is still there after the timeout is killed, children too.
        ordered = sorted(self.procs, key=lambda t: 0 if t[0] == "beat" else 1)
        for _, proc, _ in ordered:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc, log in ordered:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in {timeout:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # stray pool children, if any
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            log.close()
        self.procs.clear()


def log_problems(log_dir: Path) -> dict[str, int]:
    """Count the lines worth a look in the worker and beat logs."""
    patterns = {
        "errors": ("ERROR", "CRITICAL"),
        "tracebacks": ("Traceback",),
        "db_locked": ("database is locked",),
        "worker_lost": ("WorkerLostError",),
    }
    counts = dict.fromkeys(patterns, 0)
    for path in log_dir.glob("*.log"):
        with open(path, errors="replace") as fh:
            for line in fh:
                for key, needles in patterns.items():
                    if any(n in line for n in needles):
                        counts[key] += 1
    return counts


# --------------------------------------------------------------------------------------------
# Statistics


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def fmt_ms(v: float) -> str:
    return "-" if v != v else f"{v:.0f}"  # NaN -> "-"


def table_row(r: dict) -> str:
    lat = r["lateness_ms"]
    sweep_pct = 100.0 * r["sweep_fired"] / r["count"] if r["count"] else 0.0
    return (
        f"{r['stack']:<16} {r['count']:>6} {r['lost']:>5} {r['duplicated']:>4} {fmt_ms(lat['p50']):>7} "
        f"{fmt_ms(lat['p95']):>7} {fmt_ms(lat['p99']):>7} {fmt_ms(lat['max']):>7} "
        f"{r['schedule']['per_second']:>8.0f} {sweep_pct:>5.0f}% {r['sweep_max_gap_s']:>5} "
        f"{r['firing_capacity_per_core']:>8.0f} {r['load_avg']:>4} {r.get('with_load', 0):>3}  {verdict(r)}"
    )


def verdict(r: dict) -> str:
    aim = AIM_P99_MS[r["stack"]]
    misses = []
    if r["lost"]:
        misses.append("lost")
    if r["duplicated"]:
        misses.append("dup")
    if not r["lateness_ms"]["p99"] <= aim:
        misses.append(f"p99>{aim}ms")
    # A sweep absent for more than three intervals is what makes /healthz page.
    if r["sweep_max_gap_s"] > 3 * r["settings"]["TIMERS_SWEEP_INTERVAL"]:
        misses.append("sweep gap>3 intervals")
    return "ok" if not misses else "MISSED " + ",".join(misses)


# --------------------------------------------------------------------------------------------
# One stack


def broker_backlog_probe(broker_url: str):
    """A callable returning (messages waiting in the broker queue, delivered-but-unacked)."""
    if broker_url.startswith("sqlalchemy+sqlite:///"):
        path = broker_url[len("sqlalchemy+sqlite:///") :]

        def probe() -> tuple[int, int | None]:
            if not os.path.exists(path):
                return 0, None
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                return conn.execute("SELECT count(*) FROM kombu_message WHERE visible = 1").fetchone()[
                    0
                ], None
            except sqlite3.OperationalError:
                return 0, None
            finally:
                conn.close()

        return probe
    import redis

    client = redis.Redis.from_url(broker_url)

    def probe() -> tuple[int, int | None]:
        return client.llen("celery"), client.zcard("unacked_index")

    return probe


class HeartbeatSampler(threading.Thread):
    """Reads the sweep heartbeat every 0.2 s on its own connection; each new ``last_run_at``
    is one sweep, with how many it fired (so the count is approximate: two sweeps finishing
    within one sampling period show as one)."""

    def __init__(self) -> None:
        super().__init__(name="heartbeat-sampler", daemon=True)
        self.sweeps: dict[datetime, tuple[int, int]] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from apps.timers.models import SweepHeartbeat

        try:
            while not self.stopping.is_set():
                hb = (
                    SweepHeartbeat.objects.filter(name="sweep")
                    .values_list("last_run_at", "last_fired", "last_duration_ms")
                    .first()
                )
                if hb:
                    self.sweeps[hb[0]] = (hb[1], hb[2])
                self.stopping.wait(0.2)
        finally:
            connection.close()

    def between(self, start: datetime, end: datetime) -> dict[datetime, tuple[int, int]]:
        return {t: v for t, v in list(self.sweeps.items()) if start <= t <= end}

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def run_stack(args: argparse.Namespace, stack: str) -> dict:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "var" / "bench" / f"timers-{stack}-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-timers-{stack}-"))
    say(f"{stack}: temp dir {tmp}, logs in {log_dir.relative_to(ROOT)}")

    with contextlib.ExitStack() as cleanup:
        if not args.keep:
            cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)

        # 1. Servers
        if stack == "embedded":
            database_url = f"sqlite:///{tmp}/escalportal.sqlite3"
            broker_url = f"sqlalchemy+sqlite:///{tmp}/broker.sqlite3"
        else:
            sys.path.insert(0, str(ROOT))
            try:
                from tests.servers import PostgresServer, RedisServer
            except ImportError as exc:
                raise SystemExit(f"bench: postgres-redis needs tests/servers.py ({exc})") from None
            pg = PostgresServer(tmp / "pg")
            cleanup.callback(pg.stop)
            pg.start()
            database_url = pg.create_database("bench_timers")
            rd = RedisServer(tmp / "redis")
            cleanup.callback(rd.stop)
            rd.start()
            broker_url = rd.url(db=0)
        say(f"{stack}: DATABASE_URL={database_url} CELERY_BROKER_URL={broker_url}")

        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            ESCALPORTAL_VAR_DIR=str(tmp / "var"),
            TIMERS_SWEEP_INTERVAL=str(args.sweep_interval),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        if args.sweep_batch:
            env["TIMERS_SWEEP_BATCH"] = str(args.sweep_batch)
        env.update(item.split("=", 1) for item in args.env)
        os.environ.clear()
        os.environ.update(env)  # before django.setup(): settings read the environment

        # 2. Schema
        t0 = time.monotonic()
        with open(log_dir / "migrate.log", "wb") as log:
            rc = subprocess.call(
                [PY, "manage.py", "migrate", "--noinput"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if rc:
            tail = (log_dir / "migrate.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise SystemExit(
                f"bench: migrate failed ({rc}): {' '.join(tail)}\n  see {log_dir / 'migrate.log'}"
            )
        say(f"{stack}: migrated in {time.monotonic() - t0:.1f}s")

        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings
        from django.db import connection

        import escalportal.celery  # noqa: F401 - the Celery app the tasks are queued through

        # 3. Workers and exactly one beat
        procs = Processes(log_dir)
        cleanup.callback(procs.stop)
        cleanup.callback(connection.close)
        celery = [PY, "-m", "celery", "-A", "escalportal"]
        for n in range(args.worker_procs):
            procs.start(
                f"worker{n + 1}",
                [
                    *celery,
                    "worker",
                    "--loglevel=WARNING",
                    f"--concurrency={args.workers}",
                    f"--pool={args.pool}",
                    f"--hostname=bench{n + 1}@%h",
                    *(["--queues=celery"] if args.sweeper else []),
                    *args.worker_arg,
                ],
                env,
            )
        for n, extra in enumerate(args.extra_worker):
            procs.start(
                f"extra{n + 1}",
                [*celery, "worker", "--loglevel=WARNING", f"--hostname=extra{n + 1}@%h", *shlex.split(extra)],
                env,
            )
        if args.sweeper:  # the Procfile's sweeper
            procs.start(
                "sweeper",
                [*celery, "worker", "--loglevel=WARNING", "--queues=timers", "--concurrency=1",
                 "--hostname=sweeper@%h"],
                env,
            )
        procs.start("beat", [*celery, "beat", "--loglevel=WARNING"], env)
        roots = {name: proc.pid for name, proc, _ in procs.procs}
        if stack != "embedded":
            roots["redis"] = rd.process.pid
            roots["postgres"] = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        result = measure(args, stack, procs, broker_url, CpuMeter(roots))
        result.update(
            with_load=args.with_load,
            spread=args.spread,
            grace=args.grace,
            database_url=database_url,
            broker_url=broker_url,
            log_dir=str(log_dir),
            settings={
                "TIMERS_SWEEP_INTERVAL": settings.TIMERS_SWEEP_INTERVAL,
                "TIMERS_SWEEP_BATCH": settings.TIMERS_SWEEP_BATCH,
                "TIMERS_ETA_HORIZON": settings.TIMERS_ETA_HORIZON,
                "CELERY_WORKER_PREFETCH_MULTIPLIER": settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
                "CELERY_BROKER_TRANSPORT_OPTIONS": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                "workers": args.workers,
                "worker_procs": args.worker_procs,
                "pool": args.pool,
                "sweeper": args.sweeper,
                "worker_args": args.worker_arg,
                "extra_workers": args.extra_worker,
                "env": args.env,
            },
        )
        connection.close()
        say(f"{stack}: stopping workers and beat")
        procs.stop()
        result["log_problems"] = log_problems(log_dir)
    if args.keep:
        say(f"{stack}: kept {tmp}")
    return result


class CpuMeter:
    """CPU seconds (user + system) used by the stack's processes and their children, by name
    (workers, sweeper, beat, postgres, redis; not this bench, which only watches). A process
    that ends between two samples is missed, one that starts between them counts whole."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots

    def sample(self) -> dict[tuple[str, int], float]:
        import psutil

        seen: dict[tuple[str, int], float] = {}
        for name, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                family = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in family:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    seen[(name, proc.pid)] = times.user + times.system
        return seen

    @staticmethod
    def used(start: dict, end: dict) -> dict[str, float]:
        by_name: dict[str, float] = defaultdict(float)
        for (name, pid), seconds in end.items():
            by_name[name] += seconds - start.get((name, pid), 0.0)
        return dict(by_name)


def measure(args: argparse.Namespace, stack: str, procs: Processes, broker_url: str, cpu: CpuMeter) -> dict:
    from apps.timers.models import SweepHeartbeat

    def check_alive() -> None:
        dead = procs.dead()
        if dead:
            raise SystemExit(
                f"bench: {', '.join(f'{n} exited ({rc})' for n, rc in dead)}; see {procs.log_dir}"
            )

    # Ready when a sweep has gone beat -> broker -> worker -> database.
    t0 = time.monotonic()
    while not SweepHeartbeat.objects.filter(name="sweep").exists():
        check_alive()
        if time.monotonic() - t0 > 90:
            raise SystemExit(f"bench: no sweep heartbeat after 90s; see {procs.log_dir}")
        time.sleep(0.25)
    say(f"{stack}: workers and beat up (first sweep after {time.monotonic() - t0:.1f}s)")

    backlog = broker_backlog_probe(broker_url)
    sampler = HeartbeatSampler()
    sampler.start()
    try:
        return _measure(args, stack, check_alive, backlog, sampler, cpu)
    finally:
        sampler.stop()


def _measure(
    args: argparse.Namespace, stack: str, check_alive, backlog, sampler: HeartbeatSampler, cpu: CpuMeter
) -> dict:
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.timers.models import Deadline
    from apps.timers.services import deadline_schedule
    from tests.probe.models import ProbeHit

    lead = args.lead
    cal_last_id = 0
    if lead is None:
        # Calibrate: a batch scheduled exactly like the real ones (so under the same contention
        # with the running worker), due far beyond the run but inside the ETA horizon; a separate
        # subject_type keeps them out of the figures, and they never come due while we watch.
        # (With a horizon too short for that no ETA task is queued, as for the real ones.)
        n_cal = min(args.txn, 200)
        horizon = settings.TIMERS_ETA_HORIZON
        far = timezone.now() + timedelta(seconds=horizon - 5 if horizon > 1800 else 3600)
        t_cal = time.perf_counter()
        with transaction.atomic():
            for i in range(n_cal):
                cal_last_id = deadline_schedule(
                    kind="probe", due_at=far, subject_type="bench-calibration", subject_id=str(i)
                ).pk
        rate = n_cal / (time.perf_counter() - t_cal)
        lead = max(10.0, 1.3 * args.count / rate + 5.0)
        say(f"{stack}: calibration: {rate:.0f} deadlines/s -> first due {lead:.0f}s after scheduling starts")
    rng = random.Random(args.seed)
    offsets = [rng.uniform(0, args.spread) for _ in range(args.count)]
    start = timezone.now() + timedelta(seconds=lead)
    due = [start + timedelta(seconds=o) for o in offsets]
    first_due, last_due = min(due), max(due)
    due_sorted = sorted(due)

    # 4. Schedule, a transaction of --txn at a time; on commit each queues its ETA task.
    say(f"{stack}: scheduling {args.count} probe deadlines due {first_due:%H:%M:%S}..{last_due:%H:%M:%S}")
    body_s = commit_s = 0.0
    t_sched = time.perf_counter()
    for lo in range(0, args.count, args.txn):
        a = time.perf_counter()
        with transaction.atomic():
            for i in range(lo, min(lo + args.txn, args.count)):
                deadline_schedule(kind="probe", due_at=due[i], subject_type="bench", subject_id=str(i))
            b = time.perf_counter()
        c = time.perf_counter()
        body_s += b - a
        commit_s += c - b
    sched_s = time.perf_counter() - t_sched
    sched_done = timezone.now()
    margin = (first_due - sched_done).total_seconds()
    waiting, _ = backlog()
    schedule = {
        "seconds": round(sched_s, 2),
        "per_second": args.count / sched_s,
        "insert_seconds": round(body_s, 2),
        "commit_and_enqueue_seconds": round(commit_s, 2),
        "margin_before_first_due_s": round(margin, 1),
        "broker_backlog_at_end": waiting,
        "lead_s": round(lead, 1),
    }
    say(
        f"{stack}: scheduled in {sched_s:.1f}s = {args.count / sched_s:.0f}/s "
        f"(inserts {body_s:.1f}s, commit+enqueue {commit_s:.1f}s); first due in {margin:+.1f}s; "
        f"{waiting} messages not yet taken by a worker"
    )
    if margin < 0:
        say(f"{stack}: WARNING scheduling overran the first due time; raise --lead")

    # 5. Wait for the last due time + grace, or until everything fired.
    # Sweeps are sampled from the first due time on (the heartbeat keeps only the last one).
    samples: list[dict] = []
    backlog_at_first_due = None
    drained_at = None
    end_by = last_due + timedelta(seconds=args.grace)
    next_count = next_print = time.monotonic()
    fired = 0
    cpu_start = cpu_end = None
    cpu_window = [0.0, 0.0]
    while True:
        now = timezone.now()
        if time.monotonic() >= next_count:
            next_count += 2.0
            check_alive()
            fired = (
                ProbeHit.objects.filter(deadline_id__gt=cal_last_id).values("deadline_id").distinct().count()
            )
            waiting, unacked = backlog()
            if backlog_at_first_due is None and now >= first_due:
                backlog_at_first_due = waiting
                cpu_start, cpu_window[0] = cpu.sample(), time.monotonic()
            if drained_at is None and waiting == 0:
                drained_at = round((now - first_due).total_seconds(), 1)
            n_due = bisect.bisect_right(due_sorted, now)
            samples.append(
                {
                    "t": round((now - first_due).total_seconds(), 1),
                    "due": n_due,
                    "fired": fired,
                    "broker_waiting": waiting,
                    "broker_unacked": unacked,
                    "load1": os.getloadavg()[0],
                }
            )
            if time.monotonic() >= next_print:
                next_print += 10.0
                say(
                    f"{stack}: t={(now - first_due).total_seconds():+6.0f}s due {n_due:>6} fired {fired:>6} "
                    f"behind {max(0, n_due - fired):>5}  broker waiting {waiting}"
                    + (f" unacked {unacked}" if unacked is not None else "")
                    + f"  sweep-fired {sum(f for f, _ in sampler.between(first_due, now).values())}"
                )
            if fired >= args.count and now > last_due:
                break
        if now > end_by:
            break
        time.sleep(0.5)
    cpu_end, cpu_window[1] = cpu.sample(), time.monotonic()
    time.sleep(3)  # let a duplicate, if one is coming, commit

    # 6. Figures
    # One snapshot for both tables (workers may still be firing stragglers): SQLite's
    # immediate transaction holds the write lock; PostgreSQL needs REPEATABLE READ.
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = list(
            Deadline.objects.filter(kind="probe", subject_type="bench").values_list(
                "id", "due_at", "fired_at", "attempts", "created_at"
            )
        )
        hits: dict[int, list[datetime]] = defaultdict(list)
        for d_id, h_fired in ProbeHit.objects.filter(deadline_id__gt=cal_last_id).values_list(
            "deadline_id", "fired_at"
        ):
            hits[d_id].append(h_fired)
    connection.close()
    deadlines = {d_id: (d_due, d_fired, attempts) for d_id, d_due, d_fired, attempts, _ in rows}
    # A deadline created after it was due (scheduling overran --lead) can only be late by the
    # engine from its creation on: that lateness is reported apart.
    created_late = {d_id: created for d_id, d_due, _, _, created in rows if created > d_due}

    lost = [d for d in deadlines if not hits.get(d)]
    dups = {d: len(h) for d, h in hits.items() if len(h) > 1}
    lateness = {}
    for d_id, (d_due, _, _) in deadlines.items():
        if hits.get(d_id):
            lateness[d_id] = (min(hits[d_id]) - d_due).total_seconds() * 1000
    lat_sorted = sorted(lateness.values())
    from_created = sorted(
        (min(hits[d_id]) - max(d_due, created_late.get(d_id, d_due))).total_seconds() * 1000
        for d_id, (d_due, _, _) in deadlines.items()
        if hits.get(d_id)
    )
    retried = sum(1 for _, _, attempts in deadlines.values() if attempts)
    fired_mark_mismatch = sum(
        1 for d_id, (_, d_fired, _) in deadlines.items() if (d_fired is None) != (not hits.get(d_id))
    )

    # Lateness over time: the spread in six windows, by due time.
    windows = []
    n_win = 6
    width = args.spread / n_win
    by_win: dict[int, list[float]] = defaultdict(list)
    lost_win: dict[int, int] = defaultdict(int)
    for d_id, (d_due, _, _) in deadlines.items():
        w = min(n_win - 1, int((d_due - start).total_seconds() // width))
        if d_id in lateness:
            by_win[w].append(lateness[d_id])
        else:
            lost_win[w] += 1
    for w in range(n_win):
        vals = sorted(by_win[w])
        windows.append(
            {
                "from_s": round(w * width),
                "to_s": round((w + 1) * width),
                "n": len(vals),
                "lost": lost_win[w],
                "p50": pct(vals, 50),
                "p99": pct(vals, 99),
                "max": vals[-1] if vals else float("nan"),
            }
        )

    cpu_used = CpuMeter.used(cpu_start or {}, cpu_end) if cpu_start else {}
    cpu_total = sum(cpu_used.values())
    sweeps = sampler.between(first_due - timedelta(seconds=args.sweep_interval), timezone.now())
    sweep_fired = sum(f for f, _ in sweeps.values())
    runs = sorted(t for t in sweeps if first_due <= t <= last_due)
    gaps = [(b - a).total_seconds() for a, b in zip([first_due, *runs], [*runs, last_due], strict=True)]
    return {
        "stack": stack,
        "count": len(deadlines),
        "lost": len(lost),
        "duplicated": len(dups),
        "extra_hits": sum(n - 1 for n in dups.values()),
        "retried": retried,
        "fired_mark_mismatch": fired_mark_mismatch,
        "lateness_ms": {
            "min": lat_sorted[0] if lat_sorted else float("nan"),
            "p50": pct(lat_sorted, 50),
            "p90": pct(lat_sorted, 90),
            "p95": pct(lat_sorted, 95),
            "p99": pct(lat_sorted, 99),
            "p999": pct(lat_sorted, 99.9),
            "max": lat_sorted[-1] if lat_sorted else float("nan"),
            "over_1s": sum(1 for v in lat_sorted if v > 1000),
            "over_2s": sum(1 for v in lat_sorted if v > 2000),
        },
        "created_after_due": len(created_late),
        "lateness_from_creation_ms": {
            "p50": pct(from_created, 50),
            "p99": pct(from_created, 99),
            "max": from_created[-1] if from_created else float("nan"),
        },
        "windows": windows,
        "schedule": schedule,
        "sweeps_seen": len(sweeps),
        "sweep_fired": sweep_fired,
        "sweep_max_ms": max((ms for _, ms in sweeps.values()), default=0),
        "sweep_max_gap_s": round(max(gaps), 1),
        "broker_backlog_at_first_due": backlog_at_first_due,
        "broker_drained_at_s": drained_at,
        "samples": samples,
        "load_avg": round(sum(x["load1"] for x in samples) / max(1, len(samples)), 1),
        "lost_ids_sample": lost[:10],
        "cpu_seconds": {k: round(v, 1) for k, v in sorted(cpu_used.items())},
        "cpu_window_s": round(cpu_window[1] - cpu_window[0], 1),
        "cpu_ms_per_firing": round(1000 * cpu_total / max(1, len(lateness)), 2),
        # Deadlines a second one core can fire, all of the stack's processes counted: firings
        # over the CPU seconds the stack used from the first due time to the last firing.
        "firing_capacity_per_core": round(len(lateness) / cpu_total, 0) if cpu_total else float("nan"),
    }


def report(r: dict) -> None:
    lat = r["lateness_ms"]
    s = r["schedule"]
    lines = [
        f"=== {r['stack']}: {r['count']} probe deadlines over {r['spread']:.0f}s, "
        f"workers {r['settings']['worker_procs']}x{r['settings']['workers']} ({r['settings']['pool']}), "
        f"{'a sweeper, ' if r['settings'].get('sweeper') else 'no sweeper, '}"
        f"sweep every {r['settings']['TIMERS_SWEEP_INTERVAL']}s batch {r['settings']['TIMERS_SWEEP_BATCH']}, "
        f"ETA horizon {r['settings']['TIMERS_ETA_HORIZON']}s",
        f"  broker options      {r['settings']['CELERY_BROKER_TRANSPORT_OPTIONS']}"
        + (
            f"  worker args {r['settings']['worker_args']} env {r['settings']['env']} "
            f"extra workers {r['settings']['extra_workers']}"
            if r["settings"]["worker_args"] or r["settings"]["env"] or r["settings"]["extra_workers"]
            else ""
        ),
        f"  scheduling          {s['seconds']}s = {s['per_second']:.0f}/s (inserts {s['insert_seconds']}s, "
        f"commit+enqueue {s['commit_and_enqueue_seconds']}s); lead {s['lead_s']}s, done "
        f"{s['margin_before_first_due_s']}s before the first due",
        f"  broker backlog      {s['broker_backlog_at_end']} not yet taken at end of scheduling, "
        f"{r['broker_backlog_at_first_due']} at first due; drained at t={r['broker_drained_at_s']}s",
        f"  lost (unfired at last due + {r['grace']:.0f}s) {r['lost']}  duplicated {r['duplicated']} (extra hits {r['extra_hits']})  "
        f"retried {r['retried']}  fired-mark/hit mismatch {r['fired_mark_mismatch']}",
        f"  lateness ms         min {fmt_ms(lat['min'])}  p50 {fmt_ms(lat['p50'])}  p90 {fmt_ms(lat['p90'])}  "
        f"p95 {fmt_ms(lat['p95'])}  p99 {fmt_ms(lat['p99'])}  p99.9 {fmt_ms(lat['p999'])}  "
        f"max {fmt_ms(lat['max'])}  (>1s: {lat['over_1s']}, >2s: {lat['over_2s']})",
        *(
            [
                f"  created after due   {r['created_after_due']}; lateness from max(due, created) ms: "
                f"p50 {fmt_ms(r['lateness_from_creation_ms']['p50'])}  "
                f"p99 {fmt_ms(r['lateness_from_creation_ms']['p99'])}  "
                f"max {fmt_ms(r['lateness_from_creation_ms']['max'])}"
            ]
            if r["created_after_due"]
            else []
        ),
        f"  fired by sweep      ~{r['sweep_fired']} ({100.0 * r['sweep_fired'] / max(1, r['count']):.1f}%), "
        f"{r['sweeps_seen']} sweeps seen, longest {r['sweep_max_ms']} ms, longest gap without a sweep "
        f"{r['sweep_max_gap_s']}s; the rest by ETA tasks",
        "  by due time         "
        + "  ".join(
            f"[{w['from_s']}-{w['to_s']}s n={w['n']} p50={fmt_ms(w['p50'])} p99={fmt_ms(w['p99'])} "
            f"max={fmt_ms(w['max'])}" + (f" lost={w['lost']}" if w["lost"] else "") + "]"
            for w in r["windows"]
        ),
        f"  worker/beat logs    {r['log_problems']}  ({r['log_dir']})",
        f"  firing capacity     {r['firing_capacity_per_core']:.0f} deadlines a second per core "
        f"({r['cpu_ms_per_firing']} ms of CPU per firing; CPU seconds over {r['cpu_window_s']}s: "
        f"{r['cpu_seconds']})",
        f"  machine             {os.cpu_count()} CPUs, mean 1-min load average while firing {r['load_avg']}"
        + (f", with {r['with_load']} CPU-bound process(es) beside the stack" if r.get("with_load") else ""),
    ]
    print("\n".join(lines), flush=True)


def print_table(results: list[dict]) -> None:
    print("\n" + TABLE_HEADER)
    for r in results:
        print(table_row(r))
    print(
        f"(aims: nothing lost or duplicated; p99 < {AIM_P99_MS['postgres-redis']} ms on "
        f"postgres-redis, < {AIM_P99_MS['embedded']} ms embedded; never three sweep intervals "
        "without a sweep)",
        flush=True,
    )


def _raise_interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    os.chdir(ROOT)
    if args.stack != "both":
        try:
            with cpu_hogs(args.with_load):
                result = run_stack(args, args.stack)
        except KeyboardInterrupt:
            say("interrupted; everything started has been stopped")
            return 130
        report(result)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result, default=str, indent=1))
        else:
            print_table([result])
        return 0 if verdict(result) == "ok" else 1

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-timers-") as tmp:
        for stack in STACKS:
            out = os.path.join(tmp, f"{stack}.json")
            child = subprocess.Popen(child_argv(args, stack, out), cwd=ROOT)
            # Ctrl-C reaches the child too (same process group) and it stops its own servers
            # and workers: wait for that. A TERM sent to this process is passed on.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, lambda *_, c=child: c.send_signal(signal.SIGINT))
            child.wait()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, _raise_interrupt)
            if child.returncode == 130:
                return 130
            if os.path.exists(out):
                results.append(json.loads(Path(out).read_text()))
            else:
                say(f"{stack}: no result (exit status {child.returncode})")
    if results:
        print_table(results)
    return 0 if results and len(results) == len(STACKS) and all(verdict(r) == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
