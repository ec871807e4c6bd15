"""Accounts' action codes in words (``apps.audit.labels``). Accounts have no page of their
own, so their events link nowhere."""

from apps.audit.labels import register_actions

ACTIONS = {
    "accounts.roles_synced": (
        "Roles synchronised",
        "{actor} brought the role groups in line with the matrix",
    ),
    "accounts.roles_changed": ("Roles changed", "{actor} changed the roles of {target}"),
    "accounts.signed_out_everywhere": ("Signed out everywhere", "{actor} signed out of every session"),
    "accounts.password_changed": ("Password changed", "{actor} changed the password of {target}"),
    "accounts.password_reset_requested": (
        "Password reset asked for",
        "A password reset was asked for {target}",
    ),
    "accounts.two_factor_enrolled": ("Two-factor set up", "{actor} set up two-factor sign-in"),
    "accounts.two_factor_verified": ("Two-factor passed", "{actor} gave a valid second factor"),
    "accounts.two_factor_failed": ("Two-factor failed", "{actor} gave a wrong second factor ({data[stage]})"),
    "accounts.recovery_code_used": (
        "Recovery code used",
        "{actor} used a recovery code; {data[codes_left]} left",
    ),
    "accounts.recovery_codes_replaced": ("Recovery codes replaced", "{actor} replaced their recovery codes"),
    "accounts.two_factor_turned_off": ("Two-factor turned off", "{actor} turned two-factor sign-in off"),
    "accounts.user_created_by_sign_on": (
        "Account created by single sign-on",
        "Single sign-on created {target}",
    ),
    "accounts.user_linked_to_sign_on": ("Account linked to single sign-on", "Single sign-on linked {target}"),
}


def register() -> None:
    register_actions(ACTIONS)
