"""The ways a message leaves the portal: email, chat webhook, SMS gateway.

Each sender takes an address, a subject and a body, and either returns (delivered, as far as
the other side told us) or raises ``DeliveryError``. The moment the other side has accepted the
message (the SMTP server's 250 to DATA, a 2xx status line) the sender calls ``accepted()``,
before it says QUIT or reads the rest of the response: the outbox records the send right there,
so a worker killed in what is left of the conversation does not send the message again, and
nothing that goes wrong after acceptance is a failed try. ``permanent=True`` means trying the same
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
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

from apps.notifications.models import Channel

log = logging.getLogger(__name__)

SMS_MAX_CHARS = 480  # three concatenated SMS segments; gateways bill per segment
ERROR_BODY_CHARS = 300  # how much of an error response to keep for the timeline


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# (address, subject, body, key, accepted): ``key`` is the outbox row's idempotency key, the same
# on every try of that row, so a receiver can drop a message it already has (a send the portal
# could not record, after a killed worker, is sent again). ``accepted`` is called once, as soon
# as the other side has taken the message; whatever it raises is passed on untouched.
Accepted = Callable[[], None]
Sender = Callable[[str, str, str, str, Accepted], None]


def _nothing() -> None:
    pass


# --- email -------------------------------------------------------------------------------------


# What a refused or failed send raises before anything was accepted; mapped by ``_email_error``.
EMAIL_ERRORS = (smtplib.SMTPException, OSError, ValueError)


def send_email(address: str, subject: str, body: str, key: str = "", accepted: Accepted = _nothing) -> None:
    """Through Django's email backend (SMTP in production), from ``DEFAULT_FROM_EMAIL``, with a
    ``Message-ID`` that is the same on every try of the row (mail clients and many servers
    drop a second copy with the same ID)."""
    headers = {"Message-ID": message_id(key)} if key else {}
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address], headers=headers
    )
    backend = get_connection(fail_silently=False)
    if isinstance(backend, SMTPBackend):
        _send_smtp(backend, message, accepted)
        return
    try:  # console, file and memory backends (development, tests): no conversation to split
        backend.send_messages([message])
    except EMAIL_ERRORS as exc:
        raise _email_error(exc) from exc
    accepted()


def _send_smtp(backend: SMTPBackend, message: EmailMessage, accepted: Accepted) -> None:
    """Django's SMTP backend returns only after QUIT has been answered. Here the conversation
    is split where the protocol allows: ``accepted()`` runs on the server's 250 to DATA, QUIT
    comes after it, and a QUIT that fails or times out is only logged (the server has the
    message). What is left between the 250 and ``accepted()`` is the reply's way back and a
    line of Python."""
    try:
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in message.recipients()]
        data = message.message().as_bytes(linesep="\r\n")
        backend.open()
        backend.connection.sendmail(sender, recipients, data)
    except BaseException as exc:
        _close_quietly(backend)
        if isinstance(exc, EMAIL_ERRORS):
            raise _email_error(exc) from exc
        raise
    try:
        accepted()
    finally:
        _close_quietly(backend)


def _close_quietly(backend: SMTPBackend) -> None:
    """QUIT, or at least close the socket; never raises (the message is the server's now, or
    was refused and that is what the caller reports)."""
    connection = backend.connection or getattr(backend, "_partial_connection", None)
    try:
        backend.close()
    except Exception:  # noqa: BLE001 - QUIT unanswered, connection reset
        log.warning("closing the connection to the mail server failed", exc_info=True)
        if connection is not None:
            with suppress(Exception):
                connection.close()


def _email_error(exc: Exception) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return DeliveryError(f"recipient refused: {_refusals(exc)}", permanent=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        # 5xx is the server's final word (no such mailbox, not allowed to relay); 4xx: later.
        text = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return DeliveryError(f"SMTP {exc.smtp_code} {text}", permanent=exc.smtp_code >= 500)
    if isinstance(exc, ValueError):  # a malformed address or header
        return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=True)
    return DeliveryError(f"{type(exc).__name__}: {exc}")  # refused connection, timeout, reset


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


def send_chat(address: str, subject: str, body: str, key: str = "", accepted: Accepted = _nothing) -> None:
    """The chat tool's own JSON shape; the row's key travels in an ``Idempotency-Key`` header
    (Slack's and Teams' bodies have no place for it)."""
    post_json(
        address,
        chat_payload(address, subject, body),
        headers={"Idempotency-Key": key} if key else None,
        accepted=accepted,
    )


# --- SMS gateway -------------------------------------------------------------------------------


def sms_text(subject: str, body: str) -> str:
    """Subject, then the body with blank lines squeezed, cut to ``SMS_MAX_CHARS``."""
    lines = [line.strip() for line in f"{subject}\n{body}".splitlines() if line.strip()]
    text = "\n".join(lines)
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1].rstrip() + "…"


def send_sms(address: str, subject: str, body: str, key: str = "", accepted: Accepted = _nothing) -> None:
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
    post_json(url, payload, headers=headers, accepted=accepted)


# --- HTTP --------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's API
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirects())


def post_json(
    url: str, payload: dict, *, headers: dict[str, str] | None = None, accepted: Accepted = _nothing
) -> None:
    """POST ``payload`` as JSON; any status outside 2xx is a ``DeliveryError``. A 2xx status
    line is the acceptance: ``accepted()`` runs before the body is read, and a body that then
    stalls or breaks off is not a failed try."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"not an http(s) URL: {url}", permanent=True)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "escalportal", **(headers or {})},
    )
    try:
        response = _opener.open(request, timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT)
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
    with response:
        accepted()
        try:
            response.read(ERROR_BODY_CHARS)
        except (OSError, http.client.HTTPException):
            log.warning("%s accepted the message, then its response broke off", urlsplit(url).netloc)


SENDERS: dict[str, Sender] = {
    Channel.EMAIL: send_email,
    Channel.PHONE: send_sms,
    Channel.CHAT_WEBHOOK: send_chat,
}


def send(
    channel: str, address: str, subject: str, body: str, *, key: str = "", accepted: Accepted = _nothing
) -> None:
    sender = SENDERS.get(channel)
    if sender is None:
        raise DeliveryError(f"unknown channel {channel!r}", permanent=True)
    sender(address, subject, body, key, accepted)
