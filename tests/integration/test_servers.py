"""tests/servers.py itself: the throwaway servers the suite and bench/timers.py rely on."""

from __future__ import annotations

import os
import socket

import pytest

from tests.plugins.services import REQUIRE_SERVICES
from tests.servers import PostgresServer, RedisServer, ServiceMissing, find_binary


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_find_binary_looks_on_path_then_in_debian_postgresql_dirs(monkeypatch):
    assert find_binary("no-such-binary-anywhere") is None
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_binary("redis-server") is None
    initdb = find_binary("initdb")  # Debian keeps it in /usr/lib/postgresql/NN/bin, off PATH
    if initdb is None and not REQUIRE_SERVICES:
        pytest.skip("PostgreSQL not installed")
    assert initdb is not None, "REQUIRE_SERVICES=1 but initdb is in no /usr/lib/postgresql/*/bin"
    assert initdb.startswith("/usr/lib/postgresql/")


def test_a_missing_binary_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ServiceMissing, match="redis-server") as missing:
        RedisServer(tmp_path).start()
    assert missing.value.binary == "redis-server"


@pytest.mark.postgres
def test_postgres_server(postgres_server):
    import psycopg

    url = postgres_server.create_database("servers_check")
    assert url == postgres_server.url("servers_check")
    assert postgres_server.create_database("servers_check") == url  # idempotent
    assert url.startswith(f"postgresql://{postgres_server.user}@127.0.0.1:")
    with psycopg.connect(url) as conn:
        user, db, fsync = conn.execute(
            "SELECT current_user, current_database(), current_setting('fsync')"
        ).fetchone()
    assert (user, db, fsync) == (postgres_server.user, "servers_check", "off")
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to an unprivileged user
        assert user != "root"
        assert os.stat(postgres_server.data_dir).st_uid != 0


@pytest.mark.postgres
def test_a_postgres_server_stops_cleanly_and_stop_is_idempotent(tmp_path, postgres_server):
    server = PostgresServer(tmp_path / "pg")
    server.stop()  # never started: nothing to do
    with server:
        port, cluster = server.port, server.cluster_dir
        assert port_open(port) and cluster.exists()
    assert not port_open(port) and not cluster.exists()
    assert (tmp_path / "pg" / "postgres.log").exists()  # the log outlives the cluster
    server.stop()


@pytest.mark.redis
def test_redis_server(redis_server, tmp_path):
    import redis

    client = redis.Redis.from_url(redis_server.url(db=3))
    assert client.ping()
    client.set("k", "v")
    assert client.get("k") == b"v"
    client.close()
    with RedisServer(tmp_path / "redis") as other:
        port = other.port
        assert port != redis_server.port and port_open(port)
    assert not port_open(port)
    other.stop()
