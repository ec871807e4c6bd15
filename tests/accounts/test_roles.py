"""The role matrix is synced into groups and permissions exactly as roles.py declares."""

import pytest
from django.contrib.auth.models import Group

from apps.accounts.roles import Cap, Role, capabilities_of
from apps.accounts.services import roles_sync, user_set_roles
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_every_role_has_a_group_with_exactly_its_capabilities():
    for role in Role:
        group = Group.objects.get(name=role.value)
        have = set(group.permissions.values_list("codename", flat=True))
        assert have == {cap.codename for cap in capabilities_of(role)}, role


def test_sync_is_idempotent_and_repairs_drift():
    assert roles_sync()["groups_changed"] == 0
    staff = Group.objects.get(name=Role.STAFF.value)
    staff.permissions.clear()
    assert roles_sync()["groups_changed"] == 1
    assert staff.permissions.filter(codename=Cap.RAISE_ESCALATION.codename).exists()


def test_matrix_rows_of_the_design(users_by_role):
    def can(role, cap):
        return users_by_role[role].has_perm(cap.perm)

    assert not can(Role.AUDITOR, Cap.RAISE_ESCALATION)
    assert can(Role.STAFF, Cap.RAISE_ESCALATION)
    assert not can(Role.STAFF, Cap.RESPOND_ESCALATION)
    assert can(Role.MANAGER, Cap.DECIDE_APPROVAL) and can(Role.EXECUTIVE, Cap.DECIDE_APPROVAL)
    assert not can(Role.RESPONDER, Cap.DECIDE_APPROVAL)
    assert can(Role.AUDITOR, Cap.READ_BRIEF) and not can(Role.STAFF, Cap.READ_BRIEF)
    assert all(can(role, Cap.FILE_PROTECTION_REPORT) for role in Role)
    assert can(Role.HR_COMPLIANCE, Cap.REVIEW_PROTECTION_REPORT)
    assert not can(Role.MANAGER, Cap.REVIEW_PROTECTION_REPORT)
    assert [r for r in Role if can(r, Cap.EDIT_POLICIES)] == [Role.GOVERNANCE_ADMIN]
    assert not can(Role.EXECUTIVE, Cap.BROWSE_AUDIT)


def test_changing_roles_is_audited(raiser, gov_admin):
    user_set_roles(user=raiser, roles={Role.STAFF, Role.RESPONDER}, actor=gov_admin)
    event = AuditEvent.objects.filter(action="accounts.roles_changed").latest("seq")
    assert event.actor_username == "gov_admin"
    assert event.data == {"before": ["staff"], "after": ["responder", "staff"]}
    assert raiser.roles == {Role.STAFF, Role.RESPONDER}
