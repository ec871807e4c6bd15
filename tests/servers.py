"""Throwaway PostgreSQL and Redis servers, started from the binaries on PATH.

Used by the test suite (``tests/plugins/services.py``) and by ``bench/timers.py``::

    with PostgresServer(tmp / "pg") as pg, RedisServer(tmp / "redis") as rd:
        database_url = pg.create_database("escalportal")
        broker_url = rd.url(db=0)

Decisions:

* Binaries come from ``PATH`` first; PostgreSQL's server tools (``initdb``, ``pg_ctl``,
  ``postgres``) also from ``/usr/lib/postgresql/*/bin`` (newest first), which is where Debian's
  ``postgresql-NN`` package puts them without linking them into ``PATH``. ``initdb``, ``pg_ctl``
  and ``postgres`` are always taken from one directory so their versions match.
* ``initdb`` refuses to run as root, and CI runs as root. As root the cluster is owned and run
  by an unprivileged OS user: ``postgres`` when it exists (Debian's package creates it), else a
  system user ``escalportal-pg`` created on first use. Its files live in a dedicated directory
  under the system temp dir (mode 0755, owned by that user), because ``base_dir`` may sit inside
  a root-only temp dir the server could not enter; ``base_dir`` gets a ``cluster`` symlink to it
  and a copy of the server log when the server stops.
* The superuser role is named after the OS user running the server; clients connect over TCP
  on 127.0.0.1 with trust authentication (``url()``), never through the socket. The unix socket
  lives in the cluster directory, so nothing touches ``/var/run/postgresql``.
* Durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the data
  is thrown away with the server.
* A free port is picked by binding port 0; if another process takes it before the server
  does, start-up is retried on a new port.
* ``start()`` raises ``ServiceMissing`` (naming the binary) when a binary is missing, and
  ``RuntimeError`` with the tail of the server's log when the server does not come up.
  ``stop()`` is idempotent and safe to call on a server that never started; an ``atexit`` hook
  stops whatever is still running when the interpreter exits.
"""

from __future__ import annotations

import atexit
import glob
import os
import pathlib
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import weakref

__all__ = ["PostgresServer", "RedisServer", "ServiceMissing", "find_binary"]

PG_TOOLS = frozenset({"initdb", "pg_ctl", "postgres", "pg_isready", "psql", "createdb", "pg_dump"})
PG_USER_FALLBACK = "escalportal-pg"
START_TIMEOUT = 60.0
START_ATTEMPTS = 3


class ServiceMissing(RuntimeError):
    """A server cannot be started because a binary it needs is not installed."""

    def __init__(self, binary: str, hint: str = "") -> None:
        self.binary = binary
        message = f"{binary} not found on PATH"
        if binary in PG_TOOLS:
            message += " nor in /usr/lib/postgresql/*/bin"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


def _version_key(path: str) -> tuple:
    # /usr/lib/postgresql/15/bin/initdb -> (15,); newest first when sorted in reverse.
    match = re.search(r"/postgresql/([0-9.]+)/bin/", path)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()


def find_binary(name: str) -> str | None:
    """The path of ``name``: PATH first, then /usr/lib/postgresql/*/bin (newest) for PG tools."""
    found = shutil.which(name)
    if found:
        return found
    if name in PG_TOOLS:
        candidates = [
            path for path in glob.glob(f"/usr/lib/postgresql/*/bin/{name}") if os.access(path, os.X_OK)
        ]
        if candidates:
            return max(candidates, key=_version_key)
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: pathlib.Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


_running: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


# --------------------------------------------------------------------------------------------
# PostgreSQL


