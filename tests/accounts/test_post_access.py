"""Every form of the portal, submitted by people who may not use it, is refused and changes
nothing (issue 8: the URL-by-role walk covered GETs only, and a manager of another team
escalated an escalation they took no part in).

The forms are the ones the walk finds on the portal's pages (``tests/urlwalk.py``), filled in
as a person would. They are posted, whole, by one bystander per role (people who take part in
nothing), by a user with no role and by a visitor:
- a view whose capability the role lacks answers 403 (a visitor is sent to sign in);
- an escalation action or an approval decision by someone who takes no part is refused (403,
  or 404 where the escalation is confidential): participation, not the role, decides;
and in every case the audit trail, which every change writes to, has not grown.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from apps.escalations.views import VERBS
from tests import urlwalk
from tests.escalations.conftest import person_for
from tests.factories import UserFactory

# Forms anyone signed in may use on their own account, whoever they are.
OWN_ACCOUNT = {"account"}
# Acting on someone else's escalation or approval: participation decides, not the role.
PARTICIPANTS_ONLY = {
    *(f"escalations:{verb.__name__}" for verb in VERBS),
    "approvals:appeal",
    "approvals:around",
    "approvals:brief_ack",
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    for world in urlwalk.world_fixture(django_db_setup, django_db_blocker):
        with django_db_blocker.unblock():
            team = world.team
            for role in Role:
                user = UserFactory(username=f"bystander_{role.value}", roles=[role])
                person_for(user, rank=45, team=team)
                world.users[f"bystander_{role.value}"] = user
        yield world


def expected_refusal(target, key: str, user) -> set[int] | None:
    """The statuses that count as refused for this user, or None when they may use the form."""
    namespace = target.name.split(":")[0]
    if key == "":
        return {302} if target.access_rule.kind != "public" else None
    if namespace in OWN_ACCOUNT:
        return None
    rule = target.access_rule
    if rule.kind == "capability" and not any(rule.allows_role(role) for role in user.roles):
        return {403}
    if target.name in PARTICIPANTS_ONLY:
        return {403, 404}
    return None


@pytest.mark.django_db
def test_every_form_posted_by_someone_it_is_not_for_is_refused_and_changes_nothing(world):
    targets = urlwalk.concrete_urls(world)
    urlwalk.discover(world, targets, users=["gov_admin", "raiser", "engineer", "lead", "cto", "auditor"])
    posters = ["", "outsider", *(f"bystander_{role.value}" for role in Role)]
    clients = urlwalk.clients_for(world, posters)
    wrong, checked = [], 0
    with urlwalk.production_rendering():
        for target in targets:
            forms = target.post_forms
            if not forms:
                continue
            data = forms[0].filled()
            for key in posters:
                expected = expected_refusal(target, key, world.users.get(key))
                if expected is None:
                    continue
                before = AuditEvent.objects.count()
                status = clients[key].post(target.path, urlencode(data), content_type=urlwalk.URLENCODED).status_code
                checked += 1
                if status not in expected or AuditEvent.objects.count() != before:
                    wrong.append(f"{key or 'visitor'} POST {target.path}: {status}, expected {sorted(expected)}")
    assert not wrong, f"{len(wrong)} of {checked}:\n" + "\n".join(wrong[:50])
    assert checked > 300  # the walk found the portal's forms
