"""Demo protection cases, one in each state, worked by the officer pair (Hannah and Omar), so
`make run` shows HR a working desk. Seeded once: a second run changes nothing."""

from __future__ import annotations

from apps.accounts.models import User
from apps.protection import services
from apps.protection.models import Mode, ProtectionReport, Status

STORIES = [
    (Mode.ANONYMOUS, "After I escalated the billing outage my rota was changed to nights only.", []),
    (
        Mode.NAMED,
        "My manager told the team I 'went over his head' and excluded me from planning.",
        [Status.ACKNOWLEDGED],
    ),
    (
        Mode.CONFIDENTIAL,
        "I was given a negative rating a month after raising the data-retention concern.",
        [Status.ACKNOWLEDGED, Status.UNDER_REVIEW],
    ),
    (
        Mode.NAMED,
        "My bonus was withheld after I escalated the security incident.",
        [Status.ACKNOWLEDGED, Status.UNDER_REVIEW, Status.SUBSTANTIATED],
    ),
    (
        Mode.ANONYMOUS,
        "Colleagues stopped inviting me to meetings after my escalation.",
        [Status.ACKNOWLEDGED, Status.UNDER_REVIEW, Status.UNSUBSTANTIATED],
    ),
    (
        Mode.NAMED,
        "I was moved off the on-call rotation and lost the allowance.",
        [Status.ACKNOWLEDGED, Status.UNDER_REVIEW, Status.SUBSTANTIATED, Status.REMEDIED],
    ),
    (
        Mode.CONFIDENTIAL,
        "My transfer request was refused after I escalated.",
        [Status.ACKNOWLEDGED, Status.UNDER_REVIEW, Status.UNSUBSTANTIATED, Status.CLOSED],
    ),
]


def seed_protection(*, reporter: User, officer: User, second: User) -> int:
    if ProtectionReport.objects.exists():
        return 0
    for mode, text, path in STORIES:
        report, _ = services.report_file(
            mode=mode, what_happened=text, reporter=None if mode == Mode.ANONYMOUS else reporter
        )
        if not path:
            continue  # received, unassigned: waiting on the desk
        services.reviewer_assign(report=report, reviewer=officer, actor=officer)
        services.reviewer_assign(report=report, reviewer=second, actor=officer)
        services.report_acknowledge(
            report=report, actor=officer, text="Thank you: we have your report and will look into it."
        )
        for status in path[1:]:
            services.report_set_status(report=report, actor=officer, status=status)
        if mode == Mode.CONFIDENTIAL and Status.CLOSED not in path:
            services.disclosure_request(
                report=report, actor=officer, reason="We need to hear the reporter's account in person."
            )
    return len(STORIES)
