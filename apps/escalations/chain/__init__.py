"""The frozen chain of an escalation, who its levels reach, and when its clocks run out.

Reads only; the services write. Kept apart from the services because both the services and
the deadline handlers need them, and because they are the part of the rules a reader most
often wants to check: which version applied, who was on call, why a deadline fell where it did.
``frozen`` is the snapshot, ``reach`` who a level reaches, ``clocks`` when a clock runs out.
"""

from apps.escalations.chain.clocks import (  # noqa: F401
    Due,
    business_due,
    clock_due,
    defer_for_maintenance,
    deferring_window,
    update_cadence,
)
from apps.escalations.chain.frozen import FrozenChain, FrozenLevel, freeze_chain  # noqa: F401
from apps.escalations.chain.reach import (  # noqa: F401
    level_contact,
    level_target_label,
    reachable,
    reachable_backup,
    recipient_for,
)
