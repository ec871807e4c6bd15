"""Writes for accounts: the role groups and their permissions, sessions, passwords and
two-factor sign-in. Every one is audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import User
from apps.accounts.roles import Cap, Role, capabilities_of
from apps.audit.services import record


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Make the groups and permissions match ``roles.py`` exactly (idempotent).

    Permissions hang off the User content type: they are capabilities of a person, not of a
    model. A permission removed from the matrix is taken away from the group too.
    """
    content_type = ContentType.objects.get_for_model(User)
    perms = {}
    for cap in Cap.all():
        perm, _ = Permission.objects.update_or_create(
            content_type=content_type, codename=cap.codename, defaults={"name": cap.label}
        )
        perms[cap.codename] = perm
    changed = 0
    for role in Role:
        group, created = Group.objects.get_or_create(name=role.value)
        wanted = {perms[cap.codename] for cap in capabilities_of(role)}
        current = set(group.permissions.filter(content_type=content_type))
        if created or wanted != current:
            group.permissions.remove(*(current - wanted))
            group.permissions.add(*(wanted - current))
            changed += 1
    if changed:
        record(action="accounts.roles_synced", data={"groups_changed": changed})
    return {"groups_changed": changed, "capabilities": len(perms)}


@transaction.atomic
def user_set_roles(*, user: User, roles: set[Role], actor: User | None) -> None:
    """Replace the user's roles; audited with the before and after sets."""
    before = sorted(r.value for r in user.roles)
    groups = list(Group.objects.filter(name__in=[r.value for r in roles]))
    keep = user.groups.exclude(name__in=[r.value for r in Role])
    user.groups.set([*keep, *groups])
    user.__dict__.pop("roles", None)
    after = sorted(r.value for r in roles)
    if before != after:
        record(
            action="accounts.roles_changed",
            actor=actor,
            target=user,
            data={"before": before, "after": after},
        )


# --- sessions and passwords ---------------------------------------------------------------------


def _end_sessions(user: User) -> None:
    """Raise the person's session epoch: every session signed with the old one ends at its next
    request. ``F()`` so two at once both count; the field is outside history (not a fact about
    the person), so an ``update()`` loses nothing."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> None:
    """End every session of the person, this one included (the view signs this one out)."""
    _end_sessions(user)
    record(action="accounts.signed_out_everywhere", actor=user, target=user)


@transaction.atomic
def user_password_changed(*, user: User, how: str) -> None:
    """Audit a new password (``how``: "change" or "reset"). The password is part of the session
    hash, so saving it has already ended the person's other sessions."""
    record(action="accounts.password_changed", actor=user, target=user, data={"how": how})


@transaction.atomic
def user_password_reset_requested(*, user: User) -> None:
    record(action="accounts.password_reset_requested", target=user, data={"email": user.email})


