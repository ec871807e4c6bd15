"""Saving a policy checks the whole chain and matrix; anything wrong saves nothing at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.policies.models import (
    ChangeFreeze,
    EscalationLevel,
    EscalationPolicy,
    GovernanceThreshold,
    MaintenanceWindow,
    ResponseThreshold,
)
from apps.policies.services import LevelSpec, ThresholdSpec, policy_save
from apps.timers.models import Deadline
from tests.factories import (
    H,
    PersonFactory,
    ServiceFactory,
    TeamFactory,
    full_matrix,
    person_level,
    reachable_person,
    rotation_with,
    saved_policy,
    staffed_team,
    two_level_chain,
    unsaved_policy,
)

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        "policies": EscalationPolicy.objects.count(),
        "policy history": EscalationPolicy.history.count(),
        "levels": EscalationLevel.objects.count(),
        "level history": EscalationLevel.history.count(),
        "thresholds": ResponseThreshold.objects.count(),
        "threshold history": ResponseThreshold.history.count(),
        "audit events": AuditEvent.objects.count(),
        "deadlines": Deadline.objects.count(),
    }


def refused(
    *, actor, field: str, reason: str = "New escalation policy", policy=None, levels=None, thresholds=None
) -> list[str]:
    """Save, expect a refusal on ``field``, check nothing changed, return the field's messages."""
    policy = policy or unsaved_policy()
    levels = two_level_chain() if levels is None else levels
    thresholds = full_matrix() if thresholds is None else thresholds
    before = counts()
    with pytest.raises(ValidationError) as caught:
        policy_save(policy=policy, levels=levels, thresholds=thresholds, actor=actor, reason=reason)
    assert counts() == before
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value.message_dict[field]


# --- the level chain -------------------------------------------------------------------------


def test_it_refuses_authority_that_does_not_increase(gov_admin):
    levels = [
        person_level(1, reachable_person(rank=20)),
        person_level(2, reachable_person(rank=20), name="Manager"),
    ]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert messages == [
        "Level 2 (Manager): authority 20 must be higher than level 1's 20 — authority must increase up the chain."
    ]


def test_it_refuses_authority_that_goes_down_the_chain(gov_admin):
    levels = [
        person_level(1, reachable_person(rank=10)),
        person_level(2, reachable_person(rank=30)),
        person_level(3, reachable_person(rank=40), rank=25, name="Director"),
    ]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert any("Level 3 (Director): authority 25 must be higher than level 2's 30" in m for m in messages)


def test_it_checks_authority_in_level_order_not_list_order(gov_admin):
    # Given out of order, but climbing once sorted: accepted.
    low, high = reachable_person(rank=10), reachable_person(rank=20)
    policy = policy_save(
        policy=unsaved_policy(),
        levels=[person_level(2, high), person_level(1, low)],
        thresholds=full_matrix(),
        actor=gov_admin,
        reason="Levels given out of order",
    )
    assert [(lvl.order, lvl.target_person) for lvl in policy.levels.order_by("order")] == [
        (1, low),
        (2, high),
    ]


def test_it_refuses_a_person_with_no_contact_method(gov_admin):
    silent = PersonFactory(authority_rank=20, full_name="Sam Silent")
    levels = [person_level(1, reachable_person(rank=10)), person_level(2, silent, name="Manager")]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert messages == ["Level 2 (Manager): no reachable target — Sam Silent: has no contact method"]


def test_it_refuses_a_team_with_no_members(gov_admin):
    empty = TeamFactory(name="Ghost Team")
    level = LevelSpec(
        order=1, name="On call", target_kind="team_on_call", target_team=empty, authority_rank=10
    )
    messages = refused(actor=gov_admin, field="levels", levels=[level])
    assert messages == ["Level 1 (On call): no reachable target — Ghost Team: has no members"]


def test_it_refuses_a_team_with_no_primary_rotation(gov_admin):
    team = TeamFactory(name="Rotaless")
    reachable_person(team=team)
    level = LevelSpec(
        order=1, name="On call", target_kind="team_on_call", target_team=team, authority_rank=10
    )
    messages = refused(actor=gov_admin, field="levels", levels=[level])
    assert messages == ["Level 1 (On call): no reachable target — Rotaless: has no primary on-call rotation"]


def test_it_refuses_a_rotation_with_no_members(gov_admin):
    rotation = rotation_with([], name="Empty rota")
    level = LevelSpec(
        order=1, name="Rota", target_kind="rotation", target_rotation=rotation, authority_rank=10
    )
    messages = refused(actor=gov_admin, field="levels", levels=[level])
    assert len(messages) == 1
    assert messages[0].startswith("Level 1 (Rota): no reachable target — ")
    assert "Empty rota: has no members" in messages[0]


