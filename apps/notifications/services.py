"""Queueing and delivering notifications.

Callers (any domain app) describe who to tell as plain data, a ``Recipient``: this app imports
no domain app. ``notify`` renders the message at once and writes one outbox row in the
caller's transaction; delivery is queued only when that transaction commits, so a change
that rolls back notifies nobody and a notification never describes a change that did not
happen.

Delivery (``notification_deliver``) tries the recipient's contact methods in priority order.
A method that fails is tried again after each of ``settings.NOTIFICATIONS_RETRY_SECONDS``
(default 30 s, then 2 min: three tries in all), then the next method is tried; a permanent failure (a 4xx from a webhook, no SMS
gateway configured, a refused mailbox) moves to the next method at once. When every method
is exhausted the notification is FAILED, and says why, on the escalation's timeline.

Exactly once, and no lock held while talking to the outside world: a worker *claims* a row
with a conditional update that pushes ``next_attempt_at`` past the time a send can take (a
lease) and bumps ``claim``; it sends with no transaction open; then it *records* the outcome
with an update conditioned on its ``claim`` token. A duplicate task, a second worker or the
retry sweep finds the row not due (leased) or no longer pending and leaves it alone. Holding
``select_for_update`` across the send would give the same guarantee on PostgreSQL, but on
SQLite (where every write transaction locks the whole database) it would stall every other
writer for as long as an SMTP server or webhook takes to answer. The one gap no design can
close: a worker killed after the other side accepted the message but before the outcome is
recorded. Its lease runs out and the message is sent again (at least once, never silently
lost); the lease is longer than Celery's hard time limit, so a slow send is never overtaken.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F
from django.db.models.functions import Now
from django.template import Context
from django.template.loader import get_template

from apps.notifications import channels
from apps.notifications.channels import DeliveryError
from apps.notifications.models import Channel, DeliveryAttempt, Notification
from apps.notifications.selectors import notifications_for_subject

__all__ = [
    "Recipient",
    "notify",
    "notification_deliver",
    "notification_enqueue",
    "notifications_retry_pending",
    "notifications_for_subject",
]

log = logging.getLogger(__name__)


def retry_delays() -> tuple[timedelta, ...]:
    """How long to wait before each retry of a failed contact method (settings)."""
    return tuple(timedelta(seconds=s) for s in settings.NOTIFICATIONS_RETRY_SECONDS)


# A pending row overdue by this much has lost its task (broker down, worker killed).
RETRY_PENDING_GRACE = timedelta(seconds=30)
# A task that arrives this much early (worker and database clocks disagree) comes back.
CLOCK_SKEW_TOLERANCE = 5.0
NO_METHODS = "no contact methods: nothing could be sent"


@dataclass(frozen=True)
class Recipient:
    key: str  # stable identity, e.g. "person:42"
    name: str  # "Grace Lindqvist"
    # (channel, address) in priority order; channel in {"email", "phone", "chat_webhook"}
    # ("phone" is delivered by SMS).
    methods: tuple[tuple[str, str], ...]


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # every method exhausted
    RETRY = "retry"  # a try failed; the next one is due in ``retry_in`` seconds
    NOT_DUE = "not_due"  # waiting for a backoff, or being sent by someone else right now
    STALE = "stale"  # already sent or failed (or gone): nothing to do


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    retry_in: float | None = None  # when set, queue the task again after this many seconds


# --- queueing ----------------------------------------------------------------------------------


def notify(
    *,
    event_key: str,
    recipient: Recipient,
    template: str,
    context: dict,
    subject_type: str = "",
    subject_id: str = "",
    hold: bool = False,
) -> Notification | None:
    """Queue one notification in the caller's transaction. Returns None (and writes nothing)
    when this (event_key, recipient.key) was already queued: never twice per event and
    recipient.

    Renders ``templates/notifications/<template>.subject.txt`` (whitespace collapsed to one
    line) and ``<template>.txt`` with ``context`` + ``recipient`` and ``site_url`` now, so the
    message shows what was true at the event. A recipient with no methods gets a FAILED row
    saying so (visible on the timeline, not silently dropped). Delivery is queued with
    ``transaction.on_commit`` only. ``hold=True`` keeps it HELD (an embargo) until
    ``notifications_release`` for its subject.
    """
    if len(event_key) > 200 or len(recipient.key) > 200:
        raise ValueError("event_key and recipient.key are at most 200 characters")
    methods = _clean_methods(recipient)
    subject, body = render(
        template=template, context={**context, "recipient": recipient, "site_url": settings.SITE_URL}
    )
    row = Notification(
        event_key=event_key,
        recipient_key=recipient.key,
        recipient_name=recipient.name[:200],
        methods=methods,
        template=template,
        subject=subject,
        body=body,
        subject_type=subject_type,
        subject_id=str(subject_id),
    )
    if not methods:
        row.status, row.last_error = Notification.Status.FAILED, NO_METHODS
    elif hold:
        row.status = Notification.Status.HELD
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not spoil the caller's transaction
            row.save(force_insert=True)
    except IntegrityError:
        return None
    if row.status == Notification.Status.PENDING:
        transaction.on_commit(partial(notification_enqueue, notification_id=row.pk), robust=True)
    return row


def _clean_methods(recipient: Recipient) -> list[list[str]]:
    """The methods in order, blank addresses and repeats left out; an unknown channel is the
    caller's bug and fails loudly now rather than at delivery."""
    cleaned: list[list[str]] = []
    for channel, address in recipient.methods:
        if channel not in Channel.values:
            raise ValueError(f"unknown channel {channel!r} for {recipient.key} (use one of {Channel.values})")
        method = [channel, address.strip()]
        if method[1] and method not in cleaned:
            cleaned.append(method)
    return cleaned


