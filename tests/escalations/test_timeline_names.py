"""The timeline names people as people know them (issue 12, item 6: words people use), not by
their login."""

import pytest
from django.urls import reverse

from tests.escalations.conftest import raise_one

pytestmark = pytest.mark.django_db


def test_the_timeline_names_the_actor_not_their_login(client, world):
    esc = raise_one(world)
    client.force_login(world.raiser)
    page = client.get(reverse("escalations:detail", args=[esc.pk])).content.decode()
    assert "level 1 · Sam Patel</span>" in page
    assert "level 1 · raiser</span>" not in page