class PostgresServer:
    """A PostgreSQL cluster of its own: ``initdb`` + ``pg_ctl start`` on a free local port."""

    def __init__(self, base_dir: pathlib.Path) -> None:
        self.base_dir = pathlib.Path(base_dir)
        self.port: int | None = None
        self.user: str = ""
        self.cluster_dir: pathlib.Path | None = None
        self._bindir: pathlib.Path | None = None
        self._run_as: pwd.struct_passwd | None = None
        self._started = False

    # -- paths -------------------------------------------------------------------------------
    @property
    def data_dir(self) -> pathlib.Path:
        assert self.cluster_dir is not None
        return self.cluster_dir / "data"

    @property
    def socket_dir(self) -> pathlib.Path:
        assert self.cluster_dir is not None
        return self.cluster_dir / "sock"

    @property
    def log_file(self) -> pathlib.Path:
        assert self.cluster_dir is not None
        return self.cluster_dir / "postgres.log"

    # -- public API --------------------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        if self.port is None:
            raise RuntimeError("PostgresServer is not started")
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> PostgresServer:
        if self._started:
            return self
        self._bindir = self._find_bindir()
        self._run_as = self._unprivileged_user() if os.geteuid() == 0 else None
        self.user = self._run_as.pw_name if self._run_as else pwd.getpwuid(os.geteuid()).pw_name
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._make_cluster_dir()
        _running.add(self)
        try:
            self._initdb()
            last_error: Exception | None = None
            for _attempt in range(START_ATTEMPTS):
                self.port = free_port()
                self._write_port_config()
                try:
                    self._pg_ctl_start()
                    self._wait_ready()
                    self._started = True
                    return self
                except RuntimeError as exc:
                    last_error = exc
                    self._pg_ctl_stop()
                    if not self._port_taken_in_log():
                        break
            raise last_error or RuntimeError("PostgreSQL did not start")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        _running.discard(self)
        if self.cluster_dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl_stop()
        try:
            if self.log_file.exists():
                self.base_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.log_file, self.base_dir / "postgres.log")
        except OSError:
            pass
        link = self.base_dir / "cluster"
        if link.is_symlink():
            link.unlink(missing_ok=True)
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        self.cluster_dir = None
        self._started = False

    def create_database(self, name: str) -> str:
        """Create database ``name`` (unless it exists) and return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PostgresServer {self.url() if self.port else 'stopped'}>"

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _find_bindir() -> pathlib.Path:
        initdb = find_binary("initdb")
        if initdb is None:
            raise ServiceMissing("initdb", "install postgresql, e.g. apt-get install postgresql")
        bindir = pathlib.Path(os.path.realpath(initdb)).parent
        for tool in ("pg_ctl", "postgres"):
            if not os.access(bindir / tool, os.X_OK):
                if find_binary(tool) is None:
                    raise ServiceMissing(tool, "install postgresql, e.g. apt-get install postgresql")
                raise ServiceMissing(tool, f"not next to {initdb}; versions must match")
        return bindir

    @staticmethod
    def _unprivileged_user() -> pwd.struct_passwd:
        for name in ("postgres", PG_USER_FALLBACK):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        useradd = find_binary("useradd") or "/usr/sbin/useradd"
        if not os.path.exists(useradd):
            raise ServiceMissing("useradd", "needed to create an unprivileged user for PostgreSQL")
        subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                PG_USER_FALLBACK,
            ],
            check=False,
            capture_output=True,
        )
        try:
            return pwd.getpwnam(PG_USER_FALLBACK)
        except KeyError:
            raise RuntimeError(
                f"initdb refuses to run as root and no 'postgres' user exists; "
                f"could not create system user {PG_USER_FALLBACK!r} with useradd"
            ) from None

    def _make_cluster_dir(self) -> None:
        # Outside base_dir: base_dir may be inside a 0700 root-only temp dir.
        self.cluster_dir = pathlib.Path(tempfile.mkdtemp(prefix="escalportal-pg-"))
        os.chmod(self.cluster_dir, 0o755)
        self.socket_dir.mkdir(mode=0o755)
        if self._run_as:
            for path in (self.cluster_dir, self.socket_dir):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
        link = self.base_dir / "cluster"
        try:
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(self.cluster_dir)
        except OSError:
            pass

    def _run(self, argv: list[str], *, timeout: float) -> subprocess.CompletedProcess:
        env = {
            "PATH": f"{self._bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": str(self.cluster_dir),
        }
        kwargs: dict = {}
        if self._run_as:
            kwargs.update(user=self._run_as.pw_uid, group=self._run_as.pw_gid, extra_groups=[])
        return subprocess.run(
            argv,
            cwd=self.cluster_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def _initdb(self) -> None:
        result = self._run(
            [
                str(self._bindir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            timeout=120,
        )
        if result.returncode:
            raise RuntimeError(
                f"initdb failed (exit {result.returncode}) as user {self.user!r}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
            "log_min_error_statement": "panic",
            "timezone": "'UTC'",
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# tests/servers.py\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _write_port_config(self) -> None:
        # postgresql.auto.conf is read after postgresql.conf: the last port written wins.
        auto = self.data_dir / "postgresql.auto.conf"
        with open(auto, "a") as conf:
            conf.write(f"port = {self.port}\n")

    def _pg_ctl_start(self) -> None:
        try:
            result = self._run(
                [
                    str(self._bindir / "pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(self.log_file),
                    "--wait",
                    "--timeout",
                    str(int(START_TIMEOUT)),
                ],
                timeout=START_TIMEOUT + 10,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(self._failure("pg_ctl start timed out")) from None
        if result.returncode:
            raise RuntimeError(
                self._failure(f"pg_ctl start failed (exit {result.returncode}): {result.stderr.strip()}")
            )

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise RuntimeError(self._failure(f"PostgreSQL not accepting connections on {self.url()}: {last}"))

    def _pg_ctl_stop(self) -> None:
        if self._bindir is None or self.cluster_dir is None:
            return
        try:
            self._run(
                [
                    str(self._bindir / "pg_ctl"),
                    "stop",
                    "--pgdata",
                    str(self.data_dir),
                    "--mode",
                    "immediate",
                    "--wait",
                    "--timeout",
                    "30",
                ],
                timeout=40,
            )
        except subprocess.TimeoutExpired:
            pass
        self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        except PermissionError:
            return

    def _port_taken_in_log(self) -> bool:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return False
        return "Address already in use" in text or "could not bind" in text

    def _failure(self, message: str) -> str:
        return f"{message}\n--- tail of {self.log_file} ---\n{_tail(self.log_file)}"


# --------------------------------------------------------------------------------------------
# Redis


class RedisServer:
    """``redis-server`` on a free 127.0.0.1 port, no persistence, logs under ``base_dir``."""

    def __init__(self, base_dir: pathlib.Path) -> None:
        self.base_dir = pathlib.Path(base_dir)
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def log_file(self) -> pathlib.Path:
        return self.base_dir / "redis.log"

    def url(self, db: int = 0) -> str:
        if self.port is None:
            raise RuntimeError("RedisServer is not started")
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        if self.process is not None and self.process.poll() is None:
            return self
        binary = find_binary("redis-server")
        if binary is None:
            raise ServiceMissing("redis-server", "install redis, e.g. apt-get install redis-server")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        _running.add(self)
        last = ""
        try:
            for _attempt in range(START_ATTEMPTS):
                self.port = free_port()
                with open(self.log_file, "ab") as log:
                    self.process = subprocess.Popen(
                        [
                            binary,
                            "--port",
                            str(self.port),
                            "--bind",
                            "127.0.0.1",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            str(self.base_dir),
                            "--daemonize",
                            "no",
                            "--protected-mode",
                            "no",
                            "--databases",
                            "16",
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        cwd=self.base_dir,
                        start_new_session=True,
                    )
                if self._wait_ready():
                    return self
                last = _tail(self.log_file)
                self._terminate()
                if "Address already in use" not in last:
                    break
            raise RuntimeError(f"redis-server did not answer PING\n--- tail of {self.log_file} ---\n{last}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def stop(self) -> None:
        _running.discard(self)
        self._terminate()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RedisServer {self.url() if self.port else 'stopped'}>"
