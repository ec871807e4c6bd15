"""Real servers and real Celery processes for the suite (pytest plugin, see tests/conftest.py).

Database
    ``TEST_DATABASE=postgres`` runs the suite on a throwaway PostgreSQL server
    (``tests/servers.py``): ``django_db_modify_db_settings`` points Django's ``default`` database
    at it just before pytest-django creates ``test_escalportal`` there. Otherwise the suite runs
    on SQLite with the test database in a file (``tests/settings.py``), so worker processes
    can open the same database as the test.

Servers
    ``postgres_server`` and ``redis_server`` are session fixtures. A missing binary skips the
    tests that need it, or fails them when ``REQUIRE_SERVICES=1`` (what CI sets).

Workers
    ``celery_cluster`` starts real ``celery worker`` / ``celery beat`` subprocesses against the
    test database (tests using it need ``transactional_db``: the workers only see committed
    rows). Broker: the Redis server on the PostgreSQL pass, a fresh SQLAlchemy-on-SQLite file
    otherwise; the test process publishes to the same broker while the cluster is up.

On PostgreSQL, the audit trail's trigger refuses TRUNCATE, which is how Django empties the
database after a ``transactional_db`` test; the flush the test runner issues disables that
one trigger around its TRUNCATE (in the same transaction), so the trigger stays in force for
everything the tests themselves do.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest

from tests.servers import PostgresServer, RedisServer, ServiceMissing

ROOT = Path(__file__).resolve().parent.parent.parent
ON_POSTGRES = os.environ.get("TEST_DATABASE", "").strip().lower() in {"postgres", "postgresql", "pg"}
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
AUDIT_TABLE = "audit_auditevent"
AUDIT_TRUNCATE_TRIGGER = "audit_event_no_truncate"


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("TEST_DATABASE", "").strip() and not ON_POSTGRES:
        raise pytest.UsageError(
            f"TEST_DATABASE={os.environ['TEST_DATABASE']!r}: use 'postgres' or leave it unset"
        )


def pytest_report_header(config: pytest.Config) -> str:
    database = "PostgreSQL (throwaway server)" if ON_POSTGRES else "SQLite (file)"
    broker = "Redis (throwaway server)" if ON_POSTGRES else "kombu SQLAlchemy on SQLite"
    return (
        f"escalportal: database {database}, worker broker {broker}, REQUIRE_SERVICES={int(REQUIRE_SERVICES)}"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the SQLite pass, deselect what checks PostgreSQL itself (``postgres_only``: it runs on
    the PostgreSQL pass, and a skip would pretend to be a test); on the PostgreSQL pass, label
    what really runs on the servers (``-m postgres`` / ``redis``).

    Under pytest-xdist (``make test`` runs two workers), the tests that start processes of their
    own (Celery workers, beat, servers they stop and start) share one xdist worker, one at a time
    (``--dist loadgroup``): two of them at once on two cores would starve each other's processes
    and turn their time bounds into noise; beside them the other xdist worker runs the rest."""
    for item in items:
        if _starts_processes(item):
            item.add_marker(pytest.mark.xdist_group("processes"))
    if not ON_POSTGRES:
        only_pg = [item for item in items if item.get_closest_marker("postgres_only")]
        if only_pg:
            config.hook.pytest_deselected(items=only_pg)
            items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]
        return
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.get_closest_marker("django_db") or {"db", "transactional_db"} & set(fixtures):
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("worker") or "celery_cluster" in fixtures:
            item.add_marker(pytest.mark.redis)


