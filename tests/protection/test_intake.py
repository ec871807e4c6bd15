"""Filing a report in each mode, and following an anonymous one with its receipt key."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.urls import reverse

from apps.protection import services
from apps.protection.models import CaseEntry, Mode, ProtectionReport
from apps.protection.services.intake import LOOKUP_LEN, normalise_key
from tests.protection.conftest import file_report

pytestmark = pytest.mark.django_db


def test_an_anonymous_report_keeps_no_user_and_only_a_hash_of_its_key(reporter):
    report, key = file_report(reporter, mode=Mode.ANONYMOUS)
    assert len(key) >= 16 and report.reporter is None
    # The first password hasher (PBKDF2 in production; a fast one in the test settings).
    assert key[LOOKUP_LEN:] not in report.key_hash
    assert identify_hasher(report.key_hash).algorithm == get_hasher().algorithm
    assert report.entries.get().author is None
    assert report.history.first().history_user_id is None
    assert services.report_by_key(key=services.format_key(key)) == report


def test_a_wrong_key_gets_the_same_answer_as_an_unknown_one(client):
    report, key = file_report(mode=Mode.ANONYMOUS)
    wrong_secret = key[:LOOKUP_LEN] + "A" * 16
    assert services.report_by_key(key=wrong_secret) is None
    assert services.report_by_key(key="Z" * 24) is None
    client.post(reverse("protection:follow"), {"key": "W" * 24})  # warm up templates
    answers: dict[str, list] = {"wrong": [], "unknown": []}
    for _ in range(3):
        for name, typed in (("wrong", wrong_secret), ("unknown", "Z" * 24)):
            started = time.monotonic()
            response = client.post(reverse("protection:follow"), {"key": typed})
            took = time.monotonic() - started
            answers[name].append(
                (response.status_code, response.content.count(b"This key opens no case"), took)
            )
    assert {a[:2] for a in answers["wrong"] + answers["unknown"]} == {(400, 1)}
    # Both paths run one hash check: the times are of the same order.
    wrong, unknown = (sorted(a[2] for a in answers[n])[1] for n in ("wrong", "unknown"))
    assert max(wrong, unknown) < 3 * min(wrong, unknown) + 0.02


def test_the_reporter_reads_replies_and_writes_back_with_the_key(client, officer):
    report, key = file_report(mode=Mode.ANONYMOUS)
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    services.report_acknowledge(report=report, actor=officer, text="We have your report and are on it.")
    services.note_add(report=report, actor=officer, text="Internal: check the rota changes.")
    response = client.post(reverse("protection:follow"), {"key": services.format_key(key)})
    body = response.content.decode()
    assert response.status_code == 200 and "We have your report" in body and "check the rota" not in body
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    client.post(reverse("protection:follow"), {"key": key, "text": "Thank you, it got worse today."})
    assert report.entries.filter(kind=CaseEntry.Kind.FROM_REPORTER).count() == 2


def test_an_oversize_message_is_refused_and_nothing_changes(client, settings):
    settings.PROTECTION_MESSAGE_MAX_CHARS = 100
    report, key = file_report(mode=Mode.ANONYMOUS)
    response = client.post(reverse("protection:follow"), {"key": key, "text": "x" * 101})
    assert response.status_code == 400 and "At most 100 characters" in response.content.decode()
    assert report.entries.count() == 1
    with pytest.raises(Exception, match="At most 100"):
        file_report(mode=Mode.ANONYMOUS, text="y" * 101)


def test_key_attempts_are_throttled_for_everyone_at_once(client, settings):
    settings.PROTECTION_KEY_ATTEMPTS_PER_MINUTE = 2
    from django.core.cache import cache

    cache.clear()
    codes = [client.post(reverse("protection:follow"), {"key": "Q" * 24}).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    cache.clear()


def test_the_intake_page_warns_and_is_not_cached(client):
    response = client.get(reverse("protection:report"))
    body = response.content.decode()
    assert response.status_code == 200 and "work laptop" in body
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"


def test_a_visitor_files_anonymously_and_sees_the_key_once(client):
    response = client.post(
        reverse("protection:report"), {"mode": "anonymous", "what_happened": "They moved me to nights."}
    )
    assert response.status_code == 200
    shown = response.context["key"]
    report = ProtectionReport.objects.get()
    assert report.mode == Mode.ANONYMOUS and services.report_by_key(key=shown) == report
    assert normalise_key(shown)[LOOKUP_LEN:] not in str(ProtectionReport.objects.values().get())


def test_a_signed_in_named_report_is_followed_by_login(client, reporter):
    client.force_login(reporter)
    response = client.post(
        reverse("protection:report"), {"mode": "named", "what_happened": "Demoted a week after escalating."}
    )
    report = ProtectionReport.objects.get()
    assert response.status_code == 302 and report.reporter == reporter
    assert client.get(reverse("protection:mine_case", args=[report.pk])).status_code == 200


def test_only_its_raiser_links_a_report_to_an_escalation(reporter):
    with pytest.raises(Exception, match="escalation you raised"):
        file_report(reporter, escalation_id=999999)


def test_intake_posts_need_the_csrf_token_even_without_origin_or_referer():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("protection:report"))
    token = page.context["csrf_token"]
    data = {"mode": "anonymous", "what_happened": "They cut my shifts."}
    assert client.post(reverse("protection:report"), data, HTTP_ORIGIN="null").status_code == 403
    ok = client.post(
        reverse("protection:report"), {**data, "csrfmiddlewaretoken": str(token)}, HTTP_ORIGIN="null"
    )
    assert ok.status_code == 200 and ProtectionReport.objects.count() == 1