def test_it_refuses_a_rotation_that_has_not_started(gov_admin):
    rotation = rotation_with(
        [reachable_person()], starts_on=date.today() + timedelta(days=3), name="Future rota"
    )
    level = LevelSpec(
        order=1, name="Rota", target_kind="rotation", target_rotation=rotation, authority_rank=10
    )
    messages = refused(actor=gov_admin, field="levels", levels=[level])
    assert "Future rota: nobody on call" in messages[0]


def test_it_refuses_a_rotation_member_with_no_contact_method(gov_admin):
    rotation = rotation_with([reachable_person(), PersonFactory(full_name="Mo Mute")])
    level = LevelSpec(
        order=1, name="Rota", target_kind="rotation", target_rotation=rotation, authority_rank=10
    )
    messages = refused(actor=gov_admin, field="levels", levels=[level])
    assert "Mo Mute: has no contact method" in messages[0]


def test_it_accepts_reachable_team_and_rotation_targets(gov_admin):
    team = staffed_team()
    rotation = rotation_with([reachable_person()])
    levels = [
        LevelSpec(
            order=1, name="Team on call", target_kind="team_on_call", target_team=team, authority_rank=10
        ),
        LevelSpec(order=2, name="Rota", target_kind="rotation", target_rotation=rotation, authority_rank=20),
    ]
    policy = saved_policy(actor=gov_admin, levels=levels)
    assert [lvl.target for lvl in policy.levels.order_by("order")] == [team, rotation]


def test_it_refuses_a_policy_without_levels(gov_admin):
    assert refused(actor=gov_admin, field="levels", levels=[]) == ["A policy needs at least one level."]


@pytest.mark.parametrize("orders", [[1, 3], [2, 3], [1, 1], [0, 1]])
def test_it_refuses_levels_not_numbered_one_to_n(gov_admin, orders):
    levels = [person_level(order, reachable_person(rank=10 * (i + 1))) for i, order in enumerate(orders)]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert messages == ["Levels must be numbered 1, 2, 3… without gaps or repeats."]


def test_it_refuses_a_person_below_the_levels_authority(gov_admin):
    junior = reachable_person(rank=10, full_name="Jo Junior")
    levels = [person_level(1, reachable_person(rank=5)), person_level(2, junior, rank=20, name="Manager")]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert messages == ["Level 2 (Manager): Jo Junior holds authority 10, below this level's 20."]


def test_it_refuses_an_unknown_trigger_role(gov_admin):
    levels = [
        person_level(1, reachable_person(rank=10), trigger_roles=["staff", "wizard"], name="First line")
    ]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert messages == ["Level 1 (First line): Unknown roles: wizard."]


def test_it_refuses_a_level_without_its_target(gov_admin):
    level = LevelSpec(order=1, name="Nobody", target_kind="person", authority_rank=10)
    messages = refused(actor=gov_admin, field="levels", levels=[level])
    assert len(messages) == 1
    assert (
        messages[0].startswith("Level 1 (Nobody): Choose the")
        and "named person this level reaches" in messages[0]
    )


def test_it_lists_every_broken_level_at_once(gov_admin):
    levels = [
        person_level(1, PersonFactory(authority_rank=10, full_name="Sam Silent")),
        person_level(2, reachable_person(rank=5), name="Down"),
    ]
    messages = refused(actor=gov_admin, field="levels", levels=levels)
    assert len(messages) == 2
    assert "authority must increase" in messages[0]
    assert "Sam Silent: has no contact method" in messages[1]


# --- the threshold matrix --------------------------------------------------------------------


def test_it_refuses_thresholds_missing_for_a_severity(gov_admin):
    thresholds = [t for t in full_matrix() if t.severity != "sev2"]
    messages = refused(actor=gov_admin, field="thresholds", thresholds=thresholds)
    assert messages == ["SEV2 — major: thresholds missing for Premium, Standard, Basic customers."]


def test_it_refuses_a_missing_cell_naming_the_tier(gov_admin):
    thresholds = [t for t in full_matrix() if (t.severity, t.customer_tier) != ("sev4", "basic")]
    messages = refused(actor=gov_admin, field="thresholds", thresholds=thresholds)
    assert messages == ["SEV4 — low: thresholds missing for Basic customers."]


def test_it_refuses_a_duplicated_cell(gov_admin):
    thresholds = [*full_matrix(), ThresholdSpec("sev1", "premium", H, 2 * H)]
    messages = refused(actor=gov_admin, field="thresholds", thresholds=thresholds)
    assert messages == ["A severity and customer tier pair appears twice."]


