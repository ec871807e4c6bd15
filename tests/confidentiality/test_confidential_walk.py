"""A confidential escalation never shows up for someone who cannot open it (issue 8).

Two confidential escalations carry a marker in every text people typed about them: title,
reasons, comments, a rejection, an appeal, an edited brief (``story.py``). Every URL of the
portal (``tests/urlwalk.py``), its CSV exports and searches for the marker are then read as
every user of the world (participants of every role, and one bystander per role who takes part
in neither); the marker may appear only for someone who may open that escalation. Auditors
may (read-only, each read audited): that is what the role matrix says of them.

A new list, feed, export, inbox or report that forgets the visibility rule of its records
fails here without anyone writing a test for it.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.escalations.selectors import visible_escalations
from tests import urlwalk
from tests.confidentiality.story import DECIDED, MARKERS, tell_the_story


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    for world in urlwalk.world_fixture(django_db_setup, django_db_blocker):
        with django_db_blocker.unblock():
            yield tell_the_story(world)


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def paths(world) -> list[str]:
    """Every concrete URL, the exports, and searches that would find them."""
    found = [target.path for target in urlwalk.concrete_urls(world)]
    found += [
        reverse("escalations:list") + "?export=csv",
        reverse("approvals:log") + "?export=csv",
        reverse("contacts:export"),
        reverse("approvals:bottlenecks") + "?days=3650",
    ]
    # Searching for words of the title (not the marker: a search box shows what was typed).
    found += [
        reverse("escalations:list") + "?q=payments+ledger",
        reverse("escalations:list") + "?q=payments+ledger&export=csv",
        reverse("approvals:log") + "?q=payments+ledger",
    ]
    return found


@pytest.mark.timeout(900)  # 26 readers x every URL of the walk; a busy machine may be 8x slower
@pytest.mark.django_db
def test_a_confidential_escalation_appears_only_where_it_may_be_opened(world):
    clients = urlwalk.clients_for(world)
    clients.pop("")
    # What gives each escalation away: its marker, and its reference.
    secrets = {esc_key: (marker, world.escalations[esc_key].reference) for esc_key, marker in MARKERS.items()}
    may_open = {
        key: {
            text
            for esc_key, texts in secrets.items()
            if visible_escalations(user).filter(pk=world.escalations[esc_key].pk).exists()
            for text in texts
        }
        for key, user in world.users.items()
    }
    leaks, seen_by = [], set()
    with urlwalk.production_rendering():
        for path in paths(world):
            for key, client in clients.items():
                body = body_of(client.get(path))
                for marker in (text for texts in secrets.values() for text in texts):
                    if marker not in body:
                        continue
                    if marker in may_open[key]:
                        seen_by.add(key)
                    else:
                        leaks.append(f"{key} sees {marker} on {path}")
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:60])
    # Not vacuous: the people taking part, and auditors, do read them.
    assert {"raiser", "engineer", "lead", "director", "cto", "auditor"} <= seen_by
    # And the bystanders of every role are kept out, though each could open it if it were not
    # confidential (responders, managers, executives, governance admins see the rest).
    for key in world.users:
        if key.startswith("bystander_") and key != "bystander_auditor":
            assert not may_open[key], key
    assert DECIDED in may_open["bystander_auditor"]