def render(*, template: str, context: dict) -> tuple[str, str]:
    """(subject, body) from ``notifications/<template>.subject.txt`` and ``<template>.txt``."""
    subject = " ".join(_render_text(f"notifications/{template}.subject.txt", context).split())
    body = _render_text(f"notifications/{template}.txt", context).strip() + "\n"
    return subject[:250], body


def _render_text(name: str, context: dict) -> str:
    # Plain text, not HTML: autoescaping would turn "O'Brien" into "O&#x27;Brien".
    return get_template(name).template.render(Context(context, autoescape=False))


def notification_enqueue(*, notification_id: int, countdown: float | None = None) -> None:
    """Queue a delivery task; a broker that is down must not fail the caller (the retry
    sweep picks the row up once it is overdue)."""
    from apps.notifications.tasks import deliver_notification

    try:
        deliver_notification.apply_async((notification_id,), countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure; the sweep backstops
        log.warning("could not queue notification %s; the retry sweep will", notification_id, exc_info=True)


def notifications_release(*, subject_type: str, subject_id: str) -> int:
    """Send what was held for a subject (its embargo was lifted), in the caller's transaction;
    the delivery tasks are queued once it commits. Returns how many were released."""
    held = list(
        Notification.objects.select_for_update()
        .filter(subject_type=subject_type, subject_id=str(subject_id), status=Notification.Status.HELD)
        .values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=held).update(status=Notification.Status.PENDING, next_attempt_at=Now())
    for pk in held:
        transaction.on_commit(partial(notification_enqueue, notification_id=pk), robust=True)
    return len(held)


def notifications_retry_pending(*, limit: int = 200) -> int:
    """Re-queue pending notifications overdue by ``RETRY_PENDING_GRACE``: their task was lost
    (broker down at commit, worker killed mid-send and its lease run out). A row whose task is
    merely on its way is not yet overdue; a duplicate task is harmless anyway."""
    ids = list(
        Notification.objects.filter(
            status=Notification.Status.PENDING, next_attempt_at__lte=Now() - RETRY_PENDING_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        notification_enqueue(notification_id=pk)
    return len(ids)


# --- delivering --------------------------------------------------------------------------------


def notification_deliver(*, notification_id: int) -> DeliveryResult:
    """Try the current contact method if it is due; while a method fails for good (or runs
    out of tries) the next one is tried straight away, each with its own claim. Must run
    outside any transaction, so the claim is committed before anything is sent."""
    while True:
        note = _claim(notification_id)
        if note is None:
            return _why_not_claimed(notification_id)
        result = _record_persistently(note, _send(note))
        if result.outcome != Outcome.RETRY or result.retry_in:
            return result


def _lease() -> timedelta:
    # Longer than Celery's hard time limit: a send still running when the lease ends has
    # been killed, so nobody sends alongside it.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def _claim(notification_id: int) -> Notification | None:
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=Now()
    ).update(claim=F("claim") + 1, next_attempt_at=Now() + _lease())
    if claimed != 1:
        return None  # not pending, not due, or another worker got there first
    return Notification.objects.get(pk=notification_id)


def _why_not_claimed(notification_id: int) -> DeliveryResult:
    row = (
        Notification.objects.filter(pk=notification_id)
        .annotate(db_now=Now())
        .values("status", "next_attempt_at", "db_now")
        .first()
    )
    if row is None or row["status"] != Notification.Status.PENDING:
        return DeliveryResult(Outcome.STALE)
    early = (row["next_attempt_at"] - row["db_now"]).total_seconds()
    # Only a task that is early by a clock's disagreement comes back; a longer wait is a
    # backoff (whoever recorded it queued the next try) or another worker's lease.
    return DeliveryResult(
        Outcome.NOT_DUE, retry_in=max(early, 0.05) if early <= CLOCK_SKEW_TOLERANCE else None
    )


def _send(note: Notification) -> DeliveryError | None:
    if note.method is None:
        return DeliveryError(NO_METHODS, permanent=True)
    channel, address = note.method
    try:
        channels.send(channel, address, note.subject, note.body, key=idempotency_key(note))
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a sender's bug is a failed try, not a stuck row
        log.exception("notification %s: %s to %s raised", note.pk, channel, address)
        return DeliveryError(f"{type(exc).__name__}: {exc}")
    return None


def idempotency_key(note: Notification) -> str:
    """The same on every try of one outbox row, different for every row."""
    return f"escalportal-notification-{note.pk}"


# After a send, writing its outcome is retried on a database error for about 15 s before giving
# up: the other side has the message, and a row left leased would be sent again once the lease
# ran out (a duplicate minutes later). Retry the record, never the send.
RECORD_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


def _record_persistently(note: Notification, error: DeliveryError | None) -> DeliveryResult:
    for delay in (*RECORD_RETRY_DELAYS, None):
        try:
            return _record(note, error)
        except (OperationalError, InterfaceError):
            if delay is None:
                raise
            log.warning("notification %s: recording the outcome failed; again in %.1f s", note.pk, delay)
            if not connection.in_atomic_block:  # delivery runs outside transactions (tests do not)
                connection.close()  # a broken connection is replaced on the next query
            time.sleep(delay)
    raise AssertionError("unreachable")


def _record(note: Notification, error: DeliveryError | None) -> DeliveryResult:
    """Write the attempt and move the row on, if this worker's claim still holds."""
    channel, address = note.method or ("", "")
    changes, result = _after_success(channel, address) if error is None else _after_failure(note, error)
    with transaction.atomic():
        if channel:
            DeliveryAttempt.objects.create(
                notification_id=note.pk,
                channel=channel,
                address=address,
                ok=error is None,
                permanent=bool(error and error.permanent),
                error=str(error or "")[:2000],
            )
        updated = Notification.objects.filter(
            pk=note.pk, claim=note.claim, status=Notification.Status.PENDING
        ).update(attempts=F("attempts") + (1 if channel else 0), **changes)
    if updated != 1:
        log.error("notification %s: claim %s was lost during the send", note.pk, note.claim)
        return DeliveryResult(Outcome.STALE)
    return result


def _after_success(channel: str, address: str) -> tuple[dict, DeliveryResult]:
    return {
        "status": Notification.Status.SENT,
        "sent_at": Now(),
        "sent_via_channel": channel,
        "sent_via_address": address,
    }, DeliveryResult(Outcome.SENT)


def _after_failure(note: Notification, error: DeliveryError) -> tuple[dict, DeliveryResult]:
    """Back off on this method, else move to the next method now, else give up."""
    label = f"{Channel(note.method[0]).label} to {note.method[1]}: " if note.method else ""
    tries = note.method_tries + 1
    failed = {"method_tries": tries, "last_error": f"{label}{error}"[:2000]}
    delays = retry_delays()
    if not error.permanent and tries <= len(delays):
        delay = delays[tries - 1]
        return {**failed, "next_attempt_at": Now() + delay}, DeliveryResult(
            Outcome.RETRY, delay.total_seconds()
        )
    if note.method_index + 1 < len(note.methods):
        moved = {**failed, "method_index": note.method_index + 1, "method_tries": 0, "next_attempt_at": Now()}
        return moved, DeliveryResult(Outcome.RETRY, 0.0)
    if note.methods:
        failed["last_error"] = f"every contact method failed; last, {failed['last_error']}"[:2000]
    return {**failed, "status": Notification.Status.FAILED}, DeliveryResult(Outcome.FAILED)
