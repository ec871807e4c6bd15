"""Calendars, services, maintenance windows and change freezes, and whole policies saved
through ``apps.policies.services.policy_save`` (levels and thresholds are never built by hand:
the service checks the chain as a whole)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import factory

from apps.contacts.models import Person
from apps.policies.models import (
    BusinessCalendar,
    ChangeFreeze,
    CustomerTier,
    EscalationPolicy,
    MaintenanceWindow,
    Service,
    Severity,
)
from apps.policies.services import LevelSpec, ThresholdSpec, policy_save
from tests.factories.contacts import TeamFactory, reachable_person

H = timedelta(hours=1)
OFFICE_HOURS = {str(day): [["09:00", "17:30"]] for day in range(5)}


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "Europe/London"
    weekly_hours = factory.LazyFunction(lambda: dict(OFFICE_HOURS))
    holiday_country = "GB"
    holiday_subdivision = "ENG"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    owner_team = factory.SubFactory(TeamFactory)


class _PeriodFactory(factory.django.DjangoModelFactory):
    """A period over ``services=[...]`` (given after the row is saved, as the form does)."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Period {n}")
    starts_at = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)
    ends_at = factory.LazyAttribute(lambda p: p.starts_at + timedelta(hours=4))

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.add(*extracted)


class MaintenanceWindowFactory(_PeriodFactory):
    class Meta:
        model = MaintenanceWindow

    defers_clocks = True


class ChangeFreezeFactory(_PeriodFactory):
    class Meta:
        model = ChangeFreeze

    reason = "Year-end trading"


def full_matrix(ack: timedelta = H, resolve: timedelta = 8 * H, **fields) -> list[ThresholdSpec]:
    """Every severity x customer tier cell, each with the same durations."""
    return [
        ThresholdSpec(sev.value, tier.value, ack, resolve, **fields)
        for sev in Severity
        for tier in CustomerTier
    ]


def person_level(order: int, person: Person, rank: int | None = None, **fields) -> LevelSpec:
    return LevelSpec(
        order=order,
        name=fields.pop("name", f"Level {order}"),
        target_kind="person",
        target_person=person,
        authority_rank=person.authority_rank if rank is None else rank,
        **fields,
    )


def unsaved_policy(
    *, owner: Person | None = None, calendar: BusinessCalendar | None = None, **fields
) -> EscalationPolicy:
    n = EscalationPolicy.objects.count() + 1
    fields.setdefault("name", f"Policy {n}")
    fields.setdefault("slug", f"policy-{n}")
    fields.setdefault("category", "operational")
    fields.setdefault("description", "When production is down.")
    fields.setdefault("next_review_on", date.today() + timedelta(days=90))
    return EscalationPolicy(
        owner=owner or reachable_person(rank=50),
        calendar=calendar or BusinessCalendarFactory(),
        **fields,
    )


def two_level_chain() -> list[LevelSpec]:
    """An engineer (rank 10), then their manager (rank 20): a chain that climbs."""
    return [person_level(1, reachable_person(rank=10)), person_level(2, reachable_person(rank=20))]


def saved_policy(
    *, actor, reason: str = "Initial version of the policy", levels=None, thresholds=None, **fields
):
    return policy_save(
        policy=unsaved_policy(**fields),
        levels=levels if levels is not None else two_level_chain(),
        thresholds=thresholds if thresholds is not None else full_matrix(),
        actor=actor,
        reason=reason,
    )
