"""The portal shell: the home page, /healthz and the error pages. It sits above every app
(DESIGN.md layout), so it may import all of them; no app imports it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.accounts.access import authenticated, public
from apps.accounts.roles import Cap, Role
from apps.approvals.models import ApprovalRequest
from apps.approvals.selectors import unread_briefs
from apps.audit.selectors import recent_events
from apps.contacts.selectors import person_of
from apps.escalations.models import ACTIVE, Status
from apps.escalations.selectors import visible_escalations
from apps.notifications.selectors import delivery_health, oldest_due_wait
from apps.policies.selectors import governance_dashboard
from apps.timers.selectors import sweep_health

log = logging.getLogger(__name__)


@authenticated
def home(request):
    """Each role's landing page: what the user may do here, and what needs them."""
    user = request.user
    roles = sorted(user.roles, key=list(Role).index)
    capabilities = []
    for cap in Cap.all():
        if any(cap.allows(r) for r in roles):
            capabilities.append({"label": cap.label})
    context = {
        "roles": [{"value": r.value, "label": r.label} for r in roles],
        "capabilities": capabilities,
        "recent_audit": recent_events(user, limit=8) if user.has_perm(Cap.BROWSE_AUDIT.perm) else None,
        "sweep": sweep_health() if user.has_perm(Cap.SEE_OPERATIONS.perm) else None,
        "governance": governance_dashboard(user),
        "work": _my_work(user),
    }
    return render(request, "home.html", context)


def _my_work(user) -> dict:
    """What waits on this person: escalations they work on, escalations that reached them and
    wait for their acknowledgement, resolutions of theirs to confirm, approvals to decide and
    briefs to read."""
    person = person_of(user)
    active = visible_escalations(user).filter(status__in=ACTIVE)
    reached = active.filter(engaged=person, status=Status.OPEN).exclude(owner=person) if person else None
    return {
        "owned": active.filter(owner=person).count() if person else 0,
        "reached": reached.count() if person else 0,
        "raised": active.filter(raiser=user).count(),
        "to_confirm": visible_escalations(user).filter(raiser=user, status=Status.RESOLVED).count(),
        "briefs": unread_briefs(user),
        "reads_briefs": Role.EXECUTIVE in user.roles,
        "approvals": ApprovalRequest.objects.filter(approver=person, status="pending").count() if person else 0,
        "can_decide": user.has_perm(Cap.DECIDE_APPROVAL.perm),
        "can_raise": user.has_perm(Cap.RAISE_ESCALATION.perm),
    }


@public
@never_cache
@require_GET
def healthz(request):
    """Liveness for load balancers and monitoring: database, broker, the timer sweep, the
    outbox and its delivery workers.

    A dead sweep means no clock in the portal runs, and a message due for minutes means nobody
    is told; either must page someone, so each fails the check like a dead database does.
    """
    checks = {"database": _check_database(), "broker": _check_broker()}
    health = sweep_health() if checks["database"] == "ok" else None
    if health is None:
        checks["sweep"] = "unknown"
    elif health.ok:
        checks["sweep"] = "ok"
    elif health.age_seconds is None:
        checks["sweep"] = "never ran"
    else:
        checks["sweep"] = f"stale: last sweep {health.age_seconds:.0f}s ago"
    checks["outbox"] = _check_outbox() if checks["database"] == "ok" else "unknown"
    checks["delivery"] = _check_delivery() if checks["database"] == "ok" else "unknown"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)


def _check_outbox() -> str:
    waited = oldest_due_wait()
    if waited is not None and waited > settings.NOTIFICATIONS_STUCK_AFTER:
        return f"stuck: a message due {waited:.0f}s ago is not sent"
    return "ok"


def _check_delivery() -> str:
    """A stopped delivery worker (or a hung pool) leaves the heartbeat stale even while nothing
    is due, so it pages before the first message waits."""
    health = delivery_health()
    if health.ok:
        return "ok"
    if health.age_seconds is None:
        return "never ran"
    return f"stale: no delivery worker took a task for {health.age_seconds:.0f}s"


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        log.warning("healthz: database check failed: %s", exc)
        return f"error: {type(exc).__name__}"


def _check_broker() -> str:
    from escalportal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        log.warning("healthz: broker check failed: %s", exc)
        return f"error: {type(exc).__name__}"


def permission_denied(request, exception=None):
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def not_found(request, exception=None):
    return render(request, "404.html", status=404)
