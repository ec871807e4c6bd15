"""Only the people taking part act on an escalation, each as their role allows; a form that
does not parse never reaches a service (issue 8: a manager of another team escalated an
escalation they took no part in, and ``to_level=abc`` escalated anyway)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.accounts.roles import Role
from apps.escalations import services
from tests.escalations.conftest import raise_one
from tests.escalations.test_lifecycle import snapshot
from tests.escalations.test_pages import act

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_manager(user_factory):
    """A manager (and responder) of another team: sees every escalation that is not
    confidential, takes part in none of this world's."""
    return user_factory(username="othermgr", roles=[Role.MANAGER, Role.RESPONDER])


def test_a_manager_who_takes_no_part_cannot_escalate_or_comment(client, world, other_manager):
    esc = raise_one(world)
    before = snapshot(esc)
    client.force_login(other_manager)
    assert client.get(reverse("escalations:detail", args=[esc.pk])).status_code == 200  # may read
    for action, data in (("escalate", {"to_level": 2, "reason": "Nobody is moving on this"}), ("comment", {"text": "Hi"})):
        response = act(client, esc, action, **data)
        assert response.status_code == 403, action
        assert "take no part" in response.content.decode()
    assert snapshot(esc) == before


def test_the_page_offers_no_action_to_someone_who_takes_no_part(client, world, other_manager):
    esc = raise_one(world)
    client.force_login(other_manager)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert f'action="/escalations/{esc.pk}/escalate/"' not in page
    assert f'action="/escalations/{esc.pk}/comment/"' not in page


def test_the_service_refuses_too_whatever_calls_it(world, other_manager):
    esc = raise_one(world)
    with pytest.raises(PermissionDenied):
        services.escalation_escalate(escalation=esc, actor=other_manager, reason="Going over heads here", to_level=2)
    with pytest.raises(PermissionDenied):
        services.escalation_comment(escalation=esc, actor=other_manager, text="Just passing by")


def test_participants_still_act(client, world):
    esc = raise_one(world)
    client.force_login(world.raiser)  # the raiser takes part, and staff may trigger level 2 here
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert f'action="/escalations/{esc.pk}/escalate/"' in page
    assert f'action="/escalations/{esc.pk}/comment/"' in page
    assert act(client, esc, "escalate", to_level=2, reason="The on-call has not answered").status_code == 302
    esc.refresh_from_db()
    assert esc.current_level == 2


@pytest.mark.parametrize("to_level", ["abc", "9" * 30, "-1", "1.5", "99"])
def test_a_level_that_does_not_parse_is_a_400_beside_the_field_and_changes_nothing(client, world, to_level):
    esc = raise_one(world)
    before = snapshot(esc)
    client.force_login(world.raiser)
    response = act(client, esc, "escalate", to_level=to_level, reason="The on-call has not answered")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Select a valid choice" in body and 'id="id_escalate_to_level"' in body
    assert snapshot(esc) == before


def test_a_version_that_does_not_parse_is_a_400_not_a_skipped_check(client, world):
    esc = raise_one(world)
    before = snapshot(esc)
    client.force_login(world.engineer)
    response = client.post(reverse("escalations:acknowledge", args=[esc.pk]), {"version": "x" * 40})
    assert response.status_code == 400
    assert snapshot(esc) == before
