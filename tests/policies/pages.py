"""Building blocks of the policy page tests: a page's forms posted back as the browser would
(``page_post``), the new-policy and calendar posts, what a refused save must leave untouched,
the current chain as specs (to save it again behind the page's back), and cheap bulk policies
for the query-count tests."""

from __future__ import annotations

from datetime import date

from django import forms
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.contacts.models import Person, Team
from apps.policies.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    ResponseThreshold,
    Service,
)
from apps.policies.services import LevelSpec, ThresholdSpec
from tests.factories import (
    BusinessCalendarFactory,
    ContactMethodFactory,
    PersonFactory,
    RotationFactory,
    RotationMemberFactory,
    TeamFactory,
)


def saved_counts() -> dict[str, int]:
    """Everything a refused save must leave untouched."""
    return {
        "policies": EscalationPolicy.objects.count(),
        "policy history": EscalationPolicy.history.count(),
        "level history": EscalationLevel.history.count(),
        "threshold history": ResponseThreshold.history.count(),
        "audit": AuditEvent.objects.count(),
    }


def _fields(form, data: dict) -> None:
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
            data[bound.html_name] = [str(v) for v in value or []]  # nothing ticked: no value at all
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        else:
            data[bound.html_name] = "" if value is None else str(value)


def _formset(formset, data: dict) -> None:
    data.update(
        {
            f"{formset.prefix}-TOTAL_FORMS": str(len(formset.forms)),
            f"{formset.prefix}-INITIAL_FORMS": str(formset.initial_form_count()),
            f"{formset.prefix}-MIN_NUM_FORMS": "0",
            f"{formset.prefix}-MAX_NUM_FORMS": "1000",
        }
    )
    for form in formset.forms:
        _fields(form, data)


def page_post(client, url: str, **overrides) -> dict:
    """What the browser would post back from ``url`` untouched, with ``overrides``."""
    response = client.get(url)
    assert response.status_code == 200
    data: dict = {}
    for key in ("form", "levels", "thresholds"):
        part = response.context.get(key)
        if part is None:
            continue
        _formset(part, data) if hasattr(part, "management_form") else _fields(part, data)
    if "version" in response.context:
        data["version"] = response.context["version"]
    data.update({k.replace("__", "-"): v for k, v in overrides.items()})
    return data


def level(n: int, *, name: str, person: Person, rank: int, approval: bool = False, roles=("staff",)) -> dict:
    data = {
        f"levels-{n}-order": str(n + 1),
        f"levels-{n}-name": name,
        f"levels-{n}-target_kind": "person",
        f"levels-{n}-target_person": str(person.pk),
        f"levels-{n}-authority_rank": str(rank),
        f"levels-{n}-approval_timeout_hours": "4",
        f"levels-{n}-trigger_roles": list(roles),
    }
    if approval:
        data[f"levels-{n}-requires_approval"] = "on"
    return data


def new_policy_post(client, org, **overrides) -> dict:
    data = page_post(client, reverse("policies:new"))
    calendar = BusinessCalendar.objects.get(name="UK office hours")
    data.update(
        {
            "name": "Data protection incident",
            "slug": "",
            "category": "compliance",
            "description": "Personal data may have been exposed.",
            "owner": str(org["hannah.schmidt"].pk),
            "calendar": str(calendar.pk),
            "services": [
                str(s.pk) for s in Service.objects.filter(slug__in=["payments-api", "identity-sso"])
            ],
            "de_escalation_criteria": "DPO has assessed the breach\n\nRegulator notified where required\n",
            "extra_required_fields": "records_affected | How many records? | An estimate is fine",
            "change_reason": "New procedure agreed with the DPO",
        }
    )
    data.update(level(0, name="Compliance officer", person=org["hannah.schmidt"], rank=40))
    data.update(
        level(1, name="Chief Operating Officer", person=org["priya.natarajan"], rank=90, approval=True)
    )
    data.update(overrides)
    return data


def calendar_post(client, **overrides) -> dict:
    data = page_post(client, reverse("policies:calendar_new"))
    data.update(
        {
            "name": "Berlin office",
            "timezone": "Europe/Berlin",
            "holiday_country": "de",
            "holiday_subdivision": "be",
        }
    )
    data.update({k.replace("__", "-"): v for k, v in overrides.items()})
    return data


def level_specs_of(policy):
    return [
        LevelSpec(
            order=lvl.order,
            name=lvl.name,
            target_kind=lvl.target_kind,
            authority_rank=lvl.authority_rank,
            target_person=lvl.target_person,
            target_team=lvl.target_team,
            target_rotation=lvl.target_rotation,
            requires_approval=lvl.requires_approval,
        )
        for lvl in policy.levels.order_by("order")
    ]


def threshold_specs_of(policy):
    return [
        ThresholdSpec(
            t.severity, t.customer_tier, t.acknowledge_within, t.resolve_within, t.business_hours_only
        )
        for t in policy.thresholds.all()
    ]


def grow_policies(total: int) -> None:
    """Cheap test data: policies with two levels (a team's on-call, then a person) and a
    service each, written in bulk (no history: this is about reading)."""
    if not Person.objects.exists():
        team = TeamFactory()
        boss = PersonFactory(team=team, authority_rank=90)
        ContactMethodFactory(person=boss, kind="email", value=boss.email, priority=1)
        rotation = RotationFactory(team=team, name="Primary", starts_on=date(2026, 1, 5))
        RotationMemberFactory(rotation=rotation, person=boss, position=1)
        BusinessCalendarFactory(
            name="24x7", always_open=True, timezone="UTC", weekly_hours={}, holiday_country="", holiday_subdivision=""
        )
    owner, team = Person.objects.first(), Team.objects.first()
    calendar = BusinessCalendar.objects.first()
    start = EscalationPolicy.objects.count()
    policies = EscalationPolicy.objects.bulk_create(
        EscalationPolicy(
            name=f"Policy {i:04d}",
            slug=f"policy-{i}",
            category="operational",
            description="Test policy",
            owner=owner,
            calendar=calendar,
            next_review_on=date(2026, 1, 1) if i % 2 else date(2027, 1, 1),
        )
        for i in range(start, total)
    )
    EscalationLevel.objects.bulk_create(
        lvl
        for p in policies
        for lvl in (
            EscalationLevel(
                policy=p,
                order=1,
                name="On call",
                target_kind="team_on_call",
                target_team=team,
                authority_rank=10,
            ),
            EscalationLevel(
                policy=p,
                order=2,
                name="Boss",
                target_kind="person",
                target_person=owner,
                authority_rank=90,
                requires_approval=True,
            ),
        )
    )
    services = Service.objects.bulk_create(
        Service(name=f"Service {p.pk}", slug=f"service-{p.pk}", owner_team=team) for p in policies
    )
    Service.policies.through.objects.bulk_create(
        Service.policies.through(service_id=s.pk, escalationpolicy_id=p.pk)
        for s, p in zip(services, policies, strict=True)
    )
    Service.supporting_teams.through.objects.bulk_create(
        Service.supporting_teams.through(service_id=s.pk, team_id=team.pk) for s in services
    )
