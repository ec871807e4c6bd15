"""Filing a report and finding it again with a receipt key.

Anonymous: nothing identifying is stored: no user (even when one is signed in), and the
request's address and user agent never reach the services. The receipt key is
``<lookup><secret>``: the lookup (8 characters) finds the row, the secret (16 characters) is
checked against its slow salted hash. An unknown lookup is checked against a dummy hash, so a
wrong key costs the same time whether or not a case exists.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.protection import links
from apps.protection.models import CaseEntry, Mode, ProtectionReport
from apps.protection.services import clocks
from apps.protection.services.attachments import attachment_store, check_attachment
from apps.protection.services.common import audit, message_limit, officers, setting, tell

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
LOOKUP_LEN, SECRET_LEN = 8, 16
_DUMMY: list[str] = []


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def format_key(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise_key(typed: str) -> str:
    return "".join(ch for ch in (typed or "").upper() if ch.isalnum())[: LOOKUP_LEN + SECRET_LEN + 8]


def feedback_due(start) -> timezone.datetime:
    """Three calendar months later; a day the month lacks is its last (30 Nov -> 28/29 Feb)."""
    return start + relativedelta(months=3)


def _clean_text(text: str, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: "Write what happened (it cannot be empty)."})
    if len(text) > message_limit():
        raise ValidationError({field: f"At most {message_limit()} characters: this has {len(text)}."})
    return text


@transaction.atomic
def report_file(
    *,
    mode: str,
    what_happened: str,
    reporter=None,
    escalation_id: int | None = None,
    people_named=(),
    attachment=None,
) -> tuple[ProtectionReport, str]:
    """File a report; returns it and, for an anonymous one, the receipt key (shown once)."""
    if mode not in Mode.values:
        raise ValidationError({"mode": "Choose named, confidential or anonymous."})
    check_attachment(attachment)
    text = _clean_text(what_happened, "what_happened")
    if mode == Mode.ANONYMOUS:
        reporter = None
    elif reporter is None or not reporter.is_authenticated:
        raise ValidationError(
            {"mode": "Sign in to file a named or confidential report, or choose anonymous."}
        )
    ref = None
    if escalation_id:
        ref = links.escalation_for(escalation_id, reporter) if reporter is not None else None
        if ref is None and mode != Mode.ANONYMOUS:
            raise ValidationError({"escalation": "You can link a report only to an escalation you raised."})
    now = timezone.now()
    key = _random(LOOKUP_LEN + SECRET_LEN) if mode == Mode.ANONYMOUS else ""
    report = ProtectionReport(
        reference=_reference(now),
        mode=mode,
        reporter=reporter,
        lookup=key[:LOOKUP_LEN] if key else _random(LOOKUP_LEN),
        key_hash=make_password(key[LOOKUP_LEN:]) if key else "",
        what_happened=text,
        escalation_id=ref.id if ref else None,
        escalation_ref=ref.reference if ref else "",
        received_at=now,
        ack_due_at=now + timedelta(days=7),
        feedback_due_at=feedback_due(now + timedelta(days=7)),
    )
    report._history_user = None
    report.save(force_insert=True)
    if people_named:
        report.people_named.set(people_named)
    entry = _entry(report, CaseEntry.Kind.FROM_REPORTER, text, reporter if mode == Mode.NAMED else None)
    if attachment is not None:
        attachment_store(entry, attachment)
    audit(
        report,
        "report_filed",
        None if mode != Mode.NAMED else reporter,
        mode=mode,
        attachment=attachment is not None,
    )
    clocks.schedule_on_receipt(report)
    for officer in officers():
        tell(
            officer,
            event_key=f"protection:{report.pk}:received",
            subject_line=f"New protection case {report.reference}",
            body="A protection report was received. It needs a reviewer; acknowledge it within 7 days.",
            path="/protection/desk/",
        )
    return report, key


def _reference(now) -> str:
    return f"PR-{now:%Y}-{_random(6)}"


def _entry(report, kind, text, author) -> CaseEntry:
    entry = CaseEntry(report=report, kind=kind, text=text, author=author, created_at=timezone.now())
    entry._history_user = None
    entry.save(force_insert=True)
    return entry


def attempt_allowed() -> bool:
    """A throttle on key attempts that records nobody: one counter for everyone per minute.
    (Per process with the local-memory cache; shared with a shared cache.)"""
    limit = setting("PROTECTION_KEY_ATTEMPTS_PER_MINUTE", 30)
    bucket = f"protection:key-attempts:{int(timezone.now().timestamp() // 60)}"
    cache.add(bucket, 0, timeout=120)
    try:
        count = cache.incr(bucket)
    except ValueError:
        count = 1
    return count <= limit


def report_by_key(*, key: str) -> ProtectionReport | None:
    """The report a receipt key opens, or None; the same work whether or not it exists."""
    raw = normalise_key(key)
    lookup, secret = raw[:LOOKUP_LEN], raw[LOOKUP_LEN:]
    report = ProtectionReport.objects.filter(lookup=lookup, mode=Mode.ANONYMOUS).first() if lookup else None
    if report is None:
        if not _DUMMY:
            _DUMMY.append(make_password(_random(SECRET_LEN)))
        check_password(secret, _DUMMY[0])
        return None
    return report if check_password(secret, report.key_hash) else None
