"""Queueing and delivering notifications.

Callers (any domain app) describe who to tell as plain data, a ``Recipient``: this app imports
no domain app. ``notify`` renders the message at once and writes one outbox row in the
caller's transaction; delivery is queued only when that transaction commits, so a change
that rolls back notifies nobody and a notification never describes a change that did not
happen.

Delivery (``notification_deliver``) tries the recipient's contact methods in priority order.
A method that fails is tried again after each of ``settings.NOTIFICATIONS_RETRY_SECONDS``
(default 30 s, then 2 min: three tries in all; SEV1 10 s then 20 s,
``NOTIFICATIONS_RETRY_SECONDS_BY_SEVERITY``), then the next method is tried; a permanent
failure (a 4xx from a webhook, no SMS gateway configured, a refused mailbox) moves to the next
method at once. When every method is exhausted the notification is FAILED, and says why, on
the escalation's timeline. A database error is not the contact method failing: claiming is
retried for about 30 s in the worker, then left to the retry sweep (every
``NOTIFICATIONS_SWEEP_INTERVAL`` seconds), which also picks up a killed worker's message once
its lease (``NOTIFICATIONS_LEASE_SECONDS``, 30 s) has run out.

Exactly once, and no lock held while talking to the outside world: a worker *claims* a row with
a conditional update that pushes ``next_attempt_at`` past the time a send can take (a lease) and
writes its own random token into ``claim``; it sends with no transaction open; then it *records*
the outcome with an update conditioned on that token. A duplicate task, a second worker or the
retry sweep finds the row not due (leased) or no longer pending and leaves it alone. Holding
``select_for_update`` across the send would give the same guarantee on PostgreSQL, but on SQLite
(where every write transaction locks the whole database) it would stall every other writer for
as long as an SMTP server or webhook takes to answer. A send is recorded the moment the other
side accepts it, from inside the conversation (``channels``: on the mail server's 250 to DATA,
before QUIT; on a 2xx status line, before the body is read), so what fails after that is never a
failed try. The one gap no design can close: a worker killed between the other side accepting
and that record committing (the reply's way back and one small transaction, a few milliseconds),
or while the record is being retried through a database outage. Its lease runs out and the
message is sent again (at least once, never silently lost), with the same ``Message-ID`` /
``Idempotency-Key`` so the receiver can drop it. The lease outlasts a send (settings check it
against the SMTP and webhook timeouts), so a slow send is not overtaken; a database outage after
the send is ridden out by retrying the record (see ``_record_persistently``), not the send.
"""

from __future__ import annotations

import logging
import secrets
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
from django.db.models import F, Q
from django.db.models.functions import Now
from django.template import Context
from django.template.loader import get_template

from apps.notifications import channels
from apps.notifications.channels import DeliveryError
from apps.notifications.models import Channel, DeliveryAttempt, DeliveryHeartbeat, Notification
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


def retry_delays(urgency: str = "") -> tuple[timedelta, ...]:
    """How long to wait before each retry of a failed contact method (settings), by urgency."""
    seconds = settings.NOTIFICATIONS_RETRY_SECONDS_BY_SEVERITY.get(urgency, settings.NOTIFICATIONS_RETRY_SECONDS)
    return tuple(timedelta(seconds=s) for s in seconds)


