"""Auditors see everything and change nothing: the URL walk POSTs, as the auditor, to every
URL of the portal, and every answer is a refusal (403; 405 where the page takes no POST at
all). Their own account (password, second factor, signing out) and the protection reports
every role may file are theirs to change."""

import pytest

from apps.audit.models import AuditEvent
from tests import urlwalk

# The auditor's own account, and what every role may do for itself.
OWN = ("/account/", "/login/", "/logout/", "/protection/")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from urlwalk.world_fixture(django_db_setup, django_db_blocker)


@pytest.mark.django_db
def test_an_auditors_post_anywhere_is_refused(world):
    clients = urlwalk.clients_for(world, ["auditor", "eng_manager"])
    before = AuditEvent.objects.count()
    wrong = []
    with urlwalk.production_rendering():
        for target in urlwalk.concrete_urls(world):
            if target.path.startswith(OWN):
                continue
            status = (
                clients["auditor"]
                .post(target.path, {"reason": "An auditor trying to change things."})
                .status_code
            )
            if status not in (403, 405):
                wrong.append(f"POST {target.path} as the auditor: {status}")
    assert not wrong, "\n".join(wrong)
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_managers_reach_their_teams_trail_and_never_the_timers(world):
    clients = urlwalk.clients_for(world, ["eng_manager", "lead"])
    for key in ("eng_manager", "lead"):
        client = clients[key]
        assert client.get("/timers/").status_code == 403, key
        assert client.get("/audit/").status_code == 200, key
        assert client.get("/audit/retention/").status_code == 403, key
