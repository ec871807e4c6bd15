"""Who may open a case: its assigned reviewers, and its reporter. Everyone else gets 404, the
alleged retaliator, their manager, an executive, an auditor and an unassigned HR officer
included; an auditor sees only the statistics, small counts suppressed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent
from apps.protection import services
from apps.protection.models import Mode
from tests.approvals.conftest import build_org
from tests.factories import UserFactory
from tests.protection.conftest import file_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(officer):
    org = build_org()
    report, _ = file_report(org.raiser, mode=Mode.CONFIDENTIAL, people_named=[org.lead])
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    unassigned_hr = UserFactory(username="other_hr", roles=[Role.HR_COMPLIANCE])
    return org, report, unassigned_hr


def test_only_the_reviewers_and_the_reporter_open_a_case(client, case, officer, auditor):
    org, report, unassigned_hr = case
    outsiders = {
        "alleged retaliator": org.lead,
        "their manager": org.director,
        "an executive": org.cto,
        "an auditor": auditor,
        "an unassigned HR officer": unassigned_hr,
    }
    for who, user in outsiders.items():
        client.force_login(user)
        for name in ("protection:case", "protection:mine_case"):
            status = client.get(reverse(name, args=[report.pk])).status_code
            assert status == 404, f"{who} gets {status} on {name}"
    client.force_login(officer)
    assert client.get(reverse("protection:case", args=[report.pk])).status_code == 200
    client.force_login(org.raiser)
    assert client.get(reverse("protection:mine_case", args=[report.pk])).status_code == 200


def test_every_read_of_a_case_is_an_audit_event_kept_out_of_the_general_trail(client, case, officer):
    _, report, _ = case
    client.force_login(officer)
    client.get(reverse("protection:case", args=[report.pk]))
    read = AuditEvent.objects.filter(action="protection.case_read", target_id=str(report.pk)).get()
    assert read.actor_id == officer.pk and read.confined_to == "protection"


def test_an_auditor_sees_only_suppressed_statistics(client, case, auditor):
    client.force_login(auditor)
    assert client.get(reverse("protection:desk")).status_code == 403
    assert client.get(reverse("protection:flags")).status_code == 403
    response = client.get(reverse("protection:statistics"))
    body = response.content.decode()
    assert response.status_code == 200 and "fewer than 5" in body and case[1].reference not in body
    for _ in range(5):
        file_report()
    body = client.get(reverse("protection:statistics")).content.decode()
    assert ">6<" in body  # six received: shown


def test_the_desk_lists_unassigned_cases_without_their_text(client, officer, second_officer):
    report, _ = file_report(text="Secret words of the report")
    client.force_login(second_officer)
    body = client.get(reverse("protection:desk")).content.decode()
    assert report.reference in body and "Secret words" not in body
    client.post(reverse("protection:take", args=[report.pk]))
    assert services.reviewer_ids(report) == {second_officer.pk}
    client.force_login(officer)
    assert client.get(reverse("protection:case", args=[report.pk])).status_code == 404
