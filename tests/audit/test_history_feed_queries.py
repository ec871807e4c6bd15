"""The history feed's cost is fixed: the same queries whatever a page holds (one kind of record
or every kind, foreign keys naming people, teams and policies or none), its depth and filters."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.diffs import name_expression
from apps.audit.feed import FeedQuery, feed_page, sources
from apps.contacts.models import Team
from apps.contacts.services import contact_methods_set
from apps.escalations.services import escalation_acknowledge, escalation_hand_off
from apps.policies.models import EscalationLevel, GovernanceThreshold
from tests.escalations.conftest import raise_one
from tests.factories.contacts import RotationFactory, TeamFactory
from tests.factories.policies import ChangeFreezeFactory, MaintenanceWindowFactory

pytestmark = pytest.mark.django_db

IN_FEED = {s.key for s in sources() if s.in_feed}


def one_of_every_kind(org):
    """A change of every kind of record the feed shows (the organisation has the rest)."""
    from tests.approvals.conftest import ask_for_the_cto, to_level_two

    ask_for_the_cto(org, to_level_two(org))  # an escalation, its approval request
    esc = raise_one(org)
    escalation_hand_off(
        escalation=esc,
        actor=org.engineer,
        to_person=org.person(org.backup),
        context_summary="Over to you: the gateway owner knows the rollback plan.",
    )
    contact_methods_set(person=org.person(org.engineer), methods=[("email", "tom@example.com")], actor=None)
    RotationFactory(team=org.person(org.engineer).team)
    MaintenanceWindowFactory().services.add(org.service)
    ChangeFreezeFactory().services.add(org.service)
    GovernanceThreshold.objects.create(name="Payments noise", service=org.service, max_escalations=5)


def counted(user, query: FeedQuery | None = None, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        page, cursor = feed_page(user, query or FeedQuery(), **kwargs)
    return page, cursor, len(queries)


def test_the_same_two_queries_for_one_kind_every_kind_or_foreign_keys_naming_many_kinds(db):
    from tests.approvals.conftest import build_org

    org = build_org()
    auditor = org.auditor
    feed_page(auditor)  # whom the auditor oversees: worked out once per request (kept on the user)
    # Every kind of record: the organisation's setup and one change of each other kind.
    one_of_every_kind(org)
    every, _, every_queries = counted(auditor, size=500)
    assert {e["source"].key for e in every} == IN_FEED

    # Foreign keys naming people, teams, policies, a calendar, a rotation and services.
    other_team = TeamFactory(name="Platform")
    engineer = org.person(org.engineer)
    engineer.team, engineer.manager = other_team, org.person(org.cto)
    engineer.save()
    level = EscalationLevel.objects.filter(policy=org.policy).order_by("order").first()
    level.target_person = org.person(org.cto)
    level.save()
    org.policy.owner = org.person(org.cto)
    org.policy.save()
    org.service.owner_team = other_team
    org.service.save()
    named, _, named_queries = counted(auditor, size=4)
    changes = {c["field"]: (c["old"], c["new"]) for e in named for c in e["changes"]}
    assert changes["team"] == (str(org.person(org.cto).team), "Platform")
    assert changes["manager"] == (str(org.person(org.eng_manager)), str(org.person(org.cto)))
    assert changes["owner"] == (str(org.person(org.eng_manager)), str(org.person(org.cto)))
    assert changes["owner team"] == (str(org.person(org.cto).team), "Platform")

    # Only escalations, on the first page and on a deep one.
    for _ in range(6):
        raise_one(org)
    first, cursor, first_queries = counted(auditor, size=5)
    assert {e["source"].key for e in first} == {"escalation"}
    deep, _, deep_queries = counted(auditor, size=5, cursor=cursor)
    filtered, _, filtered_queries = counted(auditor, FeedQuery(kinds=("person",)), size=5)
    assert filtered and {e["source"].key for e in filtered} == {"person"}

    # Keys, then the rows with everything their diffs need: no query per kind, source or row.
    assert every_queries == named_queries == first_queries == deep_queries == filtered_queries == 2


def test_a_whole_page_costs_the_same_whatever_it_holds(client, world):
    client.force_login(world.auditor)
    client.get(reverse("audit:history"))
    with CaptureQueriesContext(connection) as setup_only:  # people, teams, policies, levels...
        client.get(reverse("audit:history"))
    for _ in range(30):  # a first page of escalation changes only
        escalation_acknowledge(escalation=raise_one(world), actor=world.engineer)
    with CaptureQueriesContext(connection) as escalations_only:
        response = client.get(reverse("audit:history"))
    assert {e["source"].key for e in response.context["entries"]} == {"escalation"}
    with CaptureQueriesContext(connection) as filtered:
        client.get(reverse("audit:history"), {"kind": "policy"})
    assert len(setup_only) == len(escalations_only) == len(filtered)


def test_a_page_showing_confidential_changes_records_their_reads_at_a_fixed_cost(world):
    feed_page(world.auditor)
    plain, _, plain_queries = counted(world.auditor)
    one = raise_one(world, confidential=True)
    _, _, one_queries = counted(world.auditor)
    raise_one(world, confidential=True)
    raise_one(world, confidential=True)
    _, _, three_queries = counted(world.auditor)
    assert plain_queries == 2 and one_queries > plain_queries
    from apps.audit.models import AuditEvent

    reads = AuditEvent.objects.filter(action="escalations.confidential_read")
    assert reads.filter(target_id=str(one.pk)).count() == 2  # once per page showing it
    assert three_queries - plain_queries <= 3 * (one_queries - plain_queries)


def test_every_object_a_diff_can_name_is_named_as_the_portal_names_it(db):
    """Each foreign key of a feed source points at a model with a name expression, and that
    expression gives what ``str()`` gives (the page names them in SQL, not per object)."""
    from tests.approvals.conftest import build_org

    org = build_org()
    one_of_every_kind(org)
    for src in sources():
        historical = src.model.history.model
        for field in historical._meta.concrete_fields:
            if not field.is_relation or field.name.startswith("history"):
                continue
            model = field.related_model
            assert any(s.model is model and s.name for s in sources()), (src.key, field.name)
            objects = list(model._default_manager.all())
            assert objects, model
            names = dict(model._default_manager.annotate(_n=name_expression(model)).values_list("pk", "_n"))
            assert {o.pk: str(o) for o in objects} == names


def test_a_deleted_object_reads_as_deleted(world):
    gone = Team.objects.create(name="Short-lived")
    engineer = world.person(world.engineer)
    engineer.team = gone
    engineer.save()
    engineer.team = world.person(world.cto).team
    engineer.save()
    gone_pk = gone.pk
    gone.delete()
    page, _ = feed_page(world.auditor, FeedQuery(kinds=("person",)), size=2)
    change = next(c for c in page[0]["changes"] if c["field"] == "team")
    assert change["old"] == f"#{gone_pk} (deleted)" and change["new"] == str(engineer.team)


def test_a_change_of_several_services_names_them(world):
    window = MaintenanceWindowFactory(name="Patch night")
    window.services.add(world.service)
    page, _ = feed_page(world.auditor, FeedQuery(kinds=("maintenance-window",)), size=5)
    changed = [c for e in page for c in e["changes"] if c["name"] == "services"]
    assert changed and changed[0]["old"] == "—" and changed[0]["new"] == str(world.service)
