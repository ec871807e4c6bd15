"""Reading configuration from the environment.

Every helper names the variable it read when the value is wrong and stops start-up with one
line (``SystemExit``), like healthchecks' ``envbool``/``envint``: a portal that half-starts on a
typo in ``DATABASE_URL`` is worse than one that refuses to start.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(SystemExit):
    """A configuration mistake: exits with status 1 and a single explanatory line."""

    def __init__(self, message: str) -> None:
        super().__init__(f"escalportal: configuration error: {message}")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def env_int_list(name: str, default: list[int], *, minimum: int | None = None) -> list[int]:
    """A comma-separated list of whole numbers, e.g. ``30,120``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    values = []
    for item in raw.split(","):
        try:
            value = int(item.strip())
        except ValueError:
            raise ConfigError(
                f"{name}={raw!r}: {item.strip()!r} is not a whole number (e.g. 30,120)"
            ) from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name}={raw!r}: every value must be at least {minimum}")
        values.append(value)
    return values


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice_list(name: str, default: list[str], *, choices: list[str]) -> list[str]:
    """A comma-separated list whose every item is one of ``choices``; empty means none."""
    values = env_list(name, default)
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise ConfigError(f"{name}: {unknown[0]!r} is not one of {', '.join(choices)}")
    return values


def env_mapping(name: str, *, value_choices: list[str]) -> dict[str, str]:
    """``group=role,group=role`` (e.g. ``OIDC_ROLE_MAP=portal-hr=hr_compliance``). Each pair splits
    at its last ``=``, so a group name may itself contain ``=``; when group names contain commas
    (LDAP DNs such as ``cn=hr,ou=groups``) separate the pairs with ``;`` instead. A group may not
    repeat and every value must be one of ``value_choices``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    separator = ";" if ";" in raw else ","
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(separator)):
        if not item:
            continue
        key, eq, value = item.rpartition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key:
            raise ConfigError(f"{name}: {item!r} is not of the form group=role")
        if value not in value_choices:
            raise ConfigError(f"{name}: {item!r} maps to {value!r}, which is not one of {', '.join(value_choices)}")
        if key in mapping:
            raise ConfigError(f"{name}: the group {key!r} is mapped twice")
        mapping[key] = value
    return mapping


def env_url(name: str, default: str = "") -> str:
    """An http(s) URL, or empty."""
    raw = os.environ.get(name, default).strip()
    if raw and (urlsplit(raw).scheme not in ("http", "https") or not urlsplit(raw).netloc):
        raise ConfigError(f"{name}={raw!r} must be an http:// or https:// URL")
    return raw


def database_config(name: str, default_sqlite_path: str) -> dict:
    """Parse ``DATABASE_URL``; SQLite (WAL, immediate transactions, busy timeout) when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return sqlite_config(default_sqlite_path)
    import dj_database_url

    scheme = urlsplit(raw).scheme
    if scheme not in ("postgres", "postgresql", "pgsql", "sqlite"):
        raise ConfigError(
            f"{name} has unsupported scheme {scheme!r}: use postgresql://user:pass@host:5432/db "
            "or sqlite:////absolute/path.sqlite3"
        )
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{name} is malformed ({exc})") from None
    if config["ENGINE"].endswith("sqlite3"):
        return sqlite_config(config["NAME"])
    if not config.get("NAME"):
        raise ConfigError(f"{name} names no database (expected postgresql://…/DBNAME)")
    return config


def sqlite_config(path: str) -> dict:
    # WAL lets the web process read while the worker writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue on the busy timeout instead of failing with "database is
    # locked" when a read transaction tries to upgrade.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }


BROKER_SCHEMES = {"redis", "rediss", "sqlalchemy+sqlite", "sqlalchemy+postgresql", "memory"}


def broker_url(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in BROKER_SCHEMES:
        raise ConfigError(
            f"{name} has unsupported scheme {parts.scheme!r}: use redis://host:6379/0 "
            "or sqlalchemy+sqlite:////path/broker.sqlite3"
        )
    if parts.scheme.startswith("redis"):
        try:
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            raise ConfigError(f"{name} has a malformed port in {raw!r}") from None
        if not parts.hostname:
            raise ConfigError(f"{name} names no host (expected redis://host:6379/0)")
    return raw
