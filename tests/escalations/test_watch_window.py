"""Raising an escalation opens the raiser's watch window for as long as its policy says (issue
10, item 5: 12 months by default, configurable per policy)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.policies.models import EscalationPolicy
from apps.protection.models import WatchWindow
from apps.protection.services.watch import pseudonym
from tests.escalations.conftest import build_world, raise_one
from tests.policies.pages import page_post

pytestmark = pytest.mark.django_db


def window_of(user) -> WatchWindow:
    return WatchWindow.objects.get(pseudonym=pseudonym(user.pk))


def test_a_raiser_is_watched_for_twelve_months_by_default():
    world = build_world()
    raise_one(world)
    days = (window_of(world.raiser).ends_at - timezone.now()).days
    assert 363 <= days <= 366


def test_a_policy_can_watch_its_raisers_longer_or_shorter():
    world = build_world()
    EscalationPolicy.objects.filter(pk=world.policy.pk).update(watch_window_months=3)
    raise_one(world)
    ends = window_of(world.raiser).ends_at
    assert timezone.now() + timedelta(days=88) <= ends <= timezone.now() + timedelta(days=93)


def test_the_policy_form_sets_it_within_bounds(client, gov_admin):
    world = build_world()
    client.force_login(gov_admin)
    edit = reverse("policies:edit", args=[world.policy.pk])
    refused = client.post(
        edit, page_post(client, edit, watch_window_months="0", change_reason="Shorter window")
    )
    assert refused.status_code == 400 and "greater than or equal to 1" in refused.content.decode()
    saved = client.post(
        edit, page_post(client, edit, watch_window_months="24", change_reason="Longer window")
    )
    assert saved.status_code == 302
    world.policy.refresh_from_db()
    assert world.policy.watch_window_months == 24
    page = client.get(reverse("policies:detail", args=[world.policy.pk])).content.decode()
    assert "watched for retaliation for 24 months" in page
