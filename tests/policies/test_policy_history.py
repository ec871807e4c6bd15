"""A policy's page shows each edit as a diff with its reason, newest first, at the same cost
however long the history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.policies.models import EscalationPolicy
from apps.policies.services import policy_save
from tests.pages import queries_of
from tests.policies.pages import level_specs_of, page_post, threshold_specs_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_clock")]


def test_the_detail_page_shows_the_edit_as_a_diff_with_its_reason(client, gov_admin, outage):
    client.force_login(gov_admin)
    url = reverse("policies:edit", args=[outage.pk])
    data = page_post(
        client,
        url,
        thresholds__0__ack_amount="10",
        levels__1__name="Platform engineering manager",
        change_reason="Tighter SEV1 target after the March outage",
    )
    assert client.post(url, data).status_code == 302

    response = client.get(reverse("policies:detail", args=[outage.pk]))
    history = response.context["history"]
    newest = [e for e in history if e["reason"] == "Tighter SEV1 target after the March outage"]
    changes = {(e["subject"], c["field"], c["old"], c["new"]) for e in newest for c in e["changes"]}
    assert ("Threshold SEV1 — critical × Premium", "acknowledge within", "15 min", "10 min") in changes
    assert (
        "Level 2 · Platform engineering manager",
        "name",
        "Engineering manager",
        "Platform engineering manager",
    ) in changes
    assert all(e["user"] == "gov_admin" and e["type"] == "changed" for e in newest)
    assert history[0]["reason"] == "Tighter SEV1 target after the March outage"  # newest first
    body = response.content.decode()
    assert "Tighter SEV1 target after the March outage" in body
    assert "<del" in body and "15 min" in body and "10 min" in body


def test_the_detail_page_costs_the_same_queries_however_long_the_history(client, gov_admin, outage):
    client.force_login(gov_admin)  # who may read the history
    url = reverse("policies:detail", args=[outage.pk])

    def edit(times: int) -> None:
        for n in range(times):
            policy = EscalationPolicy.objects.get(pk=outage.pk)
            policy.description = f"Version {n}"
            policy_save(
                policy=policy,
                levels=level_specs_of(outage),
                thresholds=threshold_specs_of(outage),
                actor=None,
                reason=f"Edit {n}",
            )

    client.get(url)
    edit(1)
    few = queries_of(client, url)
    edit(15)
    assert queries_of(client, url) == few
