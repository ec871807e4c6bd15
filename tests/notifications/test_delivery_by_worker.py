"""Delivery by a real Celery worker process: queued when the change commits, sent once,
falling through the contact methods, and a duplicate task after that sends nothing."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from apps.notifications.models import Notification
from apps.notifications.tasks import deliver_notification
from tests.integration.conftest import wait_until
from tests.notifications.helpers import probe, story

pytestmark = [pytest.mark.worker, pytest.mark.timeout(180)]

STALE = re.compile(r"Task notifications\.deliver\[[^\]]+\] succeeded in \S+: 'stale'")


def test_a_worker_delivers_once_the_change_commits(celery_cluster, webhook_server):
    cluster = celery_cluster()
    cluster.env.update(SMS_GATEWAY_URL=webhook_server.url("/sms"), SMS_GATEWAY_TOKEN="tok")
    [worker] = cluster.start(workers=1, beat=False)
    webhook_server.fail_next(1, status=400, body="unknown number")  # the gateway refuses the SMS
    hook = webhook_server.url("/hook")

    with transaction.atomic():
        note = probe(("phone", "+447700900123"), ("chat_webhook", hook))

    sms, chat = webhook_server.wait_for(2, timeout=60)
    assert (sms.path, sms.headers["Authorization"], sms.json["to"]) == ("/sms", "Bearer tok", "+447700900123")
    assert chat.path == "/hook" and chat.json["text"].startswith("*Escalation 17 needs you*\n")
    wait_until(lambda: Notification.objects.get(pk=note.pk).status == "sent", timeout=30, what="sent")
    assert story(note) == [
        "SMS to +447700900123 failed: HTTP 400 Bad Request: unknown number",
        f"chat to {hook} sent",
    ]

    deliver_notification.apply_async((note.pk,))  # a duplicate (redelivered, or from the sweep)
    wait_until(lambda: STALE.search(worker.log()), timeout=60, what="the duplicate task to finish")
    assert len(webhook_server.requests) == 2
