"""History on every write path (issue 11, item 8): a ``queryset.update()``, ``bulk_create`` or
``bulk_update`` on a history-tracked model writes no history row, so every change must go
through ``save()`` or simple-history's ``bulk_create_with_history`` /
``bulk_update_with_history``, unless it only touches fields the model's history excludes.

The scan parses every module under ``apps/`` and follows each such call back to the model it
is made on: directly (``User.objects.filter(...).update(...)``) or through a local variable
assigned from one (``pending = Deadline.objects.filter(...)``, then ``pending.update(...)``).
A new bulk write on a tracked model fails here, naming the file and line.
"""

from __future__ import annotations

import ast
import pathlib

import pytest
from django.apps import apps as django_apps

ROOT = pathlib.Path(__file__).resolve().parents[2]
BULK = {"update", "bulk_create", "bulk_update"}


def tracked_models() -> dict[str, object]:
    """Model class name -> model, for every model simple-history tracks."""
    from simple_history.manager import HistoryManager

    return {
        model.__name__: model
        for model in django_apps.get_models()
        if isinstance(getattr(model, "history", None), HistoryManager)
    }


def excluded_fields(model) -> set[str]:
    tracked = {f.name for f in model.history.model._meta.get_fields()}
    return {f.name for f in model._meta.concrete_fields} - tracked


def _root(node: ast.AST) -> str | None:
    """The name an attribute/call chain starts from: ``User`` in ``User.objects.filter().update``."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def bulk_writes(source: str, filename: str, tracked: dict) -> list[str]:
    """Every bulk write on a tracked model in ``source`` that would skip its history."""
    tree = ast.parse(source, filename=filename)
    problems = []
    for scope in [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
    ]:
        aliases: dict[str, str] = {}
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                root = _root(node.value)
                if root in tracked:
                    aliases[node.targets[0].id] = root
        for node in ast.walk(scope):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BULK
            ):
                continue
            root = _root(node.func.value)
            model_name = root if root in tracked else aliases.get(root or "")
            if model_name is None:
                continue
            model = tracked[model_name]
            if node.func.attr == "update" and node.keywords:
                if all(k.arg in excluded_fields(model) for k in node.keywords if k.arg):
                    continue  # only fields the history leaves out: nothing of it is skipped
            problems.append(
                f"{filename}:{node.lineno}: {model_name}…{node.func.attr}() writes no history; "
                "use save() or simple_history.utils.bulk_*_with_history"
            )
    return sorted(set(problems))


def test_no_bulk_write_on_a_tracked_model_skips_its_history():
    tracked = tracked_models()
    assert {"Escalation", "ApprovalRequest", "ExecutiveBrief", "Person", "User", "EscalationPolicy"} <= set(
        tracked
    )
    problems = []
    for path in sorted((ROOT / "apps").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        problems += bulk_writes(path.read_text(), str(path.relative_to(ROOT)), tracked)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "code,caught",
    [
        ("Escalation.objects.filter(pk=1).update(status='closed')", True),
        ("qs = Person.objects.filter(team=t)\nqs.update(title='x')", True),
        ("Person.objects.bulk_create([Person()])", True),
        ("EscalationPolicy.objects.bulk_update(rows, ['name'])", True),
        ("User.objects.filter(pk=1).update(session_epoch=F('session_epoch') + 1)", False),  # not tracked
        ("Deadline.objects.filter(pk=1).update(fired_at=now)", False),  # not a tracked model
        ("bulk_update_with_history(rows, Person, ['title'])", False),
        ("data.update(x=1)", False),
    ],
)
def test_the_scan_catches_a_new_bulk_write(code, caught):
    source = "def f():\n" + "\n".join("    " + line for line in code.splitlines())
    assert bool(bulk_writes(source, "new.py", tracked_models())) is caught


@pytest.mark.django_db
def test_signing_out_everywhere_bumps_an_untracked_field_only(raiser):
    """The one bulk write on a tracked model today: ``session_epoch`` is excluded from the
    user's history on purpose (a counter, not a change anyone reviews)."""
    from apps.accounts.models import User
    from apps.accounts.services import user_sign_out_everywhere

    assert "session_epoch" in excluded_fields(User)
    before = User.history.filter(id=raiser.pk).count()
    user_sign_out_everywhere(user=raiser)
    raiser.refresh_from_db()
    assert raiser.session_epoch >= 1 and User.history.filter(id=raiser.pk).count() == before
