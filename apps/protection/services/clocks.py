"""The statutory clocks (EU whistleblowing directive, art. 9(1)(b) and (f)), on the timer engine.

- acknowledgement due 7 days after receipt; a reminder to the reviewers 2 days before;
- feedback due 3 months after the acknowledgement, or 3 months after the 7-day period when
  none was sent (calendar months: a day the month lacks is its last, 30 Nov -> 28/29 Feb);
  a reminder 14 days before;
- a case nobody has opened 2 days after receipt gets a backup reviewer;
- recording the event cancels its reminders and deadlines (they also check, and do nothing,
  should one fire in the same instant).
"""

from __future__ import annotations

from datetime import timedelta

from apps.protection.models import ProtectionReport
from apps.timers.services import deadline_schedule, deadlines_cancel_for

ACK_DUE = "protection.ack_due"
ACK_REMINDER = "protection.ack_reminder"
FEEDBACK_DUE = "protection.feedback_due"
FEEDBACK_REMINDER = "protection.feedback_reminder"
UNOPENED = "protection.unopened"

ACK_REMINDER_BEFORE = timedelta(days=2)
FEEDBACK_REMINDER_BEFORE = timedelta(days=14)
UNOPENED_AFTER = timedelta(days=2)


def schedule_on_receipt(report: ProtectionReport) -> None:
    deadline_schedule(kind=UNOPENED, due_at=report.received_at + UNOPENED_AFTER, subject=report)
    deadline_schedule(kind=ACK_REMINDER, due_at=report.ack_due_at - ACK_REMINDER_BEFORE, subject=report)
    deadline_schedule(kind=ACK_DUE, due_at=report.ack_due_at, subject=report)
    _schedule_feedback(report)


def _schedule_feedback(report: ProtectionReport) -> None:
    deadline_schedule(
        kind=FEEDBACK_REMINDER, due_at=report.feedback_due_at - FEEDBACK_REMINDER_BEFORE, subject=report
    )
    deadline_schedule(kind=FEEDBACK_DUE, due_at=report.feedback_due_at, subject=report)


def on_acknowledged(report: ProtectionReport) -> None:
    """The acknowledgement is recorded: its clock stops, feedback counts from it."""
    for kind in (ACK_DUE, ACK_REMINDER, FEEDBACK_DUE, FEEDBACK_REMINDER):
        deadlines_cancel_for(subject=report, kind=kind)
    _schedule_feedback(report)


def on_feedback(report: ProtectionReport) -> None:
    for kind in (ACK_DUE, ACK_REMINDER, FEEDBACK_DUE, FEEDBACK_REMINDER):
        deadlines_cancel_for(subject=report, kind=kind)


def on_opened(report: ProtectionReport) -> None:
    deadlines_cancel_for(subject=report, kind=UNOPENED)


def on_closed(report: ProtectionReport) -> None:
    deadlines_cancel_for(subject=report)