# A pending row overdue by this much has lost its task (broker down, worker killed, its lease
# run out): the task of a row that just came due normally claims it within a second.
RETRY_PENDING_GRACE = timedelta(seconds=5)
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
    urgency: str = "",
) -> Notification | None:
    """Queue one notification in the caller's transaction. Returns None (and writes nothing)
    when this (event_key, recipient.key) was already queued: never twice per event and
    recipient.

    Renders ``templates/notifications/<template>.subject.txt`` (whitespace collapsed to one
    line) and ``<template>.txt`` with ``context`` + ``recipient`` and ``site_url`` now, so the
    message shows what was true at the event. A recipient with no methods gets a FAILED row
    saying so (visible on the timeline, not silently dropped). Delivery is queued with
    ``transaction.on_commit`` only. ``hold=True`` keeps it HELD (an embargo) until
    ``notifications_release`` for its subject. ``urgency`` (an escalation's severity) picks
    the retry delays of a failing contact method (``retry_delays``).
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
        urgency=urgency[:20],
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
    merely on its way is not yet overdue; a duplicate task is harmless anyway. Beats the
    delivery heartbeat: this runs on the delivery workers, so /healthz sees them stop."""
    ids = list(
        Notification.objects.filter(
            status=Notification.Status.PENDING, next_attempt_at__lte=Now() - RETRY_PENDING_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        notification_enqueue(notification_id=pk)
    delivery_heartbeat(requeued=len(ids))
    return len(ids)


HEARTBEAT = "delivery"
_last_beat = 0.0  # monotonic time of this process's last beat from a delivery


def delivery_heartbeat(*, requeued: int | None = None) -> None:
    """Record that a delivery worker is taking tasks (the retry sweep's run, or a delivery).
    One small write; a delivery beats at most every 2 s per process."""
    global _last_beat
    changes = {"last_run_at": Now()} if requeued is None else {"last_run_at": Now(), "last_requeued": requeued}
    if not DeliveryHeartbeat.objects.filter(name=HEARTBEAT).update(**changes):
        try:
            with transaction.atomic():
                DeliveryHeartbeat.objects.create(name=HEARTBEAT, last_requeued=requeued or 0)
        except IntegrityError:
            pass  # another worker created it first: its beat is as good as ours
    _last_beat = time.monotonic()


def delivery_heartbeat_now_and_then() -> None:
    if time.monotonic() - _last_beat >= 2.0:
        try:
            delivery_heartbeat()
        except (OperationalError, InterfaceError):  # the delivery itself is done and recorded
            log.warning("could not beat the delivery heartbeat", exc_info=True)


# --- delivering --------------------------------------------------------------------------------


def notification_deliver(*, notification_id: int) -> DeliveryResult:
    """Try the current contact method if it is due; while a method fails for good (or runs
    out of tries) the next one is tried straight away, each with its own claim. Must run
    outside any transaction, so the claim is committed before anything is sent."""
    while True:
        note = _with_database_retries(partial(_claim, token=new_claim_token()), notification_id)
        if note is None:
            return _with_database_retries(_why_not_claimed, notification_id)
        result = _send_and_record(note)
        if result.outcome != Outcome.RETRY or result.retry_in:
            return result


# A database error before anything was sent (claiming) is not the contact method failing: try
# again, every 2 s after the first few, for about 30 s (a restart, a failover), then give up and
# leave the row to the retry sweep. Long enough that a claim that committed just as the
# connection dropped is taken up again by its own claimant (its token) once the database is
# back, rather than waiting out its lease (30 s) and the sweep's grace.
CLAIM_RETRY_DELAYS = (0.25, 0.5, 1.0, *(2.0,) * 14)


def _with_database_retries(read_or_claim, notification_id: int):
    for delay in (*CLAIM_RETRY_DELAYS, None):
        try:
            return read_or_claim(notification_id)
        except (OperationalError, InterfaceError):
            if delay is None:
                raise
            log.warning("notification %s: database error before sending; again in %.2f s", notification_id, delay)
            _reset_connection()
            time.sleep(delay)
    raise AssertionError("unreachable")


def _reset_connection() -> None:
    if not connection.in_atomic_block:  # delivery runs outside transactions (tests do not)
        connection.close()  # a broken connection is replaced on the next query


def _lease() -> timedelta:
    # A send still running when the lease ends would be overtaken; each SMTP and HTTP step
    # times out well inside it (settings refuse a lease shorter than twice the timeouts).
    return timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)


def new_claim_token() -> int:
    """A claimant's token: 63 random bits (two claims drawing the same one: one in 2**63)."""
    return secrets.randbelow(2**63 - 1) + 1


def _claim(notification_id: int, *, token: int | None = None) -> Notification | None:
    """Lease the row if it is due, or if it is already this claimant's: a retry after a database
    error (the claim committed, then the connection dropped before the row was read back, or
    before the update's reply arrived) finds its own token and goes on, where a counter bumped
    by each claim could not tell its own lease from another worker's and would leave the row
    until the lease ran out."""
    token = token or new_claim_token()
    Notification.objects.filter(
        Q(next_attempt_at__lte=Now()) | Q(claim=token), pk=notification_id, status=Notification.Status.PENDING
    ).update(claim=token, next_attempt_at=Now() + _lease())
    # not pending, not due, or another worker got there first:
    return Notification.objects.filter(pk=notification_id, claim=token, status=Notification.Status.PENDING).first()


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


def _send_and_record(note: Notification) -> DeliveryResult:
    """Send, and record the outcome the moment it is known: a send is recorded from inside
    the conversation, as soon as the other side has accepted it (``channels``: before SMTP's
    QUIT, before an HTTP body is read), so a worker killed in the rest of the conversation does
    not send it again. Whatever goes wrong after acceptance is not a failed try."""
    if note.method is None:
        return _record_persistently(note, DeliveryError(NO_METHODS, permanent=True))
    channel, address = note.method
    recorded: list[DeliveryResult] = []
    accepted = False

    def on_accepted() -> None:
        nonlocal accepted
        accepted = True
        recorded.append(_record_persistently(note, None))

    try:
        channels.send(
            channel, address, note.subject, note.body, key=idempotency_key(note), accepted=on_accepted
        )
    except Exception as exc:
        if accepted:
            if not recorded:
                raise  # recording gave up (a long database outage): left leased, sent again later
            log.warning("notification %s: %s to %s accepted, then %r", note.pk, channel, address, exc)
            return recorded[0]
        if not isinstance(exc, DeliveryError):  # a sender's bug is a failed try, not a stuck row
            log.exception("notification %s: %s to %s raised", note.pk, channel, address)
            exc = DeliveryError(f"{type(exc).__name__}: {exc}")
        return _record_persistently(note, exc)
    return recorded[0] if recorded else _record_persistently(note, None)


def idempotency_key(note: Notification) -> str:
    """The same on every try of one outbox row, different for every row."""
    return f"escalportal-notification-{note.pk}"


# After a send, writing its outcome is retried on a database error for about two minutes before
# giving up: the other side has the message, and a row left leased would be sent again once the
# lease ran out. Retry the record, never the send. The polls stay short (0.5 s) so that when the
# database comes back this worker records the send before the retry sweep, which waits for the
# lease plus RETRY_PENDING_GRACE, can hand the row to another worker.
RECORD_RETRY_DELAYS = (0.1, 0.2, 0.3, *(0.5,) * 240)


def _record_persistently(note: Notification, error: DeliveryError | None) -> DeliveryResult:
    for tries, delay in enumerate((*RECORD_RETRY_DELAYS, None)):
        try:
            return _record(note, error)
        except (OperationalError, InterfaceError):
            if delay is None:
                raise
            if tries % 20 == 0:  # the first failure, then every ten seconds or so
                log.warning("notification %s: recording the outcome failed; again in %.1f s", note.pk, delay)
            _reset_connection()
            time.sleep(delay)
    raise AssertionError("unreachable")


def _record(note: Notification, error: DeliveryError | None) -> DeliveryResult:
    """Write the attempt and move the row on, if this worker's claim still holds."""
    channel, address = note.method or ("", "")
    if error is None and channel and connection.vendor == "postgresql":
        return _record_sent_at_once(note, channel, address)
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


# A send the other side accepted, recorded on PostgreSQL in one statement that commits by itself:
# the time a worker killed after the acceptance leaves it unrecorded (and so sent again) is one
# round trip, not the four of BEGIN, INSERT, UPDATE and COMMIT. Both changes of ``_record``; every
# statement in a WITH runs, read or not.
RECORD_SENT_SQL = """
WITH sent AS (
    UPDATE {notification}
    SET status = %s, sent_at = STATEMENT_TIMESTAMP(), sent_via_channel = %s, sent_via_address = %s,
        attempts = attempts + 1
    WHERE id = %s AND claim = %s AND status = %s
    RETURNING id
), attempt AS (
    INSERT INTO {attempt} (notification_id, channel, address, ok, permanent, error)
    VALUES (%s, %s, %s, true, false, '')
)
SELECT count(*) FROM sent
"""


def _record_sent_at_once(note: Notification, channel: str, address: str) -> DeliveryResult:
    sql = RECORD_SENT_SQL.format(
        notification=connection.ops.quote_name(Notification._meta.db_table),
        attempt=connection.ops.quote_name(DeliveryAttempt._meta.db_table),
    )
    pending = Notification.Status.PENDING
    params = [Notification.Status.SENT, channel, address, note.pk, note.claim, pending, note.pk, channel, address]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (updated,) = cursor.fetchone()
    if updated != 1:
        log.error("notification %s: claim %s was lost during the send", note.pk, note.claim)
        return DeliveryResult(Outcome.STALE)
    return DeliveryResult(Outcome.SENT)


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
    delays = retry_delays(note.urgency)
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
