"""factory_boy factories for every model the tests build, in one place: one module per app,
everything importable from ``tests.factories``.

Rows that a service writes as a whole (a policy with its levels and thresholds, an escalation
with its timeline) are made through the service (``saved_policy``), never field by field.
"""

from tests.factories.accounts import UserFactory
from tests.factories.contacts import (
    BackupAssignmentFactory,
    ContactMethodFactory,
    PersonFactory,
    RotationFactory,
    RotationMemberFactory,
    RotationOverrideFactory,
    TeamFactory,
    reachable_person,
    rotation_with,
    staffed_team,
)
from tests.factories.notifications import DeliveryAttemptFactory, NotificationFactory
from tests.factories.policies import (
    OFFICE_HOURS,
    BusinessCalendarFactory,
    ChangeFreezeFactory,
    H,
    MaintenanceWindowFactory,
    ServiceFactory,
    full_matrix,
    person_level,
    saved_policy,
    two_level_chain,
    unsaved_policy,
)
from tests.factories.timers import SweepHeartbeatFactory

__all__ = [
    "H",
    "OFFICE_HOURS",
    "BackupAssignmentFactory",
    "BusinessCalendarFactory",
    "ChangeFreezeFactory",
    "ContactMethodFactory",
    "DeliveryAttemptFactory",
    "MaintenanceWindowFactory",
    "NotificationFactory",
    "PersonFactory",
    "RotationFactory",
    "RotationMemberFactory",
    "RotationOverrideFactory",
    "ServiceFactory",
    "SweepHeartbeatFactory",
    "TeamFactory",
    "UserFactory",
    "full_matrix",
    "person_level",
    "reachable_person",
    "rotation_with",
    "saved_policy",
    "staffed_team",
    "two_level_chain",
    "unsaved_policy",
]
