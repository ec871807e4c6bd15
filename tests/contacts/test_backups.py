"""Backups: who stands in for whom and when; a loop of backups is refused, naming the loop."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.contacts.models import BackupAssignment
from apps.contacts.selectors import backup_for
from apps.contacts.services import backup_assign
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


@pytest.fixture
def ann():
    return PersonFactory(full_name="Ann")


@pytest.fixture
def ben():
    return PersonFactory(full_name="Ben")


@pytest.fixture
def cleo():
    return PersonFactory(full_name="Cleo")


def assign(person, backup, starts_on=JAN, ends_on=None, **kwargs):
    return backup_assign(person=person, backup=backup, starts_on=starts_on, ends_on=ends_on, **kwargs)


def refused(field: str, **kwargs) -> list[str]:
    assignments, events = BackupAssignment.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        assign(**kwargs)
    assert (BackupAssignment.objects.count(), AuditEvent.objects.count()) == (assignments, events)
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value.message_dict[field]


# --- refusals --------------------------------------------------------------------------------


def test_it_refuses_a_person_backing_up_themselves(ann):
    assert refused("backup", person=ann, backup=ann) == ["A person cannot be their own backup."]


def test_it_refuses_a_direct_loop_naming_it(ann, ben):
    assign(ann, ben)
    assert refused("backup", person=ben, backup=ann) == [
        "This would make a loop of backups: Ben → Ann → Ben."
    ]


def test_it_refuses_a_longer_loop_naming_everyone_in_it(ann, ben, cleo):
    assign(ann, ben)
    assign(ben, cleo)
    assert refused("backup", person=cleo, backup=ann) == [
        "This would make a loop of backups: Cleo → Ann → Ben → Cleo."
    ]


def test_it_refuses_a_loop_through_an_open_ended_assignment(ann, ben):
    assign(ann, ben, starts_on=JAN)  # no end
    assert "loop of backups" in refused("backup", person=ben, backup=ann, starts_on=date(2025, 6, 1))[0]


def test_it_refuses_a_loop_whose_periods_overlap_by_one_day(ann, ben):
    assign(ann, ben, starts_on=JAN, ends_on=date(2025, 1, 31))
    assert (
        "loop of backups"
        in refused("backup", person=ben, backup=ann, starts_on=date(2025, 1, 31), ends_on=MAR)[0]
    )


def test_it_allows_a_loop_whose_periods_do_not_overlap(ann, ben):
    # Ann covers Ben in February after Ben covered Ann in January: nobody is away at once.
    assign(ann, ben, starts_on=JAN, ends_on=date(2025, 1, 31))
    assignment = assign(ben, ann, starts_on=FEB, ends_on=date(2025, 2, 28))
    assert assignment.pk is not None


def test_it_refuses_an_assignment_ending_before_it_starts(ann, ben):
    assert refused("ends_on", person=ann, backup=ben, starts_on=FEB, ends_on=JAN) == [
        "The assignment must end on or after the day it starts."
    ]


def test_a_one_day_assignment_is_fine(ann, ben):
    assert assign(ann, ben, starts_on=FEB, ends_on=FEB).covers(FEB)


# --- a saved assignment ----------------------------------------------------------------------


def test_an_assignment_is_audited_and_history_tracked(ann, ben, gov_admin):
    assignment = assign(ann, ben, starts_on=FEB, reason="Parental leave", actor=gov_admin)
    entry = assignment.history.get()
    assert (entry.history_user_username, entry.history_change_reason) == ("gov_admin", "Parental leave")
    event = AuditEvent.objects.get(action="contacts.backup_assigned")
    assert (event.target_id, event.data["backup"], event.data["starts_on"]) == (
        str(ann.pk),
        "Ben",
        "2025-02-01",
    )


# --- backup_for ------------------------------------------------------------------------------


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_backup_for_picks_the_assignment_covering_the_day(ann, ben, cleo):
    assign(ann, ben, starts_on=JAN, ends_on=date(2025, 1, 31))
    assign(ann, cleo, starts_on=FEB)
    assert backup_for(ann, noon(date(2024, 12, 31))) is None
    assert backup_for(ann, noon(date(2025, 1, 15))) == ben
    assert backup_for(ann, noon(date(2025, 1, 31))) == ben  # the end day is covered
    assert backup_for(ann, noon(date(2025, 2, 1))) == cleo
    assert backup_for(ann, noon(date(2030, 6, 1))) == cleo  # open-ended


def test_backup_for_is_nobody_between_assignments(ann, ben, cleo):
    assign(ann, ben, starts_on=JAN, ends_on=date(2025, 1, 10))
    assign(ann, cleo, starts_on=FEB, ends_on=date(2025, 2, 10))
    assert backup_for(ann, noon(date(2025, 1, 20))) is None


def test_backup_for_prefers_the_assignment_starting_last_when_two_cover_the_day(ann, ben, cleo):
    assign(ann, ben, starts_on=JAN)  # standing backup
    assign(ann, cleo, starts_on=FEB, ends_on=date(2025, 2, 14))  # while Ben is away
    assert backup_for(ann, noon(date(2025, 2, 10))) == cleo
    assert backup_for(ann, noon(date(2025, 2, 15))) == ben


def test_backup_for_reads_the_day_in_the_persons_timezone(ben, cleo):
    kiwi = PersonFactory(full_name="Kiri", timezone="Pacific/Auckland")
    assign(kiwi, ben, starts_on=JAN, ends_on=date(2025, 1, 31))
    assign(kiwi, cleo, starts_on=FEB)
    # 31 January 12:00 UTC is already 1 February 01:00 in Auckland.
    assert backup_for(kiwi, datetime(2025, 1, 31, 12, tzinfo=UTC)) == cleo
    assert backup_for(kiwi, datetime(2025, 1, 31, 10, tzinfo=UTC)) == ben  # 23:00 on the 31st there
