"""Start-up configuration: bad values stop the process with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['ENGINE']); print(settings.CELERY_BROKER_URL); "
    "print(settings.DEBUG, getattr(settings, 'SESSION_COOKIE_SECURE', False), "
    "getattr(settings, 'SECURE_HSTS_SECONDS', 0))"
)
CLEAN = {
    k: v
    for k, v in os.environ.items()
    if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
}


def start(tmp_path, **env):
    full = {
        **CLEAN,
        "DJANGO_SETTINGS_MODULE": "escalportal.settings",
        "ESCALPORTAL_VAR_DIR": str(tmp_path),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", SNIPPET], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


def test_with_nothing_set_it_runs_on_sqlite_and_the_embedded_broker(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    engine, broker, flags = result.stdout.splitlines()[:3]
    assert engine == "django.db.backends.sqlite3"
    assert broker == f"sqlalchemy+sqlite:///{tmp_path / 'celery-broker.sqlite3'}"
    assert flags == "True False 0"


@pytest.mark.parametrize(
    "env,fragment",
    [
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "DATABASE_URL has unsupported scheme 'mysql'"),
        ({"DATABASE_URL": "postgresql://u:p@h:notaport/db"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": "postgresql://u:p@h:5432/"}, "DATABASE_URL names no database"),
        ({"CELERY_BROKER_URL": "amqq://x"}, "CELERY_BROKER_URL has unsupported scheme 'amqq'"),
        ({"CELERY_BROKER_URL": "redis://host:port/0"}, "CELERY_BROKER_URL has a malformed port"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters"),
        ({"TIMERS_SWEEP_INTERVAL": "0"}, "TIMERS_SWEEP_INTERVAL=0 must be at least 1"),
        (
            {"NOTIFICATIONS_RETRY_SECONDS": "30,2m"},
            "NOTIFICATIONS_RETRY_SECONDS='30,2m': '2m' is not a whole",
        ),
        ({"NOTIFICATIONS_RETRY_SECONDS": "30,0"}, "every value must be at least 1"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_clear_line(tmp_path, env, fragment):
    result = start(tmp_path, **env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert lines[0].startswith("escalportal: configuration error:") and fragment in lines[0]


def test_production_mode_is_strict(tmp_path):
    result = start(tmp_path, DEBUG="0", SECRET_KEY="x" * 50, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2] == "False True 31536000"


def test_postgres_and_redis_urls_are_accepted(tmp_path):
    result = start(
        tmp_path,
        DATABASE_URL="postgresql://portal:secret@db.internal:5432/escalportal",
        CELERY_BROKER_URL="redis://redis.internal:6379/1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "django.db.backends.postgresql",
        "redis://redis.internal:6379/1",
    ]
