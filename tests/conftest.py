"""Shared fixtures: factories and the named actors of STYLE.md, one per role."""

from __future__ import annotations

import pytest

from apps.accounts.roles import Role
from tests.factories import PersonFactory, TeamFactory, UserFactory

pytest_plugins = ["tests.plugins.services", "tests.plugins.mailhooks", "tests.plugins.demo_org"]


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def team_factory(db):
    return TeamFactory


@pytest.fixture
def person_factory(db):
    return PersonFactory


def _actor(username: str, role: Role):
    return UserFactory(username=username, roles=[role])


@pytest.fixture
def raiser(db):
    return _actor("raiser", Role.STAFF)


@pytest.fixture
def owner(db):
    return _actor("owner", Role.RESPONDER)


@pytest.fixture
def manager(db):
    return _actor("manager", Role.MANAGER)


@pytest.fixture
def executive(db):
    return _actor("executive", Role.EXECUTIVE)


@pytest.fixture
def auditor(db):
    return _actor("auditor", Role.AUDITOR)


@pytest.fixture
def hr_officer(db):
    return _actor("hr_officer", Role.HR_COMPLIANCE)


@pytest.fixture
def gov_admin(db):
    return _actor("gov_admin", Role.GOVERNANCE_ADMIN)


@pytest.fixture
def outsider(db):
    """Signed in, but with no role at all."""
    return UserFactory(username="outsider")


@pytest.fixture
def users_by_role(db) -> dict[Role, object]:
    return {role: _actor(f"as_{role.value}", role) for role in Role}