def _starts_processes(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return (
        "tests/integration/" in item.nodeid
        or item.get_closest_marker("worker") is not None
        or "celery_cluster" in fixtures
    )


def _start_or_skip(server: PostgresServer | RedisServer) -> None:
    """Start ``server``; a missing binary skips, or fails under ``REQUIRE_SERVICES=1``."""
    try:
        server.start()
        return
    except ServiceMissing as exc:
        missing = exc
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {missing.binary} is missing: {missing}", pytrace=False)
    pytest.skip(f"{missing.binary} not installed ({missing})")


# --------------------------------------------------------------------------------------------
# Servers


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    _start_or_skip(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    _start_or_skip(server)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# The database


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest,
    django_db_modify_db_settings_parallel_suffix: None,
) -> None:
    """Point ``default`` at the throwaway PostgreSQL server on ``TEST_DATABASE=postgres``."""
    if not ON_POSTGRES:
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    from django.conf import settings
    from django.db import connections

    from escalportal.env import database_config

    url = server.create_database("escalportal")
    with mock.patch.dict(os.environ, {"DATABASE_URL": url}):
        config = database_config("DATABASE_URL", "")
    connections.close_all()
    default = settings.DATABASES["default"]
    default.clear()  # in place: django.db.connections shares this dict
    default.update(config)
    connections.configure_settings(settings.DATABASES)
    for alias in list(settings.DATABASES):
        try:
            del connections[alias]
        except AttributeError:
            pass
    _let_flush_truncate_the_audit_trail()


def _let_flush_truncate_the_audit_trail() -> None:
    from django.db.backends.postgresql.operations import DatabaseOperations

    if getattr(DatabaseOperations.sql_flush, "_escalportal_tests", False):
        return
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *args, **kwargs):
        statements = original(self, style, tables, *args, **kwargs)
        if statements and AUDIT_TABLE in tables:
            table = self.quote_name(AUDIT_TABLE)
            trigger = self.quote_name(AUDIT_TRUNCATE_TRIGGER)
            statements = [
                f"ALTER TABLE {table} DISABLE TRIGGER {trigger};",
                *statements,
                f"ALTER TABLE {table} ENABLE TRIGGER {trigger};",
            ]
        return statements

    sql_flush._escalportal_tests = True
    DatabaseOperations.sql_flush = sql_flush


