import pytest

from tests.confidentiality.story import DECIDED, tell_the_story

pytestmark = pytest.mark.django_db


def test_the_story_runs(client):
    story = tell_the_story()
    assert story.brief.sent_at is not None
    client.force_login(story.org.raiser)
    from django.urls import reverse
    assert DECIDED in client.get(reverse("escalations:detail", args=[story.decided.pk])).content.decode()