def test_it_refuses_resolve_shorter_than_acknowledge(gov_admin):
    thresholds = [
        replace(t, resolve_within=30 * timedelta(minutes=1))
        if (t.severity, t.customer_tier) == ("sev3", "standard")
        else t
        for t in full_matrix()
    ]
    messages = refused(actor=gov_admin, field="thresholds", thresholds=thresholds)
    assert messages == ["sev3/standard: resolve time cannot be shorter than acknowledge time."]


def test_it_refuses_a_zero_acknowledge_time(gov_admin):
    thresholds = [
        replace(t, acknowledge_within=timedelta(0))
        if (t.severity, t.customer_tier) == ("sev1", "basic")
        else t
        for t in full_matrix()
    ]
    messages = refused(actor=gov_admin, field="thresholds", thresholds=thresholds)
    assert messages == ["sev1/basic: acknowledge time must be positive."]


# --- the change reason -----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "fix"])
def test_it_refuses_a_missing_or_short_change_reason(gov_admin, reason):
    messages = refused(actor=gov_admin, field="change_reason", reason=reason)
    assert messages == ["Say why this changes (at least 5 characters): it is kept in the history."]


def test_an_edit_without_a_reason_changes_nothing(gov_admin):
    policy = saved_policy(actor=gov_admin)
    policy.description = "Changed without saying why"
    refused(actor=gov_admin, field="change_reason", reason="", policy=policy)
    assert EscalationPolicy.objects.get(pk=policy.pk).description == "When production is down."


def test_an_invalid_edit_leaves_the_saved_policy_as_it_was(gov_admin):
    policy = saved_policy(actor=gov_admin)
    levels_before = list(policy.levels.values_list("order", "target_person", "authority_rank"))
    policy.name = "Renamed"
    refused(
        actor=gov_admin,
        field="thresholds",
        policy=policy,
        levels=[person_level(1, reachable_person(rank=30))],
        thresholds=full_matrix()[:-1],
        reason="Renamed and shortened",
    )
    assert EscalationPolicy.objects.get(pk=policy.pk).name != "Renamed"
    assert list(policy.levels.values_list("order", "target_person", "authority_rank")) == levels_before


# --- a valid policy --------------------------------------------------------------------------


def test_a_valid_policy_saves_with_its_history_and_reason(gov_admin):
    policy = saved_policy(actor=gov_admin, reason="Production outage procedure")
    entry = policy.history.first()
    assert (entry.history_type, entry.history_change_reason, entry.history_user_username) == (
        "+",
        "Production outage procedure",
        "gov_admin",
    )
    assert entry.history_user_id == gov_admin.pk
    for row in [*EscalationLevel.history.all(), *ResponseThreshold.history.all()]:
        assert (row.history_change_reason, row.history_user_username) == (
            "Production outage procedure",
            "gov_admin",
        )
    assert policy.levels.count() == 2
    assert policy.thresholds.count() == 12


def test_a_valid_policy_writes_one_audit_event(gov_admin):
    before = AuditEvent.objects.count()
    policy = saved_policy(actor=gov_admin, reason="Production outage procedure")
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.get(action="policies.policy_created")
    assert (event.actor_username, event.target_id, event.data["reason"]) == (
        "gov_admin",
        str(policy.pk),
        "Production outage procedure",
    )
    assert event.data["before"] is None
    assert event.data["after"]["levels"] == [
        [1, "Level 1", "person", 10, False],
        [2, "Level 2", "person", 20, False],
    ]


def test_it_links_the_services_it_covers(gov_admin):
    service = ServiceFactory(name="Payments", slug="payments", owner_team=staffed_team())
    policy = policy_save(
        policy=unsaved_policy(),
        levels=two_level_chain(),
        thresholds=full_matrix(),
        services=[service],
        actor=gov_admin,
        reason="Covers payments",
    )
    assert list(policy.services.all()) == [service]


