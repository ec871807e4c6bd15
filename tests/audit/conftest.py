"""The escalation tests' organisation, for the audit pages."""

import pytest

from tests.escalations.conftest import build_world, raise_one


@pytest.fixture
def world(db):
    return build_world()


def finished(world, **kwargs):
    """An escalation raised, acknowledged, resolved and closed (its retention clock running)."""
    from apps.escalations import services as esc

    summary = "Rolled back the deploy; error rate back to normal for an hour."
    one = esc.escalation_acknowledge(escalation=raise_one(world, **kwargs), actor=world.engineer)
    esc.escalation_resolve(
        escalation=one, actor=world.engineer, summary=summary, criteria_confirmed=one.criteria
    )
    return esc.escalation_close(escalation=one, actor=world.raiser)
