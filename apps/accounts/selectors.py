"""Reads for accounts: who must use two-factor sign-in, and with what."""

from __future__ import annotations

from django.conf import settings
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import User


def two_factor_required(user: User) -> bool:
    """True when one of the person's roles is in ``OTP_REQUIRED_ROLES`` (read per request, so a
    role granted mid-session takes effect at once)."""
    required = set(settings.OTP_REQUIRED_ROLES)
    return bool(required) and any(role.value in required for role in user.roles)


def authenticator_of(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator app, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