def test_a_later_edit_replaces_levels_and_thresholds_with_history(gov_admin, executive):
    policy = saved_policy(actor=gov_admin)
    old_levels = {lvl.order: lvl.pk for lvl in policy.levels.all()}
    director = reachable_person(rank=40, full_name="Dana Director")
    levels = [person_level(1, reachable_person(rank=15)), person_level(2, director, requires_approval=True)]
    policy_save(
        policy=policy,
        levels=levels,
        thresholds=full_matrix(ack=30 * timedelta(minutes=1), resolve=4 * H),
        actor=executive,
        reason="Directors take level 2",
    )
    current = list(policy.levels.order_by("order"))
    assert [(lvl.order, lvl.target_person, lvl.authority_rank, lvl.requires_approval) for lvl in current] == [
        (1, levels[0].target_person, 15, False),
        (2, director, 40, True),
    ]
    assert {lvl.order: lvl.pk for lvl in current} == old_levels  # rows kept, their history grows
    changed = EscalationLevel.history.filter(id=old_levels[2], history_type="~").get()
    assert (changed.history_change_reason, changed.history_user_username) == (
        "Directors take level 2",
        "executive",
    )
    assert changed.prev_record.target_person_id != director.pk
    assert set(policy.thresholds.values_list("acknowledge_within", "resolve_within")) == {
        (30 * timedelta(minutes=1), 4 * H)
    }
    assert (
        ResponseThreshold.history.filter(
            history_type="~", history_change_reason="Directors take level 2"
        ).count()
        == 12
    )
    event = AuditEvent.objects.get(action="policies.policy_changed")
    assert event.data["before"]["levels"][1][3] == 20 and event.data["after"]["levels"][1][3] == 40


def test_an_edit_that_drops_a_level_deletes_it_with_history(gov_admin):
    levels = [*two_level_chain(), person_level(3, reachable_person(rank=30))]
    policy = saved_policy(actor=gov_admin, levels=levels)
    dropped = policy.levels.get(order=3).pk
    policy_save(
        policy=policy, levels=levels[:2], thresholds=full_matrix(), actor=gov_admin, reason="Level 3 retired"
    )
    assert list(policy.levels.values_list("order", flat=True)) == [1, 2]
    deleted = EscalationLevel.history.get(id=dropped, history_type="-")
    assert (deleted.history_change_reason, deleted.history_user_username) == ("Level 3 retired", "gov_admin")


# --- model rules -----------------------------------------------------------------------------

START = datetime(2025, 11, 17, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize("ends_at", [START - timedelta(hours=1), START])
def test_a_maintenance_window_must_end_after_it_starts(ends_at):
    window = MaintenanceWindow(name="Database upgrade", starts_at=START, ends_at=ends_at)
    with pytest.raises(ValidationError) as caught:
        window.full_clean()
    assert caught.value.message_dict == {"ends_at": ["A maintenance window must end after it starts."]}


@pytest.mark.parametrize("ends_at", [START - timedelta(days=1), START])
def test_a_change_freeze_must_end_after_it_starts(ends_at):
    freeze = ChangeFreeze(name="Black Friday", starts_at=START, ends_at=ends_at, reason="Peak trading")
    with pytest.raises(ValidationError) as caught:
        freeze.full_clean()
    assert caught.value.message_dict == {"ends_at": ["A change freeze must end after it starts."]}


def test_a_window_ending_after_it_starts_is_valid():
    MaintenanceWindow(
        name="Database upgrade", starts_at=START, ends_at=START + timedelta(hours=2)
    ).full_clean()
    ChangeFreeze(
        name="Freeze", starts_at=START, ends_at=START + timedelta(days=2), reason="Peak"
    ).full_clean()


@pytest.mark.parametrize("scope", ["neither", "both"])
def test_a_governance_threshold_needs_exactly_one_of_service_or_team(scope):
    team = staffed_team()
    service = ServiceFactory(name="Payments", slug="payments", owner_team=team)
    fields = {"service": service, "team": team} if scope == "both" else {}
    threshold = GovernanceThreshold(name="Too many", max_escalations=5, **fields)
    with pytest.raises(ValidationError) as caught:
        threshold.full_clean()
    assert caught.value.message_dict == {"service": ["Choose either a service or a team (exactly one)."]}


def test_a_governance_threshold_on_a_team_or_a_service_is_valid():
    team = staffed_team()
    service = ServiceFactory(name="Payments", slug="payments", owner_team=team)
    GovernanceThreshold(name="Team", team=team, max_escalations=5).full_clean()
    GovernanceThreshold(name="Service", service=service, max_escalations=5).full_clean()


def test_it_refuses_a_time_longer_than_the_engine_counts_whatever_calls_it(gov_admin):
    # The threshold form says the same; this is the rule for any caller (issue 8: 100,000 hours
    # were accepted, then failed at raise time).
    thresholds = [
        replace(t, resolve_within=timedelta(hours=8761))
        if (t.severity, t.customer_tier) == ("sev4", "basic")
        else t
        for t in full_matrix()
    ]
    messages = refused(actor=gov_admin, field="thresholds", thresholds=thresholds)
    assert messages == ["sev4/basic: a time can be at most 8,760 hours (365 days)."]
