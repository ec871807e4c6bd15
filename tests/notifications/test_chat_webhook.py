"""Chat webhooks get JSON: Slack's shape by default, a Teams MessageCard for Teams URLs."""

from __future__ import annotations

import pytest

from apps.notifications.channels import chat_payload, is_teams_webhook
from apps.notifications.services import Outcome, notification_deliver
from tests.notifications.helpers import probe, story

pytestmark = pytest.mark.django_db

BODY = "Hello Grace Lindqvist,\n\nThe payments API is down.\n\nhttp://127.0.0.1:8000/escalations/17/\n"


def test_slack_style_json_by_default(webhook_server):
    url = webhook_server.url("/services/T000/B000/XXXX")
    note = probe(("chat_webhook", url))

    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT

    [hit] = webhook_server.wait_for(1)
    assert hit.path == "/services/T000/B000/XXXX"
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.json == {"text": f"*Escalation 17 needs you*\n{BODY}"}
    assert hit.headers["Idempotency-Key"] == f"escalportal-notification-{note.pk}"
    note.refresh_from_db()
    assert note.sent_via == ("chat_webhook", url)
    assert story(note) == [f"chat to {url} sent"]


def test_teams_style_message_card_for_a_teams_url(webhook_server):
    note = probe(("chat_webhook", webhook_server.url("/teams/incident-room")))
    notification_deliver(notification_id=note.pk)
    [hit] = webhook_server.wait_for(1)
    assert hit.json == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": "Escalation 17 needs you",
        "title": "Escalation 17 needs you",
        "text": BODY,
    }


@pytest.mark.parametrize(
    "url,teams",
    [
        ("https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456", True),
        ("https://outlook.office.com/webhook/abc", True),
        ("https://office.com/hook", True),
        ("https://relay.example.com/teams/ops", True),
        ("https://hooks.slack.com/services/T000/B000/XXXX", False),
        ("https://notoffice.com/hook", False),  # a host that merely ends in the same letters
        ("https://office.com.evil.example/hook", False),
        ("https://chat.example.com/hooks/teamsters", False),
    ],
)
def test_which_urls_are_teams(url, teams):
    assert is_teams_webhook(url) is teams


def test_slack_text_escapes_what_slack_reads_as_markup():
    payload = chat_payload("https://hooks.slack.com/x", "A & B <now>", "x > y")
    assert payload == {"text": "*A &amp; B &lt;now&gt;*\nx &gt; y"}


def test_a_server_error_is_retried_later(webhook_server):
    webhook_server.fail_next(1, status=503, body="maintenance")
    note = probe(("chat_webhook", webhook_server.url("/hook")))
    result = notification_deliver(notification_id=note.pk)
    assert (result.outcome, result.retry_in) == (Outcome.RETRY, 30.0)
    note.refresh_from_db()
    assert (
        note.last_error == f"chat to {webhook_server.url('/hook')}: HTTP 503 Service Unavailable: maintenance"
    )


def test_a_client_error_moves_to_the_next_method_at_once(webhook_server):
    webhook_server.fail_next(1, status=404, body="no_service")
    slack, teams = webhook_server.url("/gone"), webhook_server.url("/teams/ops")
    note = probe(("chat_webhook", slack), ("chat_webhook", teams))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.SENT
    note.refresh_from_db()
    assert story(note) == [f"chat to {slack} failed: HTTP 404 Not Found: no_service", f"chat to {teams} sent"]


@pytest.mark.parametrize("status", [429, 408, 500, 502])
def test_too_many_requests_timeouts_and_server_errors_are_worth_retrying(webhook_server, status):
    webhook_server.fail_next(1, status=status)
    note = probe(("chat_webhook", webhook_server.url("/hook")), ("email", "grace@example.com"))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.RETRY
    note.refresh_from_db()
    assert (note.method_index, note.method_tries) == (0, 1)


def test_a_redirect_is_not_followed(webhook_server):
    # urllib would turn the POST into a GET: the webhook URL needs fixing instead.
    webhook_server.fail_next(1, status=301)
    note = probe(("chat_webhook", webhook_server.url("/moved")))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.FAILED
    assert len(webhook_server.requests) == 1


def test_nothing_listening_is_retried_later(webhook_server):
    url = webhook_server.url("/hook")
    webhook_server.stop()
    note = probe(("chat_webhook", url))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.RETRY


def test_a_url_that_is_not_http_fails_for_good():
    note = probe(("chat_webhook", "file:///etc/passwd"))
    assert notification_deliver(notification_id=note.pk).outcome == Outcome.FAILED
    note.refresh_from_db()
    assert "not an http(s) URL" in note.last_error
