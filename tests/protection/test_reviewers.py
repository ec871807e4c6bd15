"""Reviewers: nobody named in the case, none of their managers, nobody linked to its escalation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.roles import Role
from apps.contacts.models import Person
from apps.protection import services
from apps.protection.models import Mode
from tests.approvals.conftest import build_org
from tests.escalations.conftest import person_for, raise_one
from tests.factories import UserFactory
from tests.protection.conftest import file_report

pytestmark = pytest.mark.django_db


def hr(username, manager=None):
    user = UserFactory(username=username, roles=[Role.HR_COMPLIANCE])
    person_for(user, rank=10, team=None, manager=manager)
    return user


def test_people_named_their_managers_and_the_escalations_people_are_refused(officer):
    org = build_org()
    esc = raise_one(org)
    boss = hr("boss_hr")
    named = hr("named_hr", manager=Person.objects.get(user=boss))
    linked = org.engineer
    linked.groups.add(*boss.groups.all())  # an HR officer who also works the escalation
    report, _ = file_report(org.raiser, mode=Mode.CONFIDENTIAL, people_named=[named], escalation_id=esc.pk)
    assert report.escalation_ref == esc.reference
    for reviewer in (named, boss, linked):
        with pytest.raises(ValidationError, match="named in this case"):
            services.reviewer_assign(report=report, reviewer=reviewer, actor=reviewer)
    assert services.reviewer_ids(report) == set()
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    assert services.reviewer_ids(report) == {officer.pk}


def test_only_officers_review_and_only_reviewers_add_more(officer, second_officer, raiser):
    report, _ = file_report()
    with pytest.raises(ValidationError, match="Only HR and compliance"):
        services.reviewer_assign(report=report, reviewer=raiser, actor=officer)
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    third = hr("third_hr")
    with pytest.raises(Exception, match="Only the case's reviewers"):
        services.reviewer_assign(report=report, reviewer=third, actor=second_officer)
    services.reviewer_assign(report=report, reviewer=second_officer, actor=officer)
    assert services.reviewer_ids(report) == {officer.pk, second_officer.pk}
