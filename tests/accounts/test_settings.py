"""Session, two-factor and single sign-on settings come from the environment and stop start-up
with one line naming the variable when wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SESSION_IDLE_TIMEOUT_MINUTES, s.SESSION_MAX_AGE_HOURS, s.SESSION_COOKIE_AGE); "
    "print(','.join(s.OTP_REQUIRED_ROLES)); print(','.join(s.SESSION_BROWSER_CLOSE_ROLES)); "
    "print(s.OIDC_ENABLED, sorted(s.OIDC_ROLE_MAP.items())); print(s.PASSWORD_RESET_ENABLED)"
)
PREFIXES = ("SESSION_", "OTP_", "OIDC_", "PASSWORD_RESET", "EMAIL_", "DEBUG")
PROVIDER = {
    "OIDC_RP_CLIENT_ID": "portal",
    "OIDC_RP_CLIENT_SECRET": "s3cret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://idp.example.com/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://idp.example.com/token",
    "OIDC_OP_USER_ENDPOINT": "https://idp.example.com/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://idp.example.com/jwks",
}


def start(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    full = {**clean, "DJANGO_SETTINGS_MODULE": "escalportal.settings", "ESCALPORTAL_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", SNIPPET], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


def test_the_defaults_are_eight_hours_idle_a_day_at_most_and_two_factor_for_three_roles(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "480 24 32400",
        "hr_compliance,auditor,governance_admin",
        "hr_compliance,governance_admin",
        "False []",
        "False",
    ]


def test_every_value_is_read(tmp_path):
    result = start(
        tmp_path,
        SESSION_IDLE_TIMEOUT_MINUTES="30",
        SESSION_MAX_AGE_HOURS="10",
        OTP_REQUIRED_ROLES="",
        SESSION_BROWSER_CLOSE_ROLES="auditor",
        OIDC_ROLE_MAP="portal-hr=hr_compliance, portal-audit = auditor",
        EMAIL_HOST="smtp.example.com",
        **PROVIDER,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "30 10 5400",
        "",
        "auditor",
        "True [('portal-audit', 'auditor'), ('portal-hr', 'hr_compliance')]",
        "True",
    ]


def test_ldap_style_group_names_are_separated_by_semicolons(tmp_path):
    result = start(tmp_path, OIDC_ROLE_MAP="cn=hr,ou=groups=hr_compliance;cn=audit,ou=groups=auditor", **PROVIDER)
    assert result.returncode == 0, result.stderr
    assert "('cn=hr,ou=groups', 'hr_compliance')" in result.stdout.splitlines()[3]


@pytest.mark.parametrize(
    "env,fragment",
    [
        ({"SESSION_IDLE_TIMEOUT_MINUTES": "8h"}, "SESSION_IDLE_TIMEOUT_MINUTES='8h' is not a whole number"),
        ({"SESSION_MAX_AGE_HOURS": "0"}, "SESSION_MAX_AGE_HOURS=0 must be at least 1"),
        ({"OTP_REQUIRED_ROLES": "auditor,hr"}, "OTP_REQUIRED_ROLES: 'hr' is not one of staff,"),
        ({"SESSION_BROWSER_CLOSE_ROLES": "admins"}, "SESSION_BROWSER_CLOSE_ROLES: 'admins' is not one of"),
        ({"OIDC_RP_CLIENT_ID": "portal"}, "OIDC_RP_CLIENT_SECRET must be set when OIDC_RP_CLIENT_ID is"),
        ({**PROVIDER, "OIDC_OP_TOKEN_ENDPOINT": ""}, "OIDC_OP_TOKEN_ENDPOINT must be set"),
        ({**PROVIDER, "OIDC_OP_USER_ENDPOINT": "idp.example.com/userinfo"}, "OIDC_OP_USER_ENDPOINT='idp.example.com/userinfo' must be an http"),
        ({**PROVIDER, "OIDC_OP_JWKS_ENDPOINT": ""}, "OIDC_OP_JWKS_ENDPOINT must be set for OIDC_RP_SIGN_ALGO=RS256"),
        ({**PROVIDER, "OIDC_RP_SIGN_ALGO": "none"}, "OIDC_RP_SIGN_ALGO='none' is not"),
        ({"OIDC_ROLE_MAP": "portal-hr=hr"}, "OIDC_ROLE_MAP: 'portal-hr=hr' maps to 'hr', which is not one of"),
        ({"OIDC_ROLE_MAP": "portal-hr"}, "OIDC_ROLE_MAP: 'portal-hr' is not of the form group=role"),
        ({"OIDC_ROLE_MAP": "a=auditor,a=staff"}, "OIDC_ROLE_MAP: the group 'a' is mapped twice"),
        ({"PASSWORD_RESET_ENABLED": "sometimes"}, "PASSWORD_RESET_ENABLED='sometimes' is not a boolean"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, fragment):
    result = start(tmp_path, **env)
    assert result.returncode == 1
    assert fragment in result.stderr
    assert "configuration error" in result.stderr.strip().splitlines()[-1]
