"""``PortalTable`` prints its rows in Python (apps/common/tables.py); what it prints must be what
django-tables2's own template prints for the same table, cell for cell. Each portal table is
rendered both ways over rows that exercise its branches (choices, links, defaults, empty values,
badges, times) and the two bodies compared."""

from __future__ import annotations

import re
from datetime import timedelta

import django_tables2 as tables
import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone

from apps.approvals.models import ApprovalDecision, ApprovalRequest
from apps.approvals.tables import DecisionTable
from apps.common.tables import PortalTable
from apps.contacts.models import Person
from apps.escalations.models import Escalation
from apps.escalations.tables import EscalationTable
from apps.policies.models import ChangeFreeze, Service

NOW = timezone.now()


def body(html: str) -> str:
    found = re.search(r"<tbody[^>]*>(.*?)</tbody>", html, re.S)
    assert found, html[:500]
    return re.sub(r">\s+<", "><", found[1].strip())


def both_ways(table_class, rows) -> tuple[str, str]:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    ours = table_class(rows)
    theirs = table_class(rows)
    theirs.template_name = "django_tables2/bootstrap5.html"  # the library's row loop
    return body(ours.as_html(request)), body(theirs.as_html(request))


def escalations() -> list[Escalation]:
    rows = []
    for i, status in enumerate(
        ["open", "acknowledged", "awaiting_approval", "resolved", "closed", "withdrawn"]
    ):
        esc = Escalation(
            id=i + 1,
            reference=f"ESC-2026-{i:05d}",
            title=f"Payments <b>failing</b> & {i}" if i % 2 else '=HYPERLINK("x")',
            status=status,
            severity=["sev1", "sev2", "sev3"][i % 3],
            next_due_at=NOW + timedelta(minutes=i) if i < 4 else None,
            current_level=i,
            raised_at=NOW - timedelta(hours=i),
            confidential=i == 2,
        )
        esc.owner = Person(id=1, full_name="Grace O'Lindqvist") if i != 3 else None
        esc.service = Service(id=1, name="Payments & API") if i != 4 else None
        rows.append(esc)
    return rows


def decisions() -> list[ApprovalDecision]:
    esc = Escalation(id=7, reference="ESC-2026-00007")
    approver = Person(id=2, full_name="Eleanor Vance")
    with_escalation = ApprovalRequest(
        id=3, escalation=esc, level=3, level_name="Chief <Executive>", approver=approver
    )
    freeze = ApprovalRequest(id=4, freeze=ChangeFreeze(id=5, name="Year end"), approver=approver)
    rows = []
    for i, (outcome, approval) in enumerate(
        [
            ("approved", with_escalation),
            ("rejected", freeze),
            ("rerouted", with_escalation),
            ("withdrawn", freeze),
        ]
    ):
        rows.append(
            ApprovalDecision(
                id=i + 1,
                approval=approval,
                outcome=outcome,
                decided_by_name="" if i == 2 else "Lee Lead",
                on_behalf_of_name="Cass" if i == 1 else "",
                reason="" if i == 3 else "Fix it <today>",
                at=NOW - timedelta(days=i),
                waited_seconds=[25, 4000, 90000, 0][i],
            )
        )
    return rows


@pytest.mark.parametrize(
    ("table_class", "rows"), [(EscalationTable, escalations), (DecisionTable, decisions)]
)
def test_the_fast_body_is_the_librarys_body(table_class, rows):
    ours, theirs = both_ways(table_class, rows())
    assert ours == theirs
    assert ours.count("<tr ") == len(rows())


def test_an_empty_table_says_its_empty_text():
    ours, theirs = both_ways(EscalationTable, [])
    assert ours == theirs and "No escalation matches these filters." in ours


def test_callable_attributes_and_row_attributes_are_computed_per_cell_as_the_library_does():
    class Coloured(PortalTable):
        title = tables.Column(attrs={"td": {"data-len": lambda value: len(str(value))}})
        severity = tables.Column(default="none")

        class Meta:
            model = Escalation
            fields = ["title", "severity"]
            row_attrs = {"data-ref": lambda record: record.reference}
            template_name = "includes/_table.html"

    rows = escalations()
    rows[0].severity = ""
    ours, theirs = both_ways(Coloured, rows)
    assert ours == theirs and 'data-ref="ESC-2026-00001"' in ours and ">none<" in ours


def test_every_portal_table_is_a_portal_table():
    """A table printed by includes/_table.html that is not a PortalTable would print no rows."""
    from django.apps import apps as registry

    for config in registry.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            module = __import__(f"{config.name}.tables", fromlist=["*"])
        except ModuleNotFoundError:
            continue
        for name, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, tables.Table) and obj.__module__ == module.__name__:
                assert issubclass(obj, PortalTable), f"{module.__name__}.{name}"
