"""Every change to an escalation: one function per verb, one transaction each.

Each verb locks the row, checks the state and the version the user saw (a stale form or a
colleague who got there first raises ``Conflict`` and changes nothing), applies the change,
bumps ``version``, writes one timeline event and one audit event, and puts its notifications
in the outbox; ETA tasks for new deadlines are queued on commit by ``apps.timers``.

Refusals: bad input raises ``ValidationError`` naming the field and the rule; an action the
user's role or part in the escalation does not allow raises ``PermissionDenied``; an action
that does not fit the current state raises ``Conflict``. Nothing is written in any of them.

The verbs live in submodules: ``common`` (the steps every verb shares), ``routing`` (reaching
a level), ``lifecycle`` (raise and the owner's and raiser's verbs), ``conversation``
(comments, updates, embargo), ``approval`` (the gate's outcomes) and ``clocks`` (what each
deadline does). This package re-exports the public names: callers write
``services.escalation_raise``.
"""

from apps.escalations.services.approval import (  # noqa: F401
    escalation_approval_refused,
    escalation_await_approval,
    escalation_reach_approved_level,
)
from apps.escalations.services.clocks import (  # noqa: F401
    clock_acknowledge_missed,
    clock_auto_close,
    clock_resolve_breached,
    clock_update_due,
)
from apps.escalations.services.common import (  # noqa: F401
    ACK_DUE,
    ALL_CLOCKS,
    AUTO_CLOSE,
    MIN_REASON,
    MIN_SUMMARY,
    REQUIRED_TEXT,
    RESOLVE_DUE,
    SUBJECT_TYPE,
    UPDATE_DUE,
    grant_participant,
    manager_to_tell,
)
from apps.escalations.services.conversation import (  # noqa: F401
    escalation_comment,
    escalation_note,
    escalation_set_embargo,
    stakeholders,
)
from apps.escalations.services.lifecycle import (  # noqa: F401
    escalation_acknowledge,
    escalation_close,
    escalation_de_escalate,
    escalation_escalate,
    escalation_hand_off,
    escalation_raise,
    escalation_reopen,
    escalation_resolve,
    escalation_take_ownership,
    escalation_withdraw,
    raise_errors,
)
