"""The ways a message leaves the portal: email, chat webhook, SMS gateway.

Each sender takes an address, a subject and a body, and either returns (delivered, as far as
the other side told us) or raises ``DeliveryError``. ``permanent=True`` means trying the same
address again cannot help (a 4xx from a webhook, a refused mailbox, no SMS gateway
configured): the outbox moves on to the person's next contact method at once instead of
backing off. Everything else (timeouts, refused connections, 5xx, 429) is worth retrying.

Only the standard library speaks HTTP here (``urllib.request``), with a timeout and without
following redirects: a webhook that answers 3xx is misconfigured, and urllib would turn the
POST into a GET.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage

from apps.notifications.models import Channel

SMS_MAX_CHARS = 480  # three concatenated SMS segments; gateways bill per segment
ERROR_BODY_CHARS = 300  # how much of an error response to keep for the timeline


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# (address, subject, body, key): ``key`` is the outbox row's idempotency key, the same on every
# try of that row, so a receiver can drop a message it already has (a send the portal could not
# record, after a database hiccup or a killed worker, is sent again).
Sender = Callable[[str, str, str, str], None]


# --- email -------------------------------------------------------------------------------------


def send_email(address: str, subject: str, body: str, key: str = "") -> None:
    """Through Django's email backend (SMTP in production), from ``DEFAULT_FROM_EMAIL``, with a
    ``Message-ID`` that is the same on every try of the row (mail clients and many servers
    drop a second copy with the same ID)."""
    headers = {"Message-ID": message_id(key)} if key else {}
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address], headers=headers
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipient refused: {_refusals(exc)}", permanent=True) from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx is the server's final word (no such mailbox, not allowed to relay); 4xx: later.
        text = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        raise DeliveryError(f"SMTP {exc.smtp_code} {text}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # a malformed address or header
        raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=True) from exc


def message_id(key: str) -> str:
    """``<key@domain>`` with the sender address's domain: stable per outbox row."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "escalportal.invalid"
    return f"<{key}@{domain}>"


def _refusals(exc: smtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(
        f"{rcpt} ({code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg})"
        for rcpt, (code, msg) in exc.recipients.items()
    )


# --- chat webhook ------------------------------------------------------------------------------


def is_teams_webhook(url: str) -> bool:
    """Microsoft Teams incoming webhooks live on ``*.office.com`` (``outlook.office.com``,
    ``<tenant>.webhook.office.com``); anything else with ``/teams/`` in its path (a relay or
    proxy in front of Teams) is treated the same. Every other URL gets Slack's shape, which
    Mattermost, Rocket.Chat and most chat tools accept too."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return host == "office.com" or host.endswith(".office.com") or "/teams/" in parts.path


def chat_payload(url: str, subject: str, body: str) -> dict:
    if is_teams_webhook(url):
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": subject,
            "title": subject,
            "text": body,
        }
    return {"text": f"*{_slack_escape(subject)}*\n{_slack_escape(body)}"}


def _slack_escape(text: str) -> str:
    # Slack reads <…> as links and mentions: the three characters it asks senders to escape.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_chat(address: str, subject: str, body: str, key: str = "") -> None:
    """The chat tool's own JSON shape; the row's key travels in an ``Idempotency-Key`` header
    (Slack's and Teams' bodies have no place for it)."""
    post_json(address, chat_payload(address, subject, body), headers={"Idempotency-Key": key} if key else None)


# --- SMS gateway -------------------------------------------------------------------------------


def sms_text(subject: str, body: str) -> str:
    """Subject, then the body with blank lines squeezed, cut to ``SMS_MAX_CHARS``."""
    lines = [line.strip() for line in f"{subject}\n{body}".splitlines() if line.strip()]
    text = "\n".join(lines)
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1].rstrip() + "…"


def send_sms(address: str, subject: str, body: str, key: str = "") -> None:
    """POST ``{"to": number, "message": text}`` to ``SMS_GATEWAY_URL``, with a bearer token
    when ``SMS_GATEWAY_TOKEN`` is set. No gateway configured is permanent for this method:
    the person's next contact method is tried straight away."""
    url = settings.SMS_GATEWAY_URL
    if not url:
        raise DeliveryError("SMS gateway not configured (SMS_GATEWAY_URL)", permanent=True)
    headers = {"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"} if settings.SMS_GATEWAY_TOKEN else {}
    payload = {"to": address, "message": sms_text(subject, body)}
    if key:
        headers["Idempotency-Key"] = payload["idempotency_key"] = key
    post_json(url, payload, headers=headers)


# --- HTTP --------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's API
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirects())


def post_json(url: str, payload: dict, *, headers: dict[str, str] | None = None) -> None:
    """POST ``payload`` as JSON; any status outside 2xx is a ``DeliveryError``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"not an http(s) URL: {url}", permanent=True)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "escalportal", **(headers or {})},
    )
    try:
        with _opener.open(request, timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT) as response:
            response.read(ERROR_BODY_CHARS)
    except urllib.error.HTTPError as exc:
        detail = exc.read(ERROR_BODY_CHARS).decode(errors="replace").strip()
        message = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
        # 4xx says this request will never be accepted, except "too many" and "too slow".
        raise DeliveryError(message, permanent=300 <= exc.code < 500 and exc.code not in (408, 429)) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{type(exc).__name__}: {reason}") from exc
    except ValueError as exc:  # a URL urllib cannot parse
        raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=True) from exc


SENDERS: dict[str, Sender] = {
    Channel.EMAIL: send_email,
    Channel.PHONE: send_sms,
    Channel.CHAT_WEBHOOK: send_chat,
}


def send(channel: str, address: str, subject: str, body: str, *, key: str = "") -> None:
    sender = SENDERS.get(channel)
    if sender is None:
        raise DeliveryError(f"unknown channel {channel!r}", permanent=True)
    sender(address, subject, body, key)
