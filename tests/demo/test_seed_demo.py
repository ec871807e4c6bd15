import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.audit.services import verify_chain
from apps.contacts.models import Person

pytestmark = pytest.mark.django_db


def test_it_creates_one_login_per_role_and_an_org_chart_up_to_the_ceo():
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    roles = set()
    for user in User.objects.all():
        roles |= user.roles
        assert user.check_password("escalportal-demo")
    assert roles == set(Role)
    staff = Person.objects.get(user__username="staff")
    chain = [p.title for p in staff.management_chain()]
    assert chain[-1] == "Chief Executive Officer"
    ranks = [staff.authority_rank] + [p.authority_rank for p in staff.management_chain()]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)  # authority climbs


def test_it_is_idempotent():
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    counts = (User.objects.count(), Person.objects.count())
    events = verify_chain().checked
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert (User.objects.count(), Person.objects.count()) == counts
    assert verify_chain().checked == events  # nothing changed, nothing audited
    assert verify_chain().ok


def test_it_refuses_to_create_demo_logins_in_production(settings):
    from django.core.management.base import CommandError

    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED is off"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "moment",
    [
        "2026-11-23T01:17:00+00:00",  # Monday before the 09:00 London hand-off (CI once ran here)
        "2026-11-23T08:59:00+00:00",
        "2026-11-22T23:30:00+00:00",  # Sunday night
        "2026-03-30T07:00:00+00:00",  # Monday after the clocks went forward
    ],
)
def test_it_seeds_at_any_hour_of_the_week(moment):
    import time_machine

    with time_machine.travel(moment, tick=False):
        call_command("seed_demo", stdout=open("/dev/null", "w"))
    from apps.policies.models import EscalationPolicy

    assert EscalationPolicy.objects.count() == 6  # with the ethics-and-conduct fallback


def test_it_gives_hr_a_working_protection_desk():
    from apps.protection.models import IdentityDisclosure, ProtectionReport, Status

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    officers = User.objects.filter(groups__name=Role.HR_COMPLIANCE.value, username__in=["hr", "compliance"])
    assert officers.count() == 2
    assert set(ProtectionReport.objects.values_list("status", flat=True)) == set(Status.values)
    assert IdentityDisclosure.objects.filter(status="pending", requested_by__username="hr").exists()
