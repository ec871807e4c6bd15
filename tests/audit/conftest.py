"""The escalation tests' organisation, for the audit pages."""

import pytest

from tests.escalations.conftest import build_world


@pytest.fixture
def world(db):
    return build_world()
