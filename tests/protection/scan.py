"""Looking for traces of a reporter: every row of every table, and log lines."""

from __future__ import annotations

import shlex
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_hits(needles: list[str]) -> list[str]:
    """``table.column`` for each needle found in any value of any table (raw SQL, so history
    tables, guardian's tables, sessions, the outbox and the audit chain are all read)."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    text = (
                        value.decode("utf-8", "replace")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    )
                    hits += [f"{table}.{column} holds {n!r}" for n in needles if n and n in text]
    return hits


def procfile_access_log_format() -> str:
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    args = shlex.split(web.removeprefix("web:"))
    return args[args.index("--access-logformat") + 1]


def gunicorn_access_line(*, path: str, method: str, remote_addr: str, user_agent: str) -> str:
    """The line gunicorn writes for a request with the Procfile's access log format."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", procfile_access_log_format())
    logger = Logger(cfg)
    environ = {
        "REMOTE_ADDR": remote_addr,
        "HTTP_USER_AGENT": user_agent,
        "HTTP_X_FORWARDED_FOR": remote_addr,
        "REQUEST_METHOD": method,
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    req = SimpleNamespace(
        headers=[("USER-AGENT", user_agent), ("X-FORWARDED-FOR", remote_addr)],
        method=method,
        uri=path,
        path=path,
        query="",
        version=(1, 1),
        peer_addr=(remote_addr, 5555),
    )
    resp = SimpleNamespace(status="200 OK", response_length=1234, sent=1234, headers=[])
    atoms = logger.atoms(resp, req, environ, timedelta(milliseconds=12))
    return logger.cfg.access_log_format % atoms
