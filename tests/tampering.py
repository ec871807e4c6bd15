"""Tampering with the audit trail the way a database administrator could, for the tests that
prove the hash chain catches it. PostgreSQL's append-only trigger would refuse the ORM's
UPDATE and DELETE, so it is disabled around the change, as a table owner can do."""

from __future__ import annotations

import contextlib

from django.db import connection

TABLE = "audit_auditevent"


def sql(statement: str, params: list | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


@contextlib.contextmanager
def as_a_dba():
    """Raw SQL with the append-only trigger disabled (PostgreSQL has one; SQLite has none)."""
    if connection.vendor == "postgresql":
        sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
    try:
        yield sql
    finally:
        if connection.vendor == "postgresql":
            sql(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
