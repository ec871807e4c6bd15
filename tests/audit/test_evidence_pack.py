"""The evidence pack of a finished escalation verifies offline with the script, and fails
after one byte of it is changed."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from apps.audit.models import AuditEvent
from tests.audit.conftest import finished

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_evidence_pack.py"


def run(path, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), str(path), *extra], capture_output=True, text=True)


@pytest.fixture
def pack(client, world, tmp_path):
    esc = finished(world)
    client.force_login(world.auditor)
    response = client.get(reverse("audit:evidence", args=[esc.pk]))
    assert response.status_code == 200
    assert f'filename="{esc.reference}-evidence.jsonl"' in response["Content-Disposition"]
    path = tmp_path / "pack.jsonl"
    path.write_bytes(response.content)
    key = tmp_path / "key"
    key.write_text(settings.AUDIT_CHAIN_KEY)
    return esc, path, key


def test_the_pack_verifies_offline_and_holds_the_whole_record(pack):
    esc, path, key = pack
    result = run(path, "--key-file", str(key))
    assert result.returncode == 0, result.stderr
    assert f"VERIFIED: evidence pack of {esc.reference}" in result.stdout
    sys.path.insert(0, str(SCRIPT.parent))
    from verify_evidence_pack import verify

    body = verify(path.read_bytes())
    assert {
        "timeline",
        "approvals",
        "decisions",
        "history",
        "brief_versions",
        "audit_events",
        "chain",
    } <= set(body)
    actions = [e["canonical"]["action"] for e in body["audit_events"]]
    assert actions[:4] == [
        "escalations.raised",
        "escalations.acknowledged",
        "escalations.resolved",
        "escalations.closed",
    ]
    exported = AuditEvent.objects.get(action="audit.evidence_pack_exported")
    assert exported.data["sha256"] in path.read_text().splitlines()[0]


@pytest.mark.parametrize("where", [0.01, 0.5, 0.99])
def test_one_changed_byte_fails(pack, where):
    _, path, key = pack
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    data[at] = (data[at] + 1) % 128 or 65
    path.write_bytes(bytes(data))
    result = run(path, "--key-file", str(key))
    assert result.returncode == 1 and "NOT VERIFIED" in result.stderr


def test_a_wrong_key_fails(pack, tmp_path):
    _, path, _ = pack
    other = tmp_path / "other"
    other.write_text("not the key")
    assert run(path, "--key-file", str(other)).returncode == 1
    assert run(path).returncode == 0  # without a key, the pack's own integrity still verifies


def test_only_those_who_browse_its_history_get_it(client, world, user_factory, person_factory, team_factory):
    from apps.accounts.roles import Role

    esc = finished(world)
    stranger = user_factory(username="stranger_mgr", roles=[Role.MANAGER])
    person_factory(user=stranger, team=team_factory())
    client.force_login(stranger)
    assert client.get(reverse("audit:evidence", args=[esc.pk])).status_code == 404
    client.force_login(world.raiser)
    assert client.get(reverse("audit:evidence", args=[esc.pk])).status_code == 403
    client.force_login(world.eng_manager)
    assert client.get(reverse("audit:evidence", args=[esc.pk])).status_code == 200


def test_a_manager_gets_no_brief_draft_that_was_never_sent(client, db):
    from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two

    org = build_org()
    approval = ask_for_the_cto(org, to_level_two(org))
    client.force_login(org.eng_manager)
    body = client.get(reverse("audit:evidence", args=[approval.escalation_id])).content.decode()
    assert '"brief_versions":[]' in body
    client.force_login(org.auditor)
    body = client.get(reverse("audit:evidence", args=[approval.escalation_id])).content.decode()
    assert '"brief_versions":[{' in body
