"""Dependencies between apps point one way (DESIGN.md, "Layout"), and reads never import writes.

Every module under ``apps/`` is parsed; each import of another app must point down the order
below, or the test fails naming the module, the line and the rule. The shell (``escalportal``)
sits above every app and may import them all; no app imports it.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# What each app may import, besides itself. The platform (accounts, audit, notifications,
# timers) is used by every domain app and imports none: audit's pages use accounts' access
# rules while accounts writes audit events, so the four may import each other.
COMMON = {"common"}
PLATFORM = {"accounts", "audit", "notifications", "timers", "protection", "exports"}
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    **{app: COMMON | PLATFORM for app in PLATFORM},
    "contacts": COMMON | PLATFORM,
    "policies": COMMON | PLATFORM | {"contacts"},
    "escalations": COMMON | PLATFORM | {"contacts", "policies"},
    "approvals": COMMON | PLATFORM | {"contacts", "policies", "escalations"},
    "demo": COMMON | PLATFORM | {"contacts", "policies", "escalations", "approvals"},
}
# A read that is itself recorded: opening a sensitive record writes its audit event in the
# same transaction (DESIGN.md, "Audit and retention"), so reads may write that one thing.
READS_MAY_WRITE = {"apps.audit.services"}


def imports_of(path: pathlib.Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def is_read_module(path: pathlib.Path) -> bool:
    return path.stem == "selectors" or "selectors" in path.parts


def violations(root: pathlib.Path = ROOT) -> list[str]:
    """Every import under ``root/apps`` against the order, as readable sentences."""
    found = []
    for path in sorted((root / "apps").rglob("*.py")):
        relative = path.relative_to(root)
        if "migrations" in relative.parts:
            continue
        app = relative.parts[1] if len(relative.parts) > 2 else None
        for line, module in imports_of(path):
            where = f"{relative}:{line} imports {module}"
            if module == "escalportal" or module.startswith("escalportal."):
                found.append(f"{where}: apps never import the portal shell")
                continue
            if not module.startswith("apps.") or app is None:
                continue
            other = module.split(".")[1]
            if other != app and other not in ALLOWED.get(app, set()):
                if app not in ALLOWED:
                    found.append(f"{where}: '{app}' has no place in the order yet (tests/test_import_order.py)")
                else:
                    found.append(f"{where}: '{app}' may not depend on '{other}' (it is above it, or beside it)")
            if is_read_module(path) and ".services" in module and module not in READS_MAY_WRITE:
                found.append(f"{where}: reads never import writes (selectors may not import services)")
    return found


def test_every_app_imports_only_what_is_below_it():
    assert violations() == []


@pytest.mark.parametrize(
    "app,source,expected",
    [
        ("contacts", "from apps.escalations.models import Escalation\n", "may not depend on 'escalations'"),
        ("audit", "from apps.contacts.models import Person\n", "may not depend on 'contacts'"),
        ("common", "import apps.accounts.roles\n", "may not depend on 'accounts'"),
        ("policies", "from escalportal.views import home\n", "never import the portal shell"),
        ("newapp", "from apps.accounts import roles\n", "has no place in the order"),
    ],
)
def test_the_checker_catches_an_upward_import(tmp_path, app, source, expected):
    module = tmp_path / "apps" / app / "views.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    [problem] = violations(tmp_path)
    assert expected in problem and f"apps/{app}/views.py:1" in problem


def test_the_checker_catches_a_read_importing_a_write(tmp_path):
    module = tmp_path / "apps" / "escalations" / "selectors.py"
    module.parent.mkdir(parents=True)
    module.write_text("from apps.escalations.services import escalation_raise\n")
    [problem] = violations(tmp_path)
    assert "reads never import writes" in problem


def test_a_downward_import_is_fine(tmp_path):
    module = tmp_path / "apps" / "approvals" / "views.py"
    module.parent.mkdir(parents=True)
    module.write_text("from apps.escalations.selectors import visible_escalations\nimport apps.common.csvexport\n")
    assert violations(tmp_path) == []
