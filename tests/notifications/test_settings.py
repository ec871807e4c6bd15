"""Notification settings come from the environment and stop start-up when wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = (
    "import django; django.setup(); from django.conf import settings; "
    "print(repr(settings.SMS_GATEWAY_URL), repr(settings.SMS_GATEWAY_TOKEN), settings.NOTIFICATIONS_WEBHOOK_TIMEOUT)"
)


def start(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_", "NOTIFICATIONS_", "DEBUG"))}
    full = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "escalportal.settings",
        "ESCALPORTAL_VAR_DIR": str(tmp_path),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", SNIPPET], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


def test_by_default_there_is_no_sms_gateway_and_a_ten_second_timeout(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "'' '' 10"


def test_the_gateway_and_its_token_are_read(tmp_path):
    result = start(
        tmp_path,
        SMS_GATEWAY_URL="https://sms.example.com/v1/messages",
        SMS_GATEWAY_TOKEN="tok",
        NOTIFICATIONS_WEBHOOK_TIMEOUT="3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "'https://sms.example.com/v1/messages' 'tok' 3"


@pytest.mark.parametrize(
    "env,fragment",
    [
        (
            {"SMS_GATEWAY_URL": "sms.example.com/send"},
            "SMS_GATEWAY_URL='sms.example.com/send' must be an http",
        ),
        ({"NOTIFICATIONS_WEBHOOK_TIMEOUT": "0"}, "NOTIFICATIONS_WEBHOOK_TIMEOUT=0 must be at least 1"),
        (
            {"NOTIFICATIONS_WEBHOOK_TIMEOUT": "soon"},
            "NOTIFICATIONS_WEBHOOK_TIMEOUT='soon' is not a whole number",
        ),
    ],
)
def test_a_bad_value_stops_start_up_with_one_clear_line(tmp_path, env, fragment):
    result = start(tmp_path, **env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("escalportal: configuration error:") and fragment in line