# --- two-factor sign-in -----------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The outcome of a code: ``device`` that accepted it, or why not (``throttled`` while the
    device's back-off runs, so a guesser gets no answer, right or wrong)."""

    device: Device | None = None
    recovery_code: bool = False
    throttled: bool = False
    recovery_codes_left: int = 0

    @property
    def ok(self) -> bool:
        return self.device is not None


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@transaction.atomic
def two_factor_start(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator the enrolment page shows (the same one on every visit, so
    reloading the page does not change the secret under the person's phone)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def two_factor_enrol(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm ``device`` with a code from the app and make the recovery codes (returned, to be
    shown once). Other sessions of the person end: they were signed in with one factor."""
    device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
    if device is None or not device.verify_token(normalise_code(code)):
        record(action="accounts.two_factor_failed", actor=user, target=user, data={"stage": "enrol"})
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _replace_recovery_codes(user)
    _end_sessions(user)
    record(
        action="accounts.two_factor_enrolled", actor=user, target=user, data={"recovery_codes": len(codes)}
    )
    return codes


@transaction.atomic
def two_factor_verify(*, user: User, code: str) -> Verification:
    """Check a code from the authenticator app (six digits) or a recovery code (single use).

    Devices are locked while checked, so one code cannot be used twice at once. A wrong code
    raises the device's back-off (1, 2, 4, 8... seconds, reset only by a right code, never by a
    password sign-in); the caller also counts it toward the sign-in lockout.
    """
    code = normalise_code(code)
    is_app_code = code.isdigit() and len(code) == 6  # recovery codes are 8 letters and digits
    model = TOTPDevice if is_app_code else StaticDevice
    device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
    if device is None:
        record(action="accounts.two_factor_failed", actor=user, target=user, data={"stage": "verify"})
        return Verification()
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        record(action="accounts.two_factor_failed", actor=user, target=user, data={"stage": "throttled"})
        return Verification(throttled=True)
    if not device.verify_token(code):
        record(action="accounts.two_factor_failed", actor=user, target=user, data={"stage": "verify"})
        return Verification()
    left = StaticToken.objects.filter(device__user=user).count()
    if is_app_code:
        record(action="accounts.two_factor_verified", actor=user, target=user)
    else:
        record(action="accounts.recovery_code_used", actor=user, target=user, data={"codes_left": left})
    return Verification(device=device, recovery_code=not is_app_code, recovery_codes_left=left)


@transaction.atomic
def recovery_codes_replace(*, user: User) -> list[str]:
    """New recovery codes; the old ones stop working."""
    codes = _replace_recovery_codes(user)
    record(action="accounts.recovery_codes_replaced", actor=user, target=user, data={"count": len(codes)})
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.OTP_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_turn_off(*, user: User) -> None:
    """Remove the authenticator and recovery codes (the view allows it only for people whose
    role does not require two-factor sign-in, in a session that passed it)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record(action="accounts.two_factor_turned_off", actor=user, target=user)


# --- single sign-on -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOnIdentity:
    """Who the OpenID Connect provider says signed in. ``roles`` is None when the portal does not
    take roles from the provider (no OIDC_ROLE_MAP): then roles are managed in the portal."""

    subject: str
    email: str = ""
    email_verified: bool | None = None
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    roles: frozenset[Role] | None = None


class SignOnRefused(Exception):
    """The identity cannot be matched to exactly one account; the message says why."""


@transaction.atomic
def user_sign_on(*, identity: SignOnIdentity, create: bool) -> User | None:
    """The account for a provider identity: found by its subject; else a local account with the
    same email not yet linked to any subject (linked now, once, unless the provider says the
    email is unverified); else created with no usable password (when ``create``). Names and email
    follow the provider; roles too when it manages them. Audited."""
    user = User.objects.select_for_update().filter(external_id=identity.subject).first()
    linked = False
    if user is None and identity.email and identity.email_verified is not False:
        matches = list(User.objects.select_for_update().filter(email__iexact=identity.email, external_id=""))
        if len(matches) > 1:
            raise SignOnRefused(f"{len(matches)} accounts share the email {identity.email}")
        user, linked = (matches[0], True) if matches else (None, False)
    if user is None:
        if not create:
            return None
        user = _create_signed_on_user(identity)
    else:
        _update_signed_on_user(user, identity, linked=linked)
    if identity.roles is not None:
        user_set_roles(user=user, roles=set(identity.roles), actor=None)
    return user


def _create_signed_on_user(identity: SignOnIdentity) -> User:
    user = User(
        username=_free_username(identity.username or identity.email or identity.subject),
        email=identity.email,
        first_name=identity.first_name[:150],
        last_name=identity.last_name[:150],
        external_id=identity.subject,
    )
    user.set_unusable_password()  # signs in through the provider; no password to guess here
    user.save()
    record(action="accounts.user_created_by_sign_on", target=user, data={"subject": identity.subject})
    return user


def _update_signed_on_user(user: User, identity: SignOnIdentity, *, linked: bool) -> None:
    wanted = {"external_id": identity.subject, "email": identity.email or user.email}
    if identity.first_name or identity.last_name:
        wanted |= {"first_name": identity.first_name[:150], "last_name": identity.last_name[:150]}
    changed = [field for field, value in wanted.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, wanted[field])
    if changed:
        user.save(update_fields=changed)
    if linked:
        record(action="accounts.user_linked_to_sign_on", target=user, data={"subject": identity.subject})


def _free_username(wanted: str) -> str:
    """``wanted`` (cut to the field's length), or with -2, -3... when a local account has it."""
    base = wanted.strip()[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate
