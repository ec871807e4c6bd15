"""``Model.history`` as every tracked model has it (``apps.audit.history``): the manager class is
built once, not on every access as simple-history's own descriptor does, and it behaves the same
(model-wide, or one instance's rows; the historical queryset's methods; m2m history)."""

import pytest
from django.utils import timezone

from apps.contacts.models import Team
from apps.policies.models import MaintenanceWindow
from tests.factories.contacts import TeamFactory
from tests.factories.policies import MaintenanceWindowFactory

pytestmark = pytest.mark.django_db


def test_the_manager_class_is_built_once_and_scoped_like_simple_historys():
    assert type(Team.history) is type(Team.history)
    first, second = TeamFactory(name="Payments"), TeamFactory(name="Platform")
    second.name = "Platform engineering"
    second.save()

    assert Team.history.count() == 3
    assert first.history.count() == 1 and second.history.count() == 2
    assert second.history.first().name == "Platform engineering"  # newest first
    assert Team.history.as_of(timezone.now()).count() == 2  # HistoricalQuerySet's methods


def test_many_to_many_history_keeps_its_own_manager(db):
    window = MaintenanceWindowFactory()
    record = window.history.first()
    services = MaintenanceWindow.history.model.__dict__["services"]
    assert type(services).__name__ == "_OnceBuiltHistoryDescriptor"
    assert record.services.count() == 0
