"""Watch windows, adverse actions and flags.

A window is held under a pseudonym (an HMAC of the user id with the secret key), so its table
does not say who is watched; an adverse action against a known person computes the pseudonym
and finds that person's windows. A flag is seen by protection officers only; an adverse action
against a watched person needs a documented reason and another officer's sign-off before it is
effective.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.audit.services import record
from apps.common.errors import Conflict
from apps.protection import links
from apps.protection.models import AdverseAction, IntegrationToken, ProtectionFlag, WatchWindow
from apps.protection.services.common import is_officer, officers, setting, tell

FLAG_PATH = "/protection/flags/"


def pseudonym(user_id: int) -> str:
    return salted_hmac("apps.protection.watch-window", str(user_id), algorithm="sha256").hexdigest()


@transaction.atomic
def watch_window_open(
    *, user, act: str, escalation_id=None, escalation_ref: str = "", months=None
) -> WatchWindow:
    """Open (or, when one is open for the same escalation, extend) the person's window."""
    months = months or setting("PROTECTION_WATCH_MONTHS", 12)
    now = timezone.now()
    ends = now + relativedelta(months=months)
    name = pseudonym(user.pk)
    window = WatchWindow.objects.filter(pseudonym=name, escalation_id=escalation_id, ends_at__gt=now).first()
    if window is not None:
        if ends > window.ends_at:
            window.ends_at = ends
            window.save(update_fields=["ends_at"])
        return window
    window = WatchWindow.objects.create(
        pseudonym=name,
        escalation_id=escalation_id,
        escalation_ref=escalation_ref,
        act=act[:200],
        opens_at=now,
        ends_at=ends,
    )
    record(action="protection.watch_opened", target=window, data={"act": act, "escalation": escalation_ref})
    return window


def watched_windows(user, when=None):
    when = when or timezone.now()
    return WatchWindow.objects.filter(pseudonym=pseudonym(user.pk), opens_at__lte=when, ends_at__gt=when)


@transaction.atomic
def adverse_action_record(
    *,
    person,
    kind: str,
    takes_effect_on: date,
    actor=None,
    reason: str = "",
    source: str = "portal",
    recorded_by=None,
) -> AdverseAction:
    if kind not in AdverseAction.Kind.values:
        raise ValidationError({"kind": "Choose the kind of action from the list."})
    windows = list(watched_windows(person))
    reason = (reason or "").strip()
    if windows and not reason:
        raise ValidationError({"reason": "This person is protected: document the reason for the action."})
    action = AdverseAction.objects.create(
        person=person,
        actor=actor,
        kind=kind,
        reason=reason,
        takes_effect_on=takes_effect_on,
        status=AdverseAction.Status.AWAITING_SIGN_OFF if windows else AdverseAction.Status.EFFECTIVE,
        source=source[:100],
        recorded_by=recorded_by,
        recorded_at=timezone.now(),
    )
    record(
        action="protection.adverse_action_recorded",
        actor=recorded_by,
        target=action,
        data={"kind": kind, "source": source, "flags": len(windows)},
    )
    for window in windows:  # one flag per escalation the person is watched for
        _flag(action, window)
    if windows:
        _tell_officers(action)
    return action


def _tell_officers(action: AdverseAction) -> None:
    """Once per action. A dismissal is urgent: delivery is queued on commit (minutes, well
    inside the hour), and its subject says so."""
    urgent = action.kind == AdverseAction.Kind.DISMISSAL
    for officer in officers():
        if officer.pk in (action.person_id, action.actor_id):
            continue
        tell(
            officer,
            event_key=f"protection:action:{action.pk}:{officer.pk}",
            subject_line=("Urgent: " if urgent else "") + "An adverse action against a protected person",
            body=f"A {action.get_kind_display().lower()} was recorded against someone who spoke up. Review the flag.",
            path=FLAG_PATH,
        )


def _flag(action: AdverseAction, window: WatchWindow) -> ProtectionFlag:
    link = "; ".join(links.actor_links(window.escalation_id, action.actor_id)) or (
        "no link to the escalation found" if action.actor_id else "no actor given"
    )
    flag = ProtectionFlag.objects.create(
        action=action,
        window=window,
        escalation_ref=window.escalation_ref,
        actor_link=link[:300],
        raised_at=timezone.now(),
    )
    record(
        action="protection.flag_raised", target=flag, data={"escalation": window.escalation_ref, "link": link}
    )
    return flag


@transaction.atomic
def adverse_action_sign_off(*, action: AdverseAction, actor, reason: str) -> AdverseAction:
    action = AdverseAction.objects.select_for_update().get(pk=action.pk)
    if action.status != AdverseAction.Status.AWAITING_SIGN_OFF:
        raise Conflict("This action needs no sign-off (or already has one).")
    if not is_officer(actor) or actor.pk in (action.recorded_by_id, action.actor_id, action.person_id):
        raise ValidationError(
            {"reason": "An independent officer signs off: not who recorded or took the action."}
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the action may take effect."})
    action.status, action.signed_off_by = AdverseAction.Status.EFFECTIVE, actor
    action.signed_off_at, action.sign_off_reason = timezone.now(), reason
    action.save(update_fields=["status", "signed_off_by", "signed_off_at", "sign_off_reason"])
    record(action="protection.adverse_action_signed_off", actor=actor, target=action, data={"reason": reason})
    return action


@transaction.atomic
def flag_close(*, flag: ProtectionFlag, actor, note: str) -> ProtectionFlag:
    flag = ProtectionFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.closed_at:
        raise Conflict("This flag is already closed.")
    if not (note or "").strip():
        raise ValidationError({"note": "Say what was done about it."})
    flag.closed_at, flag.closing_note = timezone.now(), note.strip()
    flag.save(update_fields=["closed_at", "closing_note"])
    record(action="protection.flag_closed", actor=actor, target=flag, data={"note": flag.closing_note})
    return flag


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def integration_token_create(*, name: str, actor=None) -> tuple[IntegrationToken, str]:
    raw = secrets.token_urlsafe(32)
    token = IntegrationToken.objects.create(name=name, token_hash=_digest(raw))
    record(action="protection.integration_token_created", actor=actor, target=token, data={"name": name})
    return token, raw


def integration_for(raw: str) -> IntegrationToken | None:
    if not raw:
        return None
    return IntegrationToken.objects.filter(token_hash=_digest(raw), active=True).first()
