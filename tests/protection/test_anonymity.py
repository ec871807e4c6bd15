"""An anonymous report leaves no trace of who sent it (issue 10): after filing one and
following it with its key, no table and no log line holds the client's address, its user agent
or the receipt key, and the web server's access log (the Procfile's format) has neither."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from apps.protection.models import ProtectionReport
from apps.protection.services.intake import LOOKUP_LEN, normalise_key
from tests.protection.scan import database_hits, gunicorn_access_line

pytestmark = pytest.mark.django_db
IP = "203.0.113.77"
AGENT = "Mozilla/5.0 (ReporterMarker-9f3k)"


@pytest.mark.parametrize("signed_in", [False, True])
def test_no_table_and_no_log_holds_the_address_the_agent_or_the_key(client, caplog, raiser, signed_in):
    caplog.set_level(logging.DEBUG)
    if signed_in:
        client.force_login(raiser)  # an anonymous report from a signed-in session is anonymous too
    headers = {"REMOTE_ADDR": IP, "HTTP_USER_AGENT": AGENT, "HTTP_X_FORWARDED_FOR": IP}
    client.get(reverse("protection:report"), **headers)
    response = client.post(
        reverse("protection:report"), {"mode": "anonymous", "what_happened": "They cut my shifts."}, **headers
    )
    key = normalise_key(response.context["key"])
    client.post(reverse("protection:follow"), {"key": key, "text": "It is still happening."}, **headers)
    client.post(reverse("protection:follow"), {"key": "WRONG" * 5}, **headers)
    report = ProtectionReport.objects.get()
    assert report.reporter is None and report.entries.count() == 2
    needles = [IP, AGENT, key, key[LOOKUP_LEN:], response.context["key"]]
    assert database_hits(needles) == []
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert not [n for n in needles if n in logged]
    if signed_in:
        assert str(raiser.pk) not in [
            str(v) for v in report.history.values_list("history_user_id", flat=True)
        ]


def test_the_web_servers_access_log_names_neither_address_nor_agent():
    line = gunicorn_access_line(path="/protection/report/", method="POST", remote_addr=IP, user_agent=AGENT)
    assert "/protection/report/" in line and IP not in line and AGENT not in line
