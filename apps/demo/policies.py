"""The demo organisation's escalation policies (called by seed_demo; safe to run again)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from apps.accounts.roles import Role
from apps.contacts.models import Person, Rotation, Team
from apps.contacts.services import contact_methods_set, rotation_save
from apps.policies.models import BusinessCalendar, CustomerTier, EscalationPolicy, Service, Severity
from apps.policies.services import LevelSpec, ThresholdSpec, calendar_save, policy_save

REASON = "Demo organisation"
RAISERS = [
    Role.STAFF,
    Role.RESPONDER,
    Role.MANAGER,
    Role.EXECUTIVE,
    Role.HR_COMPLIANCE,
    Role.GOVERNANCE_ADMIN,
]
RESPONDERS = [Role.RESPONDER, Role.MANAGER, Role.EXECUTIVE]
DECIDERS = [Role.MANAGER, Role.EXECUTIVE]
M, H = timedelta(minutes=1), timedelta(hours=1)

# severity -> (acknowledge, resolve) for premium customers; standard x2, basic x4.
FAST = {"sev1": (15 * M, 4 * H), "sev2": (30 * M, 8 * H), "sev3": (2 * H, 24 * H), "sev4": (8 * H, 72 * H)}
BUSINESS = {"sev1": (1 * H, 8 * H), "sev2": (2 * H, 16 * H), "sev3": (4 * H, 40 * H), "sev4": (8 * H, 80 * H)}


def matrix(base: dict, business_hours_only: bool) -> list[ThresholdSpec]:
    factors = {CustomerTier.PREMIUM: 1, CustomerTier.STANDARD: 2, CustomerTier.BASIC: 4}
    return [
        ThresholdSpec(
            sev.value, tier.value, base[sev.value][0] * f, base[sev.value][1] * f, business_hours_only
        )
        for sev in Severity
        for tier, f in factors.items()
    ]


def person(email_local: str) -> Person:
    return Person.objects.get(email=f"{email_local}@example.com")


@transaction.atomic
def seed_policies() -> int:
    for p in Person.objects.all():
        if not p.contact_methods.exists():
            digits = f"{7700900000 + p.pk:010d}"
            contact_methods_set(
                person=p, methods=[("email", p.email), ("phone", f"+44{digits}")], reason=REASON
            )
    platform, security, customers = (
        Team.objects.get(slug=s) for s in ("platform-ops", "security", "customer-success")
    )
    today = date.today()
    if not platform.rotations.exists():
        rotation_save(
            rotation=Rotation(
                team=platform,
                name="Platform primary",
                timezone="Europe/London",
                shift_hours=168,
                handoff_time="09:00",
                starts_on=_monday_a_week_before(today),
            ),
            members=[person("tomas.herrera"), person("aisha.bello"), person("grace.lindqvist")],
            reason=REASON,
        )
    if not security.rotations.exists():
        rotation_save(
            rotation=Rotation(
                team=security,
                name="Security on-call",
                timezone="UTC",
                shift_hours=24,
                handoff_time="08:00",
                starts_on=today - timedelta(days=7),
            ),
            members=[person("ken.watanabe")],
            reason=REASON,
        )
    always = _calendar("24x7", {"always_open": True, "timezone": "UTC"})
    office = _calendar(
        "UK office hours",
        {
            "timezone": "Europe/London",
            "holiday_country": "GB",
            "holiday_subdivision": "ENG",
            "weekly_hours": {str(d): [["09:00", "17:30"]] for d in range(5)},
        },
    )
    services = {
        slug: _service(slug, name, team, tier)
        for slug, name, team, tier in [
            ("payments-api", "Payments API", platform, CustomerTier.PREMIUM),
            ("customer-portal", "Customer Portal", platform, CustomerTier.STANDARD),
            ("identity-sso", "Identity & SSO", security, CustomerTier.PREMIUM),
            ("data-warehouse", "Data Warehouse", platform, CustomerTier.BASIC),
            ("account-management", "Account Management", customers, CustomerTier.PREMIUM),
        ]
    }
    everything = list(services.values())
    created = 0
    for spec in _policies(platform, security, always, office, services, everything, today):
        if EscalationPolicy.objects.filter(slug=spec["slug"]).exists():
            continue
        policy = EscalationPolicy(
            name=spec["name"],
            slug=spec["slug"],
            category=spec["category"],
            description=spec["description"],
            owner=spec["owner"],
            calendar=spec["calendar"],
            de_escalation_criteria=spec["criteria"],
            extra_required_fields=spec.get("extra", []),
            covers_all_services=spec.get("fallback", False),
            review_interval_days=180,
            next_review_on=spec.get("review", today + timedelta(days=180)),
        )
        policy_save(
            policy=policy,
            levels=spec["levels"],
            thresholds=spec["thresholds"],
            services=spec["services"],
            actor=None,
            reason=REASON,
        )
        created += 1
    return created


def _monday_a_week_before(today: date) -> date:
    # Not this week's Monday: seeded on a Monday before the 09:00 hand-off, the rotation would
    # not have started yet and policy_save would rightly refuse an unreachable level 1.
    return today - timedelta(days=today.weekday() + 7)


def _calendar(name: str, fields: dict) -> BusinessCalendar:
    existing = BusinessCalendar.objects.filter(name=name).first()
    return existing or calendar_save(
        calendar=BusinessCalendar(name=name, **fields), actor=None, reason=REASON
    )


def _service(slug, name, team, tier) -> Service:
    service, _ = Service.objects.get_or_create(
        slug=slug, defaults={"name": name, "owner_team": team, "customer_tier": tier}
    )
    return service


def _policies(platform, security, always, office, services, everything, today):
    cto, coo, ceo = person("marcus.reid"), person("priya.natarajan"), person("eleanor.vance")
    grace, daniel, sofia, hannah = (
        person(x) for x in ("grace.lindqvist", "daniel.okafor", "sofia.rossi", "hannah.schmidt")
    )
    sec_rotation = Rotation.objects.get(team=security, is_primary=True)

    def lvl(order, name, kind, rank, roles, **target):
        # Anyone who may raise may *ask* for an executive level: the raiser's manager's approval is
        # the control there, and escalating around a silent chain must stay possible.
        executive = rank >= 90
        return LevelSpec(
            order=order,
            name=name,
            target_kind=kind,
            authority_rank=rank,
            trigger_roles=[r.value for r in (RAISERS if executive else roles)],
            requires_approval=executive,
            **target,
        )

    return [
        {
            "slug": "production-outage",
            "name": "Production outage",
            "category": "operational",
            "description": "A production service is down or badly degraded. Clocks run 24x7.",
            "owner": daniel,
            "calendar": always,
            "thresholds": matrix(FAST, False),
            "services": [services["payments-api"], services["customer-portal"], services["data-warehouse"]],
            "criteria": [
                "Service restored and stable for 30 minutes",
                "Customer communication sent",
                "Post-incident review scheduled",
            ],
            "levels": [
                lvl(1, "Platform on-call", "team_on_call", 30, RAISERS, target_team=platform),
                lvl(
                    2, "Engineering manager", "person", 50, RAISERS, target_person=grace
                ),  # anyone may go around a silent on-call
                lvl(3, "Director of Platform Operations", "person", 70, RESPONDERS, target_person=daniel),
                lvl(4, "Chief Technology Officer", "person", 90, DECIDERS, target_person=cto),
            ],
        },
        {
            "slug": "security-incident",
            "name": "Security incident",
            "category": "security",
            "description": "Suspected compromise, data exposure or active attack. Clocks run 24x7.",
            "owner": person("ken.watanabe"),
            "calendar": always,
            "thresholds": matrix(FAST, False),
            "services": everything,
            "criteria": [
                "Threat contained",
                "Credentials rotated where exposed",
                "Regulators notified where required",
            ],
            "extra": [
                {
                    "name": "data_exposed",
                    "label": "Was personal data exposed?",
                    "help": "Yes, no, or unknown — say which data.",
                }
            ],
            "levels": [
                lvl(1, "Security on-call", "rotation", 50, RAISERS, target_rotation=sec_rotation),
                lvl(2, "Chief Technology Officer", "person", 90, DECIDERS, target_person=cto),
            ],
        },
        {
            "slug": "premium-customer",
            "name": "Premium customer escalation",
            "category": "customer",
            "description": "A premium customer's outcome is at risk: contract, renewal or a promise made.",
            "owner": sofia,
            "calendar": office,
            "thresholds": matrix(BUSINESS, True),
            "services": [services["account-management"], services["payments-api"]],
            "criteria": ["Customer has confirmed the outcome", "Account plan updated"],
            "levels": [
                lvl(1, "Head of Customer Success", "person", 60, RAISERS, target_person=sofia),
                lvl(2, "Chief Operating Officer", "person", 90, DECIDERS, target_person=coo),
            ],
        },
        {
            "slug": "compliance-concern",
            "name": "Compliance concern",
            "category": "compliance",
            "description": "A possible breach of law, regulation or internal policy. Business hours.",
            "owner": hannah,
            "calendar": office,
            "thresholds": matrix(BUSINESS, True),
            "services": everything,
            "criteria": ["Concern assessed by compliance", "Remediation owner named"],
            "levels": [
                lvl(1, "HR & Compliance Officer", "person", 40, RAISERS, target_person=hannah),
                lvl(2, "Chief Operating Officer", "person", 90, DECIDERS, target_person=coo),
                lvl(3, "Chief Executive Officer", "person", 100, DECIDERS, target_person=ceo),
            ],
        },
        {
            "slug": "ethics-and-conduct",
            "name": "Ethics and conduct",
            "category": "ethics",
            "description": "Behaviour, fairness or integrity at risk: about a person, a team or a decision "
            "rather than a service. The fallback for every service. Business hours.",
            "owner": hannah,
            "calendar": office,
            "thresholds": matrix(BUSINESS, True),
            "services": [],
            "fallback": True,
            "criteria": ["Concern assessed by HR & Compliance", "Outcome told to the raiser"],
            "levels": [
                lvl(1, "HR & Compliance Officer", "person", 40, RAISERS, target_person=hannah),
                lvl(2, "Chief Operating Officer", "person", 90, DECIDERS, target_person=coo),
                lvl(3, "Chief Executive Officer", "person", 100, DECIDERS, target_person=ceo),
            ],
        },
        {
            "slug": "change-freeze-exception",
            "name": "Change-freeze exception",
            "category": "change",
            "description": "A change is needed during a change freeze. Business hours.",
            "owner": daniel,
            "calendar": office,
            "thresholds": matrix(BUSINESS, True),
            "services": [services["payments-api"], services["customer-portal"], services["identity-sso"]],
            "criteria": ["Change applied or withdrawn", "Rollback verified"],
            "review": today - timedelta(days=7),  # overdue: shows on the governance dashboard
            "levels": [
                lvl(1, "Engineering manager", "person", 50, RESPONDERS, target_person=grace),
                lvl(2, "Director of Platform Operations", "person", 70, RESPONDERS, target_person=daniel),
                lvl(3, "Chief Technology Officer", "person", 90, DECIDERS, target_person=cto),
            ],
        },
    ]
