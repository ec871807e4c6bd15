"""Protection officers and reports for the protection tests."""

from __future__ import annotations

import pytest

from apps.accounts.roles import Role
from apps.protection import services
from apps.protection.models import Mode
from tests.factories import UserFactory


@pytest.fixture
def officer(db):
    return UserFactory(username="hannah", first_name="Hannah", last_name="Hr", roles=[Role.HR_COMPLIANCE])


@pytest.fixture
def second_officer(db):
    return UserFactory(
        username="compliance", first_name="Cam", last_name="Compliance", roles=[Role.HR_COMPLIANCE]
    )


@pytest.fixture
def reporter(db):
    return UserFactory(username="rita", first_name="Rita", last_name="Reporter", roles=[Role.STAFF])


def file_report(reporter=None, mode=None, text="My manager cut my hours after I escalated.", **kw):
    """A confidential report by ``reporter``, an anonymous one without."""
    mode = mode or (Mode.CONFIDENTIAL if reporter else Mode.ANONYMOUS)
    return services.report_file(mode=mode, what_happened=text, reporter=reporter, **kw)


def assigned(report, officer):
    services.reviewer_assign(report=report, reviewer=officer, actor=officer)
    return report