def database_url_for_processes() -> str:
    """A URL naming the test database (after pytest-django created it), for other processes."""
    from django.db import connection

    config = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(config["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("worker processes need a file-based SQLite test database (tests/settings.py)")
        return f"sqlite:///{os.path.abspath(name)}"
    if connection.vendor == "postgresql":
        user = config.get("USER") or ""
        password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        return f"postgresql://{auth}{config.get('HOST') or '127.0.0.1'}:{config.get('PORT') or 5432}/{config['NAME']}"
    raise RuntimeError(f"no worker support for database vendor {connection.vendor!r}")


# --------------------------------------------------------------------------------------------
# Celery workers and beat


class Process:
    """A subprocess with its log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._terminated = False
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40) -> str:
        text = "\n".join(self.log().splitlines()[-lines:])
        return f"--- {self.name} (pid {self.pid}, exit {self.popen.poll()}) {self.log_path} ---\n{text}"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, no rollback but the database's own."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM: Celery's warm shutdown."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        self._terminated = True

    def stop(self, timeout: float = 10) -> None:
        """Terminate (unless already asked to), wait, SIGKILL if it hangs; close the log."""
        if self.alive() and not self._terminated:
            self.terminate()
        self._terminated = True
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
        self._log.close()


class CeleryCluster:
    """Celery worker and beat processes on one broker, against the test database."""

    def __init__(self, tmp_dir: Path, database_url: str, broker_url: str, sweep_interval: int = 1) -> None:
        self.tmp_dir = tmp_dir
        self.database_url = database_url
        self.broker_url = broker_url
        self.processes: list[Process] = []
        self._ids = itertools.count(1)
        self._tag = uuid.uuid4().hex[:8]
        var_dir = tmp_dir / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CELERY_", "TIMERS_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=broker_url,
            ESCALPORTAL_VAR_DIR=str(var_dir),
            TIMERS_SWEEP_INTERVAL=str(sweep_interval),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        env.pop("TEST_DATABASE", None)
        self.env = env

    def _celery(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "escalportal"]

    def worker(self, *extra: str, wait: bool = True) -> Process:
        """Start a worker (``--pool=solo``: a task runs in the worker's own process)."""
        n = next(self._ids)
        name = f"worker{n}"
        process = Process(
            name,
            [
                *self._celery(),
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}-{self._tag}@%h",
                *extra,
            ],
            self.env,
            self.tmp_dir / f"{name}.log",
        )
        self.processes.append(process)
        if wait:
            self.wait_for_log(process, " ready.", timeout=60)
        return process

    def beat(self, wait: bool = True) -> Process:
        """Start the one beat: it sends the sweep every ``TIMERS_SWEEP_INTERVAL`` seconds."""
        n = next(self._ids)
        name = f"beat{n}"
        process = Process(
            name,
            [
                *self._celery(),
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.tmp_dir / f'{name}-schedule'}",
            ],
            self.env,
            self.tmp_dir / f"{name}.log",
        )
        self.processes.append(process)
        if wait:
            self.wait_for_log(process, "Sending due task sweep-due-deadlines", timeout=60)
        return process

    def wait_for_log(self, process: Process, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in process.log():
                return
            if not process.alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{process.name} did not log {needle!r} within {timeout}s\n{self.tails()}")

    def tails(self, lines: int = 40) -> str:
        return "\n".join(p.tail(lines) for p in self.processes)

    def start(self, workers: int = 1, beat: bool = True) -> list[Process]:
        """Start ``workers`` workers and (by default) the beat side by side; wait for all."""
        started = [self.worker(wait=False) for _ in range(workers)]
        if beat:
            self.beat(wait=False)
        for process in self.processes:
            if process.name.startswith("worker"):
                self.wait_for_log(process, " ready.", timeout=60)
            else:
                self.wait_for_log(process, "Sending due task sweep-due-deadlines", timeout=60)
        return started

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (Celery's warm shutdown) to every process at once, SIGKILL after ``timeout``."""
        for process in self.processes:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.stop(timeout=max(deadline - time.monotonic(), 0.1))
            except Exception:  # noqa: BLE001 - stop the rest whatever happens
                try:
                    process.popen.kill()
                except OSError:
                    pass


def _use_broker(url: str) -> None:
    """Make the test process publish (``apply_async``, on-commit ETA tasks) to ``url``."""
    from escalportal.celery import app

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app.conf.broker_url = url
    app.conf.broker_write_url = None
    app.conf.broker_read_url = None
    app.conf.broker_transport_options = {"visibility_timeout": 3600} if url.startswith("redis") else {}


def _declare_queues() -> None:
    """Create the broker's tables and task queues before any worker or beat starts.

    kombu's SQLAlchemy transport creates them on first use with a check-then-insert that is
    only guarded within one process: processes starting together on a fresh broker file can
    fail with "UNIQUE constraint failed: kombu_queue.name" or "table already exists".
    """
    from escalportal.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.amqp.queues.values():
            queue.bind(channel).declare()


@pytest.fixture
def celery_broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A broker nobody else uses: a Redis database of its own, or a new SQLite file."""
    if ON_POSTGRES:
        server: RedisServer = request.getfixturevalue("redis_server")
        db = next(_redis_dbs)
        url = server.url(db=db)
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        return url
    return f"sqlalchemy+sqlite:///{tmp_path / 'broker.sqlite3'}"


_redis_dbs = itertools.cycle(range(1, 16))


@pytest.fixture
def celery_cluster(
    request: pytest.FixtureRequest, tmp_path: Path, transactional_db: None, celery_broker_url: str
) -> Iterator[Callable[..., CeleryCluster]]:
    """Factory: ``cluster = celery_cluster()`` then ``cluster.worker()``, ``cluster.beat()``.

    Every process is stopped (SIGTERM, then SIGKILL) at teardown; when the test failed, the
    tail of each log is printed. The test process publishes to the cluster's broker meanwhile.
    """
    from escalportal.celery import app

    previous_broker = app.conf.broker_url
    previous_options = app.conf.broker_transport_options
    clusters: list[CeleryCluster] = []
    base = tmp_path / "celery"  # pytest keeps the last few runs' tmp dirs: logs stay readable

    def make(sweep_interval: int = 1) -> CeleryCluster:
        cluster = CeleryCluster(
            base / f"cluster{len(clusters) + 1}",
            database_url_for_processes(),
            celery_broker_url,
            sweep_interval,
        )
        clusters.append(cluster)
        return cluster

    _use_broker(celery_broker_url)
    _declare_queues()
    request.node._celery_clusters = clusters
    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.stop()
        _use_broker(previous_broker)
        app.conf.broker_transport_options = previous_options


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed worker test shows the tail of every worker and beat log."""
    report = yield
    clusters = getattr(item, "_celery_clusters", None)
    if clusters and report.failed and report.when in ("call", "setup"):
        for cluster in clusters:
            report.sections.append((f"celery logs ({cluster.tmp_dir})", cluster.tails(60)))
    return report
