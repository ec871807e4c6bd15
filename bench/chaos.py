#!/usr/bin/env python
"""Chaos suite: do deadlines and messages survive killed workers, a broker outage, a database
restart and a mail server that is down? (issue 14, item 8)

    .venv/bin/python bench/chaos.py [--stack embedded|postgres-redis|both] [--scenario NAME ...]
                                    [--rate 20] [--messages 2] [--quick]

Each stack gets throwaway servers, as in bench/timers.py (whose process helpers this reuses):
``embedded`` runs ``scripts/run_dev.py --no-web`` (the ``make run`` arrangement: a threads-pool
worker and a beat, supervised) on SQLite plus kombu's SQLAlchemy broker; ``postgres-redis`` runs
the Procfile's arrangement (a delivery worker with its default prefork pool, a sweeper, one
beat) on the PostgreSQL and Redis of tests/servers.py, with this script restarting any process
that dies as a process supervisor would. Email goes to an SMTP server run by this script, SMS
to an HTTP gateway run by this script; both count what they receive per Message-ID /
Idempotency-Key.

During each scenario a load thread schedules ``--rate`` probe deadlines a second (due 1 to 10 s
later) and queues ``--messages`` notifications a second (email then SMS; every other one SEV1),
while the fault is applied:

``kill-storm``     SIGKILL of worker processes (main processes and pool children) every 3 to 7 s
                   for 70 s (``--storm``)
``pool-kill``      embedded: SIGKILL of both idle workers, then the load (was: a hang for good)
``redis-down``     postgres-redis: Redis stopped for 60 s (``--redis-down``)
``pg-restart``     postgres-redis: PostgreSQL stopped (fast) and started again after 3 s
``smtp-down``      the mail server refuses connections for 120 s (``--smtp-down``)

Then it waits for everything to drain and prints, per scenario: deadlines lost and duplicated,
lateness p50/p99 (fired_at - due_at by the database's clock), messages not sent (stuck or
failed), messages received more than once, and the drain time (from the end of the fault to the
last deadline fired and message sent). Exit status 0 when every aim of issue 14 is met: nothing
lost, duplicated, received twice or stuck; drained within 30 s of a PostgreSQL restart and
within 60 s of the last kill (and of Redis or SMTP coming back).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timers import Processes, add_with_load, cpu_hogs, loadavg, pct, say  # noqa: E402 - after the path

PY = sys.executable
STACKS = ("embedded", "postgres-redis")
SCENARIOS = {
    "embedded": ("pool-kill", "kill-storm", "smtp-down"),
    "postgres-redis": ("kill-storm", "pg-restart", "redis-down", "smtp-down"),
}
# Seconds from the end of the fault until what was due by then has fired and been sent. SMTP down:
# a SEV3 message keeps its 30 s / 2 min back-off, so it may wait two minutes after the server is
# back; a SEV1 must have reached someone (by SMS) within 45 s of being queued.
DRAIN_AIM_S = {"pg-restart": 30.0, "kill-storm": 60.0, "pool-kill": 60.0, "redis-down": 60.0, "smtp-down": 130.0}
SEV1_AIM_S = 45.0
TEMPLATES = ROOT / "tests" / "notifications" / "templates"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", choices=[*STACKS, "both"], default="both")
    p.add_argument("--scenario", action="append", default=[], help="run only these (repeatable)")
    p.add_argument("--rate", type=float, default=20.0, help="deadlines scheduled a second")
    p.add_argument("--messages", type=float, default=2.0, help="notifications queued a second")
    p.add_argument("--storm", type=float, default=70.0, help="seconds of kills")
    p.add_argument("--redis-down", type=float, default=60.0)
    p.add_argument("--pg-down", type=float, default=3.0)
    p.add_argument("--smtp-down", type=float, default=120.0)
    p.add_argument("--load-after", type=float, default=15.0, help="seconds of load after the fault ends")
    p.add_argument("--drain-timeout", type=float, default=240.0)
    p.add_argument("--quick", action="store_true", help="short faults (20 s storm, 20 s outages)")
    add_with_load(p)
    p.add_argument("--json-out", default="")
    args = p.parse_args(argv)
    if args.quick:
        args.storm, args.redis_down, args.smtp_down, args.load_after = 20.0, 20.0, 20.0, 5.0
    return args


# --------------------------------------------------------------------------------------------
# Receivers this script controls


class Receivers:
    """An SMTP server (aiosmtpd) that can be taken down and brought back on the same port, and
    an HTTP SMS gateway; both count arrivals per idempotency key."""

    def __init__(self) -> None:
        from tests.plugins.mailhooks import free_port

        self.smtp_port = free_port()
        self.arrivals: Counter[str] = Counter()
        self.first_at: dict[str, float] = {}
        self.last_at = 0.0
        self._lock = threading.Lock()
        self._controller = None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._sms_handler())
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.sms_url = f"http://127.0.0.1:{self._httpd.server_port}/sms"

    def arrived(self, key: str) -> None:
        with self._lock:
            self.arrivals[key] += 1
            self.last_at = time.monotonic()
            self.first_at.setdefault(key, self.last_at)

    def smtp_up(self) -> None:
        from aiosmtpd.controller import Controller

        receivers = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                match = re.search(rb"^Message-ID: *(\S+)", envelope.original_content, re.M | re.I)
                receivers.arrived(match.group(1).decode() if match else "?")
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.smtp_port)
        self._controller.start()

    def smtp_down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _sms_handler(self):
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receivers.arrived(self.headers.get("Idempotency-Key") or "?")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.smtp_down()
        self._httpd.shutdown()


# --------------------------------------------------------------------------------------------
# The stack


class Stack:
    def __init__(self, args: argparse.Namespace, name: str, tmp: Path, log_dir: Path, cleanup) -> None:
        self.args, self.name, self.tmp, self.log_dir = args, name, tmp, log_dir
        self.procs = Processes(log_dir)
        self.pg = self.redis = None
        self.restarts = 0
        self.receivers = Receivers()
        cleanup.callback(self.receivers.close)
        if name == "embedded":
            self.database_url = f"sqlite:///{tmp}/escalportal.sqlite3"
            self.broker_url = f"sqlalchemy+sqlite:///{tmp}/broker.sqlite3"
        else:
            from tests.servers import PostgresServer, RedisServer

            self.pg = PostgresServer(tmp / "pg")
            cleanup.callback(self.pg.stop)
            self.pg.start()
            self.database_url = self.pg.create_database("bench_chaos")
            self.redis = RedisServer(tmp / "redis")
            cleanup.callback(self.redis.stop)
            self.redis.start()
            self.broker_url = self.redis.url(db=0)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            "ESCALPORTAL_VAR_DIR": str(tmp / "var"),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.receivers.smtp_port),
            "SMS_GATEWAY_URL": self.receivers.sms_url,
            "TIMERS_SWEEP_INTERVAL": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        cleanup.callback(self.procs.stop)

    # processes -----------------------------------------------------------------------------

    def start(self) -> None:
        celery = [PY, "-m", "celery", "-A", "escalportal"]
        if self.name == "embedded":
            self.commands = {"run_dev": [PY, "scripts/run_dev.py", "--no-web"]}
        else:  # the Procfile
            self.commands = {
                "worker": [*celery, "worker", "--queues=celery", "--loglevel=WARNING", "--hostname=w@%h"],
                "sweeper": [*celery, "worker", "--queues=timers", "--concurrency=1", "--loglevel=WARNING",
                            "--hostname=s@%h"],
                "beat": [*celery, "beat", "--loglevel=WARNING"],
            }
        self.running = {name: self.procs.start(name, cmd, self.env) for name, cmd in self.commands.items()}

    def supervise(self) -> None:
        """Start again whatever died (run_dev.py does this itself for the embedded worker)."""
        for name, proc in list(self.running.items()):
            if proc.poll() is not None:
                if name == "run_dev":
                    raise SystemExit(f"chaos: run_dev.py exited ({proc.returncode}); see {self.log_dir}")
                self.restarts += 1
                self.running[name] = self.procs.start(f"{name}-{self.restarts}", self.commands[name], self.env)

    def kill_targets(self) -> list[int]:
        """Worker processes: the main ones and their pool children (not the beat)."""
        if self.name == "embedded":
            log = (self.log_dir / "run_dev.log").read_text(errors="replace")
            pids = [int(p) for p in re.findall(r"worker\d started \(pid (\d+)\)", log)]
            return [p for p in pids if _alive(p)]
        mains = [p.pid for n, p in self.running.items() if n in ("worker", "sweeper") and p.poll() is None]
        return mains + [c for m in mains for c in _children(m)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


# --------------------------------------------------------------------------------------------
# Load and measurement


class Load(threading.Thread):
    """Schedules deadlines and queues notifications at a steady rate until stopped."""

    def __init__(self, args: argparse.Namespace, tag: str) -> None:
        super().__init__(name=f"load-{tag}", daemon=True)
        self.args, self.tag = args, tag
        self.stopping = threading.Event()
        self.deadline_ids: list[int] = []
        self.note_ids: list[int] = []
        self.errors = 0

    def run(self) -> None:
        from django.db import connection, transaction
        from django.utils import timezone

        from apps.notifications.services import Recipient, notify
        from apps.timers.services import deadline_schedule

        tick, n = 0.5, 0
        owed_d = owed_m = 0.0
        try:
            while not self.stopping.is_set():
                owed_d += self.args.rate * tick
                owed_m += self.args.messages * tick
                try:
                    with transaction.atomic():
                        now = timezone.now()
                        ids = [
                            deadline_schedule(
                                kind="probe", due_at=now + timedelta(seconds=random.uniform(1, 10)), payload={}
                            ).pk
                            for _ in range(int(owed_d))
                        ]
                        notes = []
                        for _ in range(int(owed_m)):
                            n += 1
                            who = Recipient(
                                key=f"chaos:{self.tag}:{n}", name="Chaos",
                                methods=(("email", f"p{n}@example.com"), ("phone", f"+4477009{n:05d}")),
                            )
                            notes.append(notify(
                                event_key=f"chaos:{self.tag}", recipient=who, template="probe",
                                context={"title": f"chaos {self.tag} {n}", "text": "", "number": n},
                                urgency="sev1" if n % 2 else "sev3",
                            ).pk)
                    self.deadline_ids += ids
                    self.note_ids += notes
                    owed_d -= int(owed_d)
                    owed_m -= int(owed_m)
                except Exception:  # noqa: BLE001 - the database or broker is down: try again next tick
                    self.errors += 1
                    with contextlib.suppress(Exception):
                        connection.close()
                self.stopping.wait(tick)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def outstanding(load: Load) -> tuple[int, int]:
    """(deadlines not fired, messages neither sent nor failed)."""
    from apps.notifications.models import Notification
    from apps.timers.models import Deadline

    return (
        Deadline.objects.filter(pk__in=load.deadline_ids, fired_at=None, cancelled_at=None).count(),
        Notification.objects.filter(pk__in=load.note_ids).exclude(status__in=["sent", "failed"]).count(),
    )


def measure(stack: Stack, load: Load, scenario: str, fault_end) -> dict:
    """``fault_end``: when the fault ended (the last kill, the server back), by the wall clock,
    which on one machine is the database's."""
    from django.db import connection
    from django.db.models import Count, Max

    from apps.notifications.channels import message_id
    from apps.notifications.models import Notification
    from apps.notifications.services import idempotency_key
    from tests.probe.models import ProbeHit

    deadline = time.monotonic() + stack.args.drain_timeout
    left = (-1, -1)
    while time.monotonic() < deadline:
        stack.supervise()
        try:
            left = outstanding(load)
        except Exception:  # noqa: BLE001 - the database is still coming back
            connection.close()
            left = (-1, -1)
        if left == (0, 0):
            break
        time.sleep(0.5)
    time.sleep(3)  # late duplicates, if any, arrive now
    hits = list(
        ProbeHit.objects.filter(deadline_id__in=load.deadline_ids)
        .values("deadline_id")
        .annotate(n=Count("id"))
    )
    fired = {h["deadline_id"]: h["n"] for h in hits}
    lateness = sorted(
        (h.fired_at - h.due_at).total_seconds()
        for h in ProbeHit.objects.filter(deadline_id__in=load.deadline_ids).only("fired_at", "due_at")
    )
    notes = list(Notification.objects.filter(pk__in=load.note_ids))
    keys = {n.pk: idempotency_key(n) for n in notes}
    arrivals = stack.receivers.arrivals
    received = {pk: arrivals.get(key, 0) + arrivals.get(message_id(key), 0) for pk, key in keys.items()}
    sev1_late = sorted(
        (n.sent_at - n.created_at).total_seconds() for n in notes if n.sent_at and n.urgency == "sev1"
    )
    via_sms = sum(1 for n in notes if n.sent_via_channel == "phone")
    # Drained: the last deadline due by the fault's end fired, the last message queued by then sent.
    last_fired = ProbeHit.objects.filter(deadline_id__in=load.deadline_ids, due_at__lte=fault_end).aggregate(
        at=Max("fired_at")
    )["at"]
    last_sent = max((n.sent_at for n in notes if n.sent_at and n.created_at <= fault_end), default=None)
    ends = [t for t in (last_fired, last_sent) if t is not None]
    drain = max(0.0, (max(ends) - fault_end).total_seconds()) if ends else 0.0
    result = {
        "stack": stack.name,
        "scenario": scenario,
        "deadlines": len(load.deadline_ids),
        "lost": sum(1 for pk in load.deadline_ids if fired.get(pk, 0) == 0),
        "duplicated": sum(1 for n in fired.values() if n > 1),
        "p50_s": pct(lateness, 50),
        "p99_s": pct(lateness, 99),
        "max_s": lateness[-1] if lateness else float("nan"),
        "messages": len(notes),
        "not_sent": sum(1 for n in notes if n.status != Notification.Status.SENT),
        "received_twice": sum(1 for n in received.values() if n > 1),
        "not_received": sum(1 for n in received.values() if n == 0),
        "sev1_p99_s": pct(sev1_late, 99),
        "via_sms": via_sms,
        "drain_s": drain if left == (0, 0) else float("inf"),
        "load_errors": load.errors,
        "restarts": stack.restarts,
    }
    result["aim"] = verdict(result)
    return result


