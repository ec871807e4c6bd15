#!/usr/bin/env python
"""Exports benchmark (issue 13, item 4): a 1,000,000-row decision-log export on PostgreSQL,
served as the Procfile serves it, with PostgreSQL's temporary files and the processes'
memory watched.

    .venv/bin/python bench/exports.py                    # 1,000,000 decisions
    .venv/bin/python bench/exports.py --count 50000      # a quick look
    .venv/bin/python bench/exports.py --hog              # with a CPU-bound process beside it

1. Throwaway PostgreSQL and Redis (``tests/servers.py``), ``migrate`` with ``tests.settings``
   and ``DEBUG=0``. The organisation of the approval tests (``tests/approvals/conftest.py``)
   with ``--requests`` approval requests raised through the real services, then ``--count``
   decisions on them written with ``COPY`` (fixture data: decisions are append-only rows, and
   ``COPY`` is how a million of them arrive in seconds), spread over two years, then ``VACUUM
   ANALYZE``.
2. gunicorn as the Procfile starts it (``--workers 2``, default 30 s timeout) and one Celery
   worker (``--queues=celery``). The auditor's session is made here and its cookie sent.
3. The export as a person asks for it: ``GET /approvals/log/?export=csv``. Over
   ``EXPORT_STREAM_MAX_ROWS`` (default) it answers with the job's page; the job's status is
   polled until it is ready and the file is downloaded, every line counted, the trailer
   checked. ``--stream-too`` also asks a second gunicorn whose ``EXPORT_STREAM_MAX_ROWS`` is
   above the count to stream it all: that shows the rows per second of streaming (which sets
   the default limit) and what a download cut off by the worker timeout looks like.
4. Reported: wall time, rows, whether the trailer is there and matches, PostgreSQL
   ``temp_bytes`` (``pg_stat_database``) before and after each run, and the resident memory of
   every gunicorn and Celery process sampled every 0.5 s (first, peak, last).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT))
TRAILER = re.compile(rb"# end of export: (\d+) rows?\r\n$")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=1_000_000, help="decisions in the log")
    p.add_argument("--requests", type=int, default=8, help="approval requests the decisions are spread over")
    p.add_argument("--hog", action="store_true", help="a CPU-bound process runs beside everything measured")
    p.add_argument(
        "--stream-too", action="store_true", help="also stream the whole log from a second gunicorn"
    )
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for the job")
    p.add_argument("--explain", action="store_true", help="print the plans of the count and of two chunks")
    return p.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Servers and data


def start_stack(cleanup: contextlib.ExitStack, work: Path) -> dict:
    from tests.servers import PostgresServer, RedisServer

    pg = PostgresServer(work / "pg")
    cleanup.callback(pg.stop)
    pg.start()
    rd = RedisServer(work / "redis")
    cleanup.callback(rd.stop)
    rd.start()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=pg.create_database("bench_exports"),
        CELERY_BROKER_URL=rd.url(db=0),
        ESCALPORTAL_VAR_DIR=str(work / "var"),
        EXPORT_DIR=str(work / "exports"),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    os.environ.clear()
    os.environ.update(env)
    rc = subprocess.call(
        [PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    if rc:
        raise SystemExit(f"bench: migrate failed ({rc})")
    import django

    django.setup()
    return env


def seed(count: int, requests: int):
    """The approval tests' organisation, ``requests`` real requests, ``count`` decisions by COPY."""
    from django.db import connection

    from apps.approvals.models import ApprovalDecision
    from tests.approvals.conftest import MONDAY_0900, ask_for_the_cto, build_org, to_level_two

    org = build_org()
    approvals = [
        ask_for_the_cto(
            org,
            to_level_two(org, at=MONDAY_0900 + timedelta(hours=i)),
            at=MONDAY_0900 + timedelta(hours=i, minutes=5),
        )
        for i in range(requests)
    ]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(days=730) / count
    t0 = time.monotonic()
    table = ApprovalDecision._meta.db_table
    columns = "approval_id, outcome, decided_by_username, decided_by_name, on_behalf_of_name, reason, at, waited_seconds"
    connection.ensure_connection()  # autocommit: the COPY is one statement
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for i in range(count):
            copy.write_row(
                (
                    approvals[i % requests].pk,
                    ("approved", "rejected", "rerouted")[i % 3],
                    "lead",
                    "Lee Lead",
                    "",
                    f"Decision {i}: the level below can still fix it.",
                    start + step * i,
                    600 + i % 86400,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    say(f"seeded {count:,} decisions over {requests} requests in {time.monotonic() - t0:.1f}s")
    return org


def explain(user) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the estimate, the first chunk and a chunk from the middle."""
    from django.conf import settings
    from django.db import connection
    from django.http import QueryDict

    from apps.approvals.exports import DECISION_LOG
    from apps.common.csvexport import _beyond

    qs = DECISION_LOG.queryset(user, QueryDict()).order_by(*DECISION_LOG.order)
    middle = qs[qs.count() // 2]
    chunk = qs.filter(_beyond(["at", "id"], [middle.at, middle.id], True, False))[: DECISION_LOG.chunk_size]
    limited = qs[: settings.EXPORT_STREAM_MAX_ROWS + 1]
    for name, query in (
        ("estimate (LIMIT-ed count)", None),
        ("first chunk", qs[:2000]),
        ("middle chunk", chunk),
    ):
        if query is None:
            from django.db.models.sql.subqueries import AggregateQuery  # noqa: F401 - documentation only

            sql, params = limited.query.sql_with_params()
            sql = f"SELECT COUNT(*) FROM ({sql}) AS sub"
        else:
            sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            say(f"plan of the {name}:")
            for (line,) in cursor.fetchall():
                print("    " + line)


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def temp_bytes() -> int:
    from django.db import connection

    time.sleep(1.5)  # backends flush their statistics about once a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


# --------------------------------------------------------------------------------------------
# Processes and memory


def start(
    name: str, cmd: list[str], env: dict, work: Path, cleanup: contextlib.ExitStack
) -> subprocess.Popen:
    log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - closed at exit
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )

    def stop():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()

    cleanup.callback(stop)
    return proc


def family(pid: int) -> list[int]:
    out = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            out += family(int(child))
    return out


def rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


class MemorySampler(threading.Thread):
    """Every 0.5 s, the RSS of each process under the named roots: {(name, pid): [KiB, ...]}."""

    def __init__(self, roots: dict[str, int]):
        super().__init__(daemon=True)
        self.roots, self.samples, self.done = roots, {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for name, root in self.roots.items():
                for pid in family(root):
                    if (kib := rss_kib(pid)) is not None:
                        self.samples.setdefault((name, pid), []).append(kib)
            self.done.wait(0.5)

    def report(self) -> list[str]:
        self.done.set()
        self.join()
        return [
            f"    {name} pid {pid}: RSS first {s[0] / 1024:.0f} MiB, peak {max(s) / 1024:.0f} MiB, last {s[-1] / 1024:.0f} MiB ({len(s)} samples)"
            for (name, pid), s in sorted(self.samples.items())
        ]


def wait_http(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: nothing listens on {port}")


# --------------------------------------------------------------------------------------------
# The export


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(port: int, path: str, cookie: str, *, follow: bool = True):
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"sessionid={cookie}"}
    )
    try:
        return opener.open(request, timeout=600)
    except urllib.error.HTTPError as exc:
        return exc


def count_body(response) -> tuple[int, bytes, int]:
    """(lines, the last 80 bytes, bytes) of a body read in 1 MiB blocks; a cut-off body ends
    early (gunicorn closes the connection), which urllib may report as an error."""
    lines, size, tail = 0, 0, b""
    try:
        while block := response.read(1 << 20):
            lines += block.count(b"\n")
            size += len(block)
            tail = (tail + block)[-80:]
    except Exception as exc:  # noqa: BLE001 - a dropped connection is what we measure
        partial = getattr(exc, "partial", b"") or b""  # http.client.IncompleteRead: what did arrive
        lines, size, tail = lines + partial.count(b"\n"), size + len(partial), (tail + partial)[-80:]
        say(f"  the body ended with {type(exc).__name__} ({len(partial):,} bytes of its last block)")
    return lines, tail, size


def verdict(lines: int, tail: bytes, count: int) -> str:
    found = TRAILER.search(tail)
    if not found:
        return f"NO trailer: the file is visibly incomplete ({lines - 1:,} lines after the header)"
    return f"trailer '{found.group(0).decode().strip()}', rows {'match' if int(found.group(1)) == count else 'DO NOT match'}"


def run_job(port: int, cookie: str, count: int, timeout: float) -> None:
    t0 = time.monotonic()
    first = get(port, "/approvals/log/?export=csv", cookie, follow=False)
    location = first.headers.get("Location", "")
    say(f"  GET /approvals/log/?export=csv -> {first.status} {location} in {time.monotonic() - t0:.2f}s")
    job = re.search(r"/exports/(\d+)/", location)
    if not job:
        raise SystemExit("bench: the export did not become a job")
    status = f"/exports/{job.group(1)}/status/"
    while time.monotonic() - t0 < timeout:
        page = get(port, status, cookie).read().decode()
        if "Ready to download" in page or "Did not finish" in page:
            break
        time.sleep(2)
    written = time.monotonic() - t0
    shown = re.search(r"<strong>([\d,]+) rows</strong>", page)
    say(
        f"  job finished after {written:.1f}s; the page shows {shown.group(1) if shown else '?'} rows beside the file"
    )
    t1 = time.monotonic()
    lines, tail, size = count_body(get(port, f"/exports/{job.group(1)}/download/", cookie))
    say(f"  downloaded {size / 1e6:.0f} MB in {time.monotonic() - t1:.1f}s: {verdict(lines, tail, count)}")


def run_stream(port: int, cookie: str, count: int) -> None:
    t0 = time.monotonic()
    response = get(port, "/approvals/log/?export=csv", cookie)
    first_byte = time.monotonic() - t0
    lines, tail, size = count_body(response)
    took = time.monotonic() - t0
    say(
        f"  status {response.status}, first byte after {first_byte:.2f}s, {lines - 2:,} rows in {took:.1f}s "
        f"({(lines - 2) / took:,.0f} rows/s, {size / 1e6:.0f} MB): {verdict(lines, tail, count)}"
    )


def main() -> int:
    args = parse_args()
    work = ROOT / "var" / "bench" / f"exports-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True)
    with contextlib.ExitStack() as cleanup:
        env = start_stack(cleanup, work)
        org = seed(args.count, args.requests)
        if args.explain:
            explain(org.auditor)
        cookie = session_cookie(org.auditor)
        from django.db import connection

        connection.close()
        gunicorn = [PY, "-m", "gunicorn", "escalportal.wsgi", "--workers", "2", "--access-logfile", "-"]
        port = free_port()
        web = start("web", [*gunicorn, "--bind", f"127.0.0.1:{port}"], env, work, cleanup)
        worker = start(
            "worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "escalportal",
                "worker",
                "--queues=celery",
                "--concurrency=1",
                "--loglevel=INFO",
            ],
            env,
            work,
            cleanup,
        )
        roots = {"gunicorn": web.pid, "celery": worker.pid}
        if args.stream_too:
            stream_port = free_port()
            streamer = start(
                "web-stream",
                [*gunicorn, "--bind", f"127.0.0.1:{stream_port}"],
                {**env, "EXPORT_STREAM_MAX_ROWS": str(args.count * 2)},
                work,
                cleanup,
            )
            roots["gunicorn (streaming)"] = streamer.pid
            wait_http(stream_port)
        wait_http(port)
        for p in [port, stream_port] if args.stream_too else [port]:
            for _ in range(4):  # each gunicorn worker's first request loads templates and URLs
                get(p, "/exports/", cookie).read()
        time.sleep(3)  # the worker connects to Redis
        if args.hog:
            hog = start("hog", [PY, "-c", "while 1: pass"], env, work, cleanup)
            say(f"a CPU-bound process (pid {hog.pid}) runs beside the measurement")
        say(f"load average {os.getloadavg()[0]:.2f}; logs in {work}")

        say(f"export of {args.count:,} decisions as a job:")
        before, sampler = temp_bytes(), MemorySampler(roots)
        sampler.start()
        run_job(port, cookie, args.count, args.timeout)
        say(f"  PostgreSQL temp files written: {(temp_bytes() - before) / 1e6:.1f} MB")
        for line in sampler.report():
            print(line)
        if args.stream_too:
            say(f"the same {args.count:,} decisions streamed (EXPORT_STREAM_MAX_ROWS above the count):")
            before, sampler = temp_bytes(), MemorySampler(roots)
            sampler.start()
            run_stream(stream_port, cookie, args.count)
            say(f"  PostgreSQL temp files written: {(temp_bytes() - before) / 1e6:.1f} MB")
            for line in sampler.report():
                print(line)
        say(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
