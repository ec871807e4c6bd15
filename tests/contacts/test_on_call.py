"""Who is on call: shifts in order, hand-offs to the instant, overrides, and the gaps between.

Instants are UTC, as the database and ``timezone.now()`` give them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.contacts.models import Rotation
from apps.contacts.selectors import on_call, on_call_rotation, rotation_gaps, rotations_prefetched
from apps.contacts.services import rotation_override_add, rotation_save
from tests.factories import PersonFactory, RotationFactory, TeamFactory, rotation_with

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TICK = timedelta(microseconds=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def people():
    return [PersonFactory(full_name=name) for name in ("Ann", "Ben", "Cleo", "Dev")]


def fresh(rotation: Rotation) -> Rotation:
    """The rotation as the pages read it (members and overrides prefetched)."""
    return rotations_prefetched().get(pk=rotation.pk)


def holder(rotation: Rotation, at: datetime) -> str | None:
    person = on_call_rotation(fresh(rotation), at)
    return person.full_name if person else None


# --- shifts and hand-offs --------------------------------------------------------------------


def test_weekly_shifts_go_round_the_members_in_order(people):
    ann, ben, cleo, _ = people
    rotation = rotation_with(
        [ann, ben, cleo], starts_on=date(2025, 1, 6), handoff_time=time(9), shift_hours=168
    )
    assert [holder(rotation, utc(2025, 1, 6, 9) + timedelta(weeks=w)) for w in range(5)] == [
        "Ann",
        "Ben",
        "Cleo",
        "Ann",
        "Ben",
    ]


def test_at_the_hand_off_instant_the_next_member_takes_over(people):
    ann, ben, *_ = people
    rotation = rotation_with([ann, ben], starts_on=date(2025, 1, 6), handoff_time=time(9), shift_hours=168)
    handoff = utc(2025, 1, 13, 9)
    assert holder(rotation, handoff - TICK) == "Ann"
    assert holder(rotation, handoff) == "Ben"


def test_daily_shifts_hand_off_every_day_at_the_hand_off_time(people):
    ann, ben, cleo, _ = people
    rotation = rotation_with(
        [ann, ben, cleo], starts_on=date(2025, 1, 6), handoff_time=time(8, 30), shift_hours=24
    )
    assert holder(rotation, utc(2025, 1, 7, 8, 29, 59)) == "Ann"
    assert holder(rotation, utc(2025, 1, 7, 8, 30)) == "Ben"
    assert holder(rotation, utc(2025, 1, 8, 20, 0)) == "Cleo"
    assert holder(rotation, utc(2025, 1, 9, 8, 30)) == "Ann"


def test_twelve_hour_shifts_hand_off_twice_a_day(people):
    ann, ben, *_ = people
    rotation = rotation_with([ann, ben], starts_on=date(2025, 1, 6), handoff_time=time(7), shift_hours=12)
    assert [holder(rotation, utc(2025, 1, 6, 7) + timedelta(hours=12 * n)) for n in range(4)] == [
        "Ann",
        "Ben",
        "Ann",
        "Ben",
    ]


def test_the_first_hand_off_is_at_the_hand_off_time_in_the_rotations_timezone(people):
    ann, *_ = people
    # 09:00 in New York in January is 14:00 UTC.
    rotation = rotation_with(
        [ann], starts_on=date(2025, 1, 6), handoff_time=time(9), timezone="America/New_York"
    )
    assert holder(rotation, utc(2025, 1, 6, 13, 59)) is None
    assert holder(rotation, utc(2025, 1, 6, 14, 0)) == "Ann"


def test_daily_shifts_in_london_run_24_real_hours_across_the_spring_clock_change(people):
    """Shifts count elapsed hours (selectors.on_call_rotation): after clocks go forward on
    Sunday 30 March 2025, the 09:00 GMT hand-off happens at 10:00 BST."""
    ann, ben, *_ = people
    rotation = rotation_with(
        [ann, ben],
        starts_on=date(2025, 3, 28),
        handoff_time=time(9),
        shift_hours=24,
        timezone="Europe/London",
    )
    assert holder(rotation, london(2025, 3, 29, 9, 0)) == "Ben"  # Saturday, still GMT
    assert holder(rotation, london(2025, 3, 30, 9, 59)) == "Ben"  # Sunday, clocks went forward at 01:00
    assert holder(rotation, london(2025, 3, 30, 10, 0)) == "Ann"
    monday_handoff = london(2025, 3, 31, 10, 0)  # 09:00 UTC
    assert monday_handoff == utc(2025, 3, 31, 9, 0)
    assert holder(rotation, monday_handoff - TICK) == "Ann"
    assert holder(rotation, monday_handoff) == "Ben"


def test_weekly_shifts_in_london_run_168_real_hours_across_the_autumn_clock_change(people):
    ann, ben, *_ = people
    # Starts Monday 20 October 2025, 09:00 BST (08:00 UTC); clocks go back on Sunday 26 October.
    rotation = rotation_with(
        [ann, ben], starts_on=date(2025, 10, 20), handoff_time=time(9), timezone="Europe/London"
    )
    handoff = utc(2025, 10, 27, 8, 0)  # 168 hours later: 08:00 GMT
    assert holder(rotation, handoff - TICK) == "Ann"
    assert holder(rotation, handoff) == "Ben"


# --- the rotation's period -------------------------------------------------------------------


def test_nobody_is_on_call_before_the_rotation_starts(people):
    rotation = rotation_with(people[:2], starts_on=date(2025, 1, 6), handoff_time=time(9))
    assert holder(rotation, utc(2025, 1, 6, 9) - TICK) is None
    assert holder(rotation, utc(2024, 12, 25, 12)) is None


def test_nobody_is_on_call_after_the_rotation_ends(people):
    rotation = rotation_with(
        people[:2],
        starts_on=date(2025, 1, 6),
        ends_on=date(2025, 1, 19),
        handoff_time=time(9),
        timezone="Europe/London",
    )
    assert holder(rotation, london(2025, 1, 19, 23, 59, 59)) == "Ben"  # the whole last day is covered
    assert holder(rotation, london(2025, 1, 20, 0, 0)) is None
    assert holder(rotation, london(2025, 3, 1, 12, 0)) is None


def test_a_rotation_without_members_has_nobody_on_call():
    rotation = rotation_with([], starts_on=date(2025, 1, 6))
    assert holder(rotation, utc(2025, 1, 8)) is None


# --- overrides -------------------------------------------------------------------------------


def override(rotation, person, starts_at, ends_at, created_at: datetime):
    with time_machine.travel(created_at, tick=False):
        return rotation_override_add(
            rotation=rotation, person=person, starts_at=starts_at, ends_at=ends_at, reason="Swap"
        )


def test_an_override_wins_over_the_shift_for_its_period(people):
    ann, ben, cleo, _ = people
    rotation = rotation_with([ann, ben], starts_on=date(2025, 1, 6), handoff_time=time(9))
    override(rotation, cleo, utc(2025, 1, 8), utc(2025, 1, 9), created_at=utc(2025, 1, 1))
    assert holder(rotation, utc(2025, 1, 8) - TICK) == "Ann"
    assert holder(rotation, utc(2025, 1, 8)) == "Cleo"
    assert holder(rotation, utc(2025, 1, 8, 23, 59)) == "Cleo"
    assert holder(rotation, utc(2025, 1, 9)) == "Ann"  # the end is exclusive


def test_the_newest_override_wins_where_two_overlap(people):
    ann, ben, cleo, dev = people
    rotation = rotation_with([ann, ben], starts_on=date(2025, 1, 6), handoff_time=time(9))
    override(rotation, cleo, utc(2025, 1, 8), utc(2025, 1, 10), created_at=utc(2025, 1, 1))
    override(rotation, dev, utc(2025, 1, 9), utc(2025, 1, 9, 12), created_at=utc(2025, 1, 2))
    assert holder(rotation, utc(2025, 1, 8, 12)) == "Cleo"
    assert holder(rotation, utc(2025, 1, 9, 6)) == "Dev"
    assert holder(rotation, utc(2025, 1, 9, 18)) == "Cleo"


def test_a_newer_wider_override_hides_an_older_narrow_one(people):
    ann, ben, cleo, dev = people
    rotation = rotation_with([ann, ben], starts_on=date(2025, 1, 6), handoff_time=time(9))
    override(rotation, dev, utc(2025, 1, 9), utc(2025, 1, 9, 12), created_at=utc(2025, 1, 1))
    override(rotation, cleo, utc(2025, 1, 8), utc(2025, 1, 10), created_at=utc(2025, 1, 2))
    assert holder(rotation, utc(2025, 1, 9, 6)) == "Cleo"


def test_overrides_win_without_prefetching_too(people):
    ann, ben, cleo, dev = people
    rotation = rotation_with([ann, ben], starts_on=date(2025, 1, 6), handoff_time=time(9))
    override(rotation, cleo, utc(2025, 1, 8), utc(2025, 1, 10), created_at=utc(2025, 1, 1))
    override(rotation, dev, utc(2025, 1, 9), utc(2025, 1, 9, 12), created_at=utc(2025, 1, 2))
    plain = Rotation.objects.get(pk=rotation.pk)
    assert on_call_rotation(plain, utc(2025, 1, 9, 6)) == dev


def test_an_override_covers_outside_the_rotations_period(people):
    ann, _, cleo, _ = people
    rotation = rotation_with([ann], starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 19))
    override(rotation, cleo, utc(2025, 1, 25), utc(2025, 1, 26), created_at=utc(2025, 1, 1))
    assert holder(rotation, utc(2025, 1, 25, 12)) == "Cleo"


def test_an_override_must_end_after_it_starts(people):
    from django.core.exceptions import ValidationError

    rotation = rotation_with(people[:1], starts_on=date(2025, 1, 6))
    with pytest.raises(ValidationError) as caught:
        rotation_override_add(
            rotation=rotation,
            person=people[1],
            starts_at=utc(2025, 1, 9),
            ends_at=utc(2025, 1, 9),
            reason="x",
        )
    assert caught.value.message_dict == {"ends_at": ["An override must end after it starts."]}
    assert not rotation.overrides.exists()


# --- gaps ------------------------------------------------------------------------------------


def test_rotation_gaps_reports_the_time_before_the_rotation_starts(people):
    rotation = rotation_with(people[:2], starts_on=date(2025, 1, 6), handoff_time=time(9))
    gaps = rotation_gaps(fresh(rotation), utc(2025, 1, 4, 9), utc(2025, 1, 10, 9))
    assert gaps == [(utc(2025, 1, 4, 9), utc(2025, 1, 6, 9))]


def test_rotation_gaps_reports_the_time_after_the_rotation_ends(people):
    rotation = rotation_with(people[:2], starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 19))
    gaps = rotation_gaps(fresh(rotation), utc(2025, 1, 17), utc(2025, 1, 22))
    assert gaps == [(utc(2025, 1, 20), utc(2025, 1, 22))]


def test_a_rotation_without_members_is_one_long_gap():
    rotation = rotation_with([], starts_on=date(2025, 1, 6))
    assert rotation_gaps(fresh(rotation), utc(2025, 1, 7), utc(2025, 1, 21)) == [
        (utc(2025, 1, 7), utc(2025, 1, 21))
    ]


def test_a_covered_rotation_has_no_gaps(people):
    rotation = rotation_with(people[:3], starts_on=date(2025, 1, 6), shift_hours=24, timezone="Europe/London")
    assert rotation_gaps(fresh(rotation), utc(2025, 1, 7, 3, 17), utc(2025, 4, 7, 3, 17)) == []


def test_an_override_fills_a_gap(people):
    ann, _, cleo, _ = people
    rotation = rotation_with([ann], starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 19))
    override(rotation, cleo, utc(2025, 1, 20), utc(2025, 1, 21), created_at=utc(2025, 1, 1))
    assert rotation_gaps(fresh(rotation), utc(2025, 1, 18), utc(2025, 1, 23)) == [
        (utc(2025, 1, 21), utc(2025, 1, 23))
    ]


# --- a team's on-call ------------------------------------------------------------------------


def test_on_call_for_a_team_uses_its_primary_rotation(people):
    ann, ben, *_ = people
    team = TeamFactory()
    rotation_with([ben], team=team, name="Secondary", is_primary=False, starts_on=date(2025, 1, 6))
    rotation_with([ann], team=team, name="Primary", is_primary=True, starts_on=date(2025, 1, 6))
    assert on_call(team, utc(2025, 1, 8)) == ann


def test_on_call_for_a_team_follows_the_primary_rotations_overrides(people):
    ann, _, cleo, _ = people
    team = TeamFactory()
    rotation = rotation_with([ann], team=team, starts_on=date(2025, 1, 6))
    override(rotation, cleo, utc(2025, 1, 8), utc(2025, 1, 9), created_at=utc(2025, 1, 1))
    assert on_call(team, utc(2025, 1, 8, 12)) == cleo


def test_a_team_without_a_primary_rotation_has_nobody_on_call(people):
    team = TeamFactory()
    rotation_with(people[:1], team=team, is_primary=False, starts_on=date(2025, 1, 6))
    assert on_call(team, utc(2025, 1, 8)) is None


def test_rotation_save_sets_members_in_order(people, gov_admin):
    ann, ben, cleo, _ = people
    rotation = RotationFactory.build(team=TeamFactory(), starts_on=date(2025, 1, 6), shift_hours=24)
    rotation_save(rotation=rotation, members=[cleo, ann, ben], actor=gov_admin, reason="New rota")
    assert [holder(rotation, utc(2025, 1, 6, 9) + timedelta(days=d)) for d in range(3)] == [
        "Cleo",
        "Ann",
        "Ben",
    ]
    rotation_save(rotation=rotation, members=[ben, cleo], actor=gov_admin, reason="Ann left")
    assert [holder(rotation, utc(2025, 1, 6, 9) + timedelta(days=d)) for d in range(3)] == [
        "Ben",
        "Cleo",
        "Ben",
    ]