def verdict(r: dict) -> str:
    misses = [k for k in ("lost", "duplicated", "not_sent", "received_twice", "not_received") if r[k]]
    if not r["drain_s"] <= DRAIN_AIM_S[r["scenario"]]:
        misses.append(f"drain>{DRAIN_AIM_S[r['scenario']]:.0f}s")
    if r["scenario"] == "smtp-down" and not r["sev1_p99_s"] <= SEV1_AIM_S:
        misses.append(f"sev1>{SEV1_AIM_S:.0f}s")
    return "ok" if not misses else "MISSED " + ",".join(misses)


# --------------------------------------------------------------------------------------------
# Scenarios: each applies its fault while the load runs, returns when the fault has ended


def kill_storm(stack: Stack, seconds: float, kills: list) -> None:
    """Kill a random worker process every 3 to 7 s; ``kills`` gets (pid, when)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end - 3:
        time.sleep(random.uniform(3, 7))
        stack.supervise()
        targets = stack.kill_targets()
        if targets:
            pid = random.choice(targets)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                kills.append((pid, _now()))


def pool_kill(stack: Stack, kills: list) -> None:
    time.sleep(2)
    for pid in stack.kill_targets():
        os.kill(pid, signal.SIGKILL)
        kills.append((pid, _now()))


def redis_down(stack: Stack, seconds: float) -> None:
    """Stop Redis (without persistence: whatever it held is gone, as after a crash), then start
    it again on the same port, where the workers and beat reconnect."""
    argv = stack.redis.process.args
    stack.redis._terminate()
    time.sleep(seconds)
    with open(stack.redis.log_file, "ab") as log:
        stack.redis.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=stack.redis.base_dir, start_new_session=True,
        )
    if not stack.redis._wait_ready():
        raise SystemExit("chaos: Redis did not come back")


def pg_restart(stack: Stack, seconds: float) -> None:
    pg = stack.pg
    pg_ctl = str(pg._bindir / "pg_ctl")
    pg._run([pg_ctl, "stop", "--pgdata", str(pg.data_dir), "--mode", "fast", "--wait"], timeout=60)
    time.sleep(seconds)
    pg._pg_ctl_start()
    pg._wait_ready()


def smtp_down(stack: Stack, seconds: float) -> None:
    stack.receivers.smtp_down()
    time.sleep(seconds)
    stack.receivers.smtp_up()


def _now():
    from django.utils import timezone

    return timezone.now()


def run_scenario(stack: Stack, scenario: str) -> dict:
    from django.db import connection

    args = stack.args
    say(f"{stack.name}/{scenario}: load on, fault on")
    load = Load(args, f"{stack.name}-{scenario}-{time.monotonic():.0f}")
    load.start()
    kills: list[tuple[int, object]] = []
    time.sleep(3)
    if scenario == "kill-storm":
        kill_storm(stack, args.storm, kills)
    elif scenario == "pool-kill":
        pool_kill(stack, kills)
    elif scenario == "redis-down":
        redis_down(stack, args.redis_down)
    elif scenario == "pg-restart":
        connection.close()
        pg_restart(stack, args.pg_down)
    elif scenario == "smtp-down":
        smtp_down(stack, args.smtp_down)
    fault_end = kills[-1][1] if kills else _now()
    say(f"{stack.name}/{scenario}: fault over ({len(kills)} kills); load for {args.load_after:.0f}s more")
    end = time.monotonic() + args.load_after
    while time.monotonic() < end:
        stack.supervise()
        time.sleep(0.5)
    load.stop()
    result = measure(stack, load, scenario, fault_end)
    result["kills"] = len(kills)
    result["loadavg"], result["with_load"] = loadavg(), args.with_load
    say(f"{stack.name}/{scenario}: {row(result)}  (load average {result['loadavg']})")
    return result


# --------------------------------------------------------------------------------------------
# Reporting and main


HEADER = (
    f"{'stack':<15} {'scenario':<11} {'kills':>5} {'dl':>5} {'lost':>4} {'dup':>3} {'p50_s':>6} {'p99_s':>6} "
    f"{'msgs':>5} {'unsent':>6} {'twice':>5} {'sms':>4} {'sev1_s':>6} {'drain_s':>7}  aim"
)


def row(r: dict) -> str:
    return (
        f"{r['stack']:<15} {r['scenario']:<11} {r.get('kills', 0):>5} {r['deadlines']:>5} {r['lost']:>4} "
        f"{r['duplicated']:>3} {r['p50_s']:>6.2f} {r['p99_s']:>6.2f} {r['messages']:>5} {r['not_sent']:>6} "
        f"{r['received_twice']:>5} {r['via_sms']:>4} {r['sev1_p99_s']:>6.1f} {r['drain_s']:>7.1f}  {r['aim']}"
    )


def run_stack(args: argparse.Namespace, name: str) -> list[dict]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "var" / "bench" / f"chaos-{name}-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-chaos-{name}-"))
    results = []
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        stack = Stack(args, name, tmp, log_dir, cleanup)
        stack.receivers.smtp_up()
        os.environ.clear()
        os.environ.update(stack.env)
        with open(log_dir / "migrate.log", "wb") as log:
            if subprocess.call([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=stack.env,
                               stdout=log, stderr=subprocess.STDOUT):
                raise SystemExit(f"chaos: migrate failed; see {log_dir / 'migrate.log'}")
        import django

        django.setup()
        from django.db import connection
        from django.template import engines

        import escalportal.celery  # noqa: F401 - the app the load queues through

        engines["django"].engine.dirs.append(str(TEMPLATES))  # the probe message template
        cleanup.callback(connection.close)
        stack.start()
        _wait_ready(stack)
        say(f"{name}: up; logs in {log_dir.relative_to(ROOT)}")
        for scenario in args.scenario or SCENARIOS[name]:
            if scenario not in SCENARIOS[name]:
                say(f"{name}: no {scenario} scenario on this stack")
                continue
            results.append(run_scenario(stack, scenario))
    return results


def _wait_ready(stack: Stack) -> None:
    from apps.notifications.models import DeliveryHeartbeat
    from apps.timers.models import SweepHeartbeat

    t0 = time.monotonic()
    while not (SweepHeartbeat.objects.exists() and DeliveryHeartbeat.objects.exists()):
        stack.supervise()
        if time.monotonic() - t0 > 120:
            raise SystemExit(f"chaos: no sweep or delivery heartbeat after 120 s; see {stack.log_dir}")
        time.sleep(0.5)


def _raise_interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if args.stack != "both":
        try:
            with cpu_hogs(args.with_load):
                results = run_stack(args, args.stack)
        except KeyboardInterrupt:
            say("interrupted; everything started has been stopped")
            return 130
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, default=str))
    else:  # each stack in a child: Django is set up once per process
        results = []
        with tempfile.TemporaryDirectory(prefix="bench-chaos-") as tmp:
            for name in STACKS:
                out = os.path.join(tmp, f"{name}.json")
                argv_child = [PY, __file__, "--stack", name, "--json-out", out, *_passed_on(args)]
                subprocess.call(argv_child, cwd=ROOT)
                if os.path.exists(out):
                    results += json.loads(Path(out).read_text())
    print(HEADER)
    for r in results:
        print(row(r) + f"  load {r.get('loadavg', '?')}" + (f", {r['with_load']} hog(s)" if r.get("with_load") else ""))
    return 0 if results and all(r["aim"] == "ok" for r in results) else 1


def _passed_on(args: argparse.Namespace) -> list[str]:
    out = [f"--rate={args.rate}", f"--messages={args.messages}", f"--storm={args.storm}",
           f"--redis-down={args.redis_down}", f"--pg-down={args.pg_down}", f"--smtp-down={args.smtp_down}",
           f"--load-after={args.load_after}", f"--drain-timeout={args.drain_timeout}",
           f"--with-load={args.with_load}"]
    return out + [f"--scenario={s}" for s in args.scenario]


if __name__ == "__main__":
    sys.exit(main())
