"""Protection pages. Intake and follow-up are public (a reporter may come from a private device,
signed out) and private: ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer``, and the
request's address and user agent are never passed on or logged by the app. Case pages 404 for
anyone but the case's reviewers (or its reporter): a case's existence is itself confidential."""

from __future__ import annotations

import json
from datetime import date
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, RejectRequest, _get_failure_view
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, public, requires
from apps.accounts.roles import Cap
from apps.common.errors import Conflict
from apps.common.forms import apply_errors, error_dict
from apps.protection import selectors, services
from apps.protection.forms import (
    AdverseActionForm,
    AssignForm,
    CheckInForm,
    CloseFlagForm,
    DisclosureDecisionForm,
    KeyForm,
    KeyReplyForm,
    ReplyForm,
    ReportForm,
    SignOffForm,
    StatusForm,
    TextForm,
)
from apps.protection.models import AdverseAction, IdentityDisclosure, Mode, ProtectionFlag
from apps.protection.services.common import is_officer, officers

WORK = Cap.WORK_PROTECTION_CASES


def private(view):
    """No caching, no referrer. With ``no-referrer`` a browser posts the page's forms with
    ``Origin: null`` and no Referer, which Django's CSRF origin and referer checks refuse; so
    these views check the CSRF token alone (the masked double-submit token, which is what
    defeats a forged post; the session cookie is SameSite=Lax besides)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        enforce = not getattr(request, "_dont_enforce_csrf_checks", False)  # as Django's own check
        if enforce and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            try:
                CsrfViewMiddleware(lambda r: None)._check_token(request)
            except RejectRequest as exc:
                return _get_failure_view()(request, reason=exc.reason)
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return csrf_exempt(wrapped)


def _refuse(form, exc: Exception, aliases: dict | None = None) -> int:
    if isinstance(exc, ValidationError):
        apply_errors(form, error_dict(exc), aliases)
        return 400
    form.add_error(None, str(exc))
    return 409


# --- reporters ---------------------------------------------------------------------------------


@public
@private
def report_new(request):
    signed_in = request.user.is_authenticated
    initial = {}
    escalation = request.GET.get("escalation", "")
    if signed_in and escalation.isdigit() and len(escalation) < 10:
        initial = {"escalation": int(escalation), "mode": Mode.CONFIDENTIAL}
    form = ReportForm(request.POST or None, request.FILES or None, signed_in=signed_in, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mode = data["mode"]
        try:
            report, key = services.report_file(
                mode=mode,
                what_happened=data["what_happened"],
                reporter=request.user if signed_in and mode != Mode.ANONYMOUS else None,
                escalation_id=data.get("escalation") if mode != Mode.ANONYMOUS else None,
                people_named=data.get("people_named") or (),
                attachment=data.get("attachment"),
            )
        except (ValidationError, Conflict) as exc:
            status = _refuse(form, exc, {"escalation": "__all__"})  # a hidden field: said above the form
        else:
            if key:
                return render(request, "protection/receipt.html", {"key": services.format_key(key)})
            messages.success(
                request, f"Your report {report.reference} was received. HR will acknowledge it within 7 days."
            )
            return redirect("protection:mine_case", report.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request, "protection/report_new.html", {"form": form, "signed_in": signed_in}, status=status
    )


@public
@private
def follow(request):
    """Follow an anonymous case with its key (POST only: a key never sits in an address)."""
    form = KeyReplyForm(request.POST) if "text" in request.POST else KeyForm(request.POST or None)
    context = {"form": form, "report": None}
    status = 200
    if request.method == "POST":
        if not services.attempt_allowed():
            form.is_valid()
            form.add_error(None, "Too many attempts in the last minute. Wait a minute and try again.")
            return render(request, "protection/follow.html", context, status=429)
        report = (
            services.report_by_key(key=request.POST.get("key", ""))
            if form.is_valid() or "key" in request.POST
            else None
        )
        if report is None:
            form = KeyForm(request.POST)
            form.is_valid()
            form.add_error("key", "This key opens no case. Check it and try again.")
            return render(request, "protection/follow.html", {"form": form, "report": None}, status=400)
        reply = ReplyForm(request.POST if "text" in request.POST else None, request.FILES or None)
        if "text" in request.POST:
            if reply.is_valid():
                try:
                    services.message_from_reporter(
                        report=report,
                        text=reply.cleaned_data["text"],
                        attachment=reply.cleaned_data["attachment"],
                    )
                except (ValidationError, Conflict) as exc:
                    status = _refuse(reply, exc)
                else:
                    reply = ReplyForm()
            else:
                status = 400
        with transaction.atomic():
            selectors.record_key_read(report)
            entries = list(selectors.entries_for_reporter(report))
        context = {
            "form": None,
            "report": report,
            "entries": entries,
            "reply": reply,
            "key": request.POST.get("key", ""),
        }
    return render(request, "protection/follow.html", context, status=status)


@authenticated
def mine(request):
    return render(request, "protection/mine.html", {"reports": selectors.reports_of(request.user)})


@authenticated
@private
def mine_case(request, pk: int):
    report = selectors.case_for_reporter(request.user, pk)
    reply = ReplyForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and reply.is_valid():
        try:
            services.message_from_reporter(
                report=report,
                text=reply.cleaned_data["text"],
                author=request.user,
                attachment=reply.cleaned_data["attachment"],
            )
        except (ValidationError, Conflict) as exc:
            status = _refuse(reply, exc)
        else:
            return redirect("protection:mine_case", report.pk)
    elif request.method == "POST":
        status = 400
    entries = selectors.entries_for_reporter(report)
    return render(
        request,
        "protection/mine_case.html",
        {"report": report, "entries": entries, "reply": reply},
        status=status,
    )


@authenticated
@private
def check_ins(request):
    """The signed-in person's own due check-ins (found by their pseudonym); a yes opens a
    confidential report about the escalation."""
    due = services.check_ins_due(request.user)
    form = CheckInForm(request.POST or None, choices=[(str(c.pk), f"{c.weeks} weeks") for c in due])
    status = 200
    if request.method == "POST" and form.is_valid():
        item = next(c for c in due if str(c.pk) == form.cleaned_data["check_in"])
        try:
            report = services.check_in_answer(
                check_in=item,
                user=request.user,
                something_happening=form.cleaned_data["answer"],
                text=form.cleaned_data["text"],
            )
        except (ValidationError, Conflict) as exc:
            status = _refuse(form, exc)
        else:
            if report is not None:
                messages.success(
                    request,
                    f"Thank you. We opened case {report.reference}; HR will acknowledge it within 7 days.",
                )
                return redirect("protection:mine_case", report.pk)
            messages.success(request, "Thank you. We will ask again at the next check-in.")
            return redirect("protection:check_ins")
    elif request.method == "POST":
        status = 400
    return render(request, "protection/check_ins.html", {"due": due, "form": form}, status=status)


# --- HR and compliance -------------------------------------------------------------------------


@requires(WORK)
def desk(request):
    user = request.user
    return render(
        request,
        "protection/desk.html",
        {
            "mine": selectors.my_cases_by_clock(user),
            "unassigned": selectors.unassigned_cases(),
            "overdue": selectors.overdue_cases(user),
            "flags": selectors.open_flags(),
            "disclosures": selectors.pending_disclosures_for(user),
            "sign_offs": selectors.actions_awaiting_sign_off(),
        },
    )


@requires(WORK)
@require_POST
def take(request, pk: int):
    """An officer takes an unassigned case (refused when excluded from it)."""
    report = get_object_or_404(selectors.unassigned_cases(), pk=pk)
    try:
        services.reviewer_assign(report=report, reviewer=request.user, actor=request.user)
    except (ValidationError, Conflict) as exc:
        messages.error(
            request,
            " ".join(error_dict(exc).get("reviewer", [])) or str(exc)
            if isinstance(exc, ValidationError)
            else str(exc),
        )
        return redirect("protection:desk")
    return redirect("protection:case", pk)


ACTIONS = {
    "acknowledge": (
        TextForm,
        lambda r, u, d: services.report_acknowledge(report=r, actor=u, text=d["text"]),
        "Acknowledgement sent.",
    ),
    "feedback": (
        TextForm,
        lambda r, u, d: services.report_send_feedback(report=r, actor=u, text=d["text"]),
        "Feedback sent.",
    ),
    "message": (
        TextForm,
        lambda r, u, d: services.message_to_reporter(report=r, actor=u, text=d["text"]),
        "Message sent.",
    ),
    "note": (TextForm, lambda r, u, d: services.note_add(report=r, actor=u, text=d["text"]), "Note kept."),
    "status": (
        StatusForm,
        lambda r, u, d: services.report_set_status(
            report=r, actor=u, status=d["status"], note=d.get("text", "")
        ),
        "Status changed.",
    ),
    "identity": (
        TextForm,
        lambda r, u, d: services.disclosure_request(report=r, actor=u, reason=d["text"]),
        "Asked: a second officer decides.",
    ),
    "assign": (
        AssignForm,
        lambda r, u, d: services.reviewer_assign(report=r, reviewer=d["reviewer"], actor=u),
        "Reviewer added.",
    ),
}


@authenticated
@private
def attachment(request, pk: int):
    """A case's file, for its reviewers and its signed-in reporter (404 for anyone else), as a
    download that no browser renders in place; each read is audited."""
    item = selectors.attachment_for(request.user, pk)
    response = HttpResponse(bytes(item.data), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=item.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@authenticated
def case(request, pk: int):
    """404 for everyone but the case's reviewers, whatever their role: whether a case exists is
    itself confidential (an alleged retaliator must not learn of it from a 403)."""
    report = selectors.case_for_reviewer(request.user, pk)
    if report.first_opened_at is None:
        report = services.report_mark_opened(report=report, actor=request.user)
    forms, status = {}, 200
    action = request.POST.get("action", "") if request.method == "POST" else ""
    for name, (form_class, _, _) in ACTIONS.items():
        kwargs = {"officers": officers()} if form_class is AssignForm else {}
        forms[name] = form_class(request.POST if name == action else None, prefix=name, **kwargs)
    if action in ACTIONS:
        form_class, do, done = ACTIONS[action]
        form = forms[action]
        if form.is_valid():
            try:
                do(report, request.user, form.cleaned_data)
            except (ValidationError, Conflict) as exc:
                status = _refuse(form, exc)
            else:
                messages.success(request, done)
                return redirect("protection:case", report.pk)
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    context = {
        "report": report,
        "entries": selectors.entries_for_reviewer(report),
        "identity": selectors.reporter_identity(request.user, report),
        "reviewers": get_user_model().objects.filter(pk__in=services.reviewer_ids(report)),
        "disclosures": report.disclosures.select_related("requested_by", "decided_by"),
        "forms": forms,
        "active": action,
    }
    return render(request, "protection/case.html", context, status=status)


@authenticated
def disclosure(request, pk: int):
    """A second officer decides an identity request (not its requester: refused). 404 for
    anyone who is not an officer, or who is excluded from the case."""
    item = get_object_or_404(IdentityDisclosure.objects.select_related("report", "requested_by"), pk=pk)
    if not is_officer(request.user) or request.user.pk in services.excluded_ids(item.report):
        raise Http404("No such request.")
    form = DisclosureDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.disclosure_decide(
                disclosure=item,
                actor=request.user,
                approve=data["approve"],
                reason=data["reason"],
                tell_reporter=data["tell_reporter"],
                not_told_reason=data["not_told_reason"],
            )
        except (ValidationError, Conflict) as exc:
            status = _refuse(form, exc)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("protection:desk")
    elif request.method == "POST":
        status = 400
    return render(request, "protection/disclosure.html", {"item": item, "form": form}, status=status)


@requires(WORK)
def flags(request):
    return render(
        request,
        "protection/flags.html",
        {
            "flags": selectors.open_flags(),
            "sign_offs": selectors.actions_awaiting_sign_off(),
            "close_form": CloseFlagForm(),
            "sign_form": SignOffForm(),
        },
    )


@requires(WORK)
@require_POST
def flag_close(request, pk: int):
    flag = get_object_or_404(ProtectionFlag, pk=pk)
    form = CloseFlagForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"note": "Say what was done about it."})
        services.flag_close(flag=flag, actor=request.user, note=form.cleaned_data["note"])
    except (ValidationError, Conflict) as exc:
        messages.error(
            request,
            " ".join(error_dict(exc).get("note", [str(exc)]))
            if isinstance(exc, ValidationError)
            else str(exc),
        )
    else:
        messages.success(request, "Flag closed.")
    return redirect("protection:flags")


@requires(WORK)
@require_POST
def sign_off(request, pk: int):
    action = get_object_or_404(AdverseAction, pk=pk)
    form = SignOffForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"reason": "Say why the action may take effect."})
        services.adverse_action_sign_off(
            action=action, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except (ValidationError, Conflict) as exc:
        messages.error(
            request,
            " ".join(error_dict(exc).get("reason", [str(exc)]))
            if isinstance(exc, ValidationError)
            else str(exc),
        )
    else:
        messages.success(request, "Signed off: the action is effective.")
    return redirect("protection:flags")


@requires(WORK)
def adverse_new(request):
    form = AdverseActionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            action = services.adverse_action_record(
                person=data["person"],
                actor=data["actor"],
                kind=data["kind"],
                takes_effect_on=data["takes_effect_on"],
                reason=data["reason"],
                recorded_by=request.user,
            )
        except (ValidationError, Conflict) as exc:
            status = _refuse(form, exc)
        else:
            if action.status == AdverseAction.Status.AWAITING_SIGN_OFF:
                messages.warning(
                    request, "Recorded. It needs an independent officer's sign-off before it takes effect."
                )
            else:
                messages.success(request, "Recorded.")
            return redirect("protection:desk")
    elif request.method == "POST":
        status = 400
    return render(request, "protection/adverse_new.html", {"form": form}, status=status)


@requires(Cap.SEE_PROTECTION_STATISTICS)
def statistics(request):
    return render(request, "protection/statistics.html", {"stats": selectors.statistics()})


# --- HR systems --------------------------------------------------------------------------------


@public
@csrf_exempt
def api_adverse_action(request):
    """``POST`` JSON ``{"person": username, "kind", "takes_effect_on": "YYYY-MM-DD", "actor"?:
    username, "reason"?}`` with ``Authorization: Bearer <token>`` (one token per integration)."""
    header = request.headers.get("Authorization", "")
    integration = services.integration_for(
        header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    )
    if integration is None:  # before anything else: nothing is said to a caller without a token
        return JsonResponse({"error": "Unknown or missing integration token."}, status=401)
    if request.method != "POST":
        return JsonResponse({"error": "POST an adverse action as JSON."}, status=405)
    try:
        body = json.loads(request.body or b"{}")
        users = get_user_model().objects
        person = users.filter(username=str(body.get("person", ""))[:150], is_active=True).first()
        if person is None:
            return JsonResponse({"error": "person: no such person."}, status=400)
        actor = users.filter(username=str(body["actor"])[:150]).first() if body.get("actor") else None
        if body.get("actor") and actor is None:
            return JsonResponse({"error": "actor: no such person."}, status=400)
        when = date.fromisoformat(str(body.get("takes_effect_on", "")))
        action = services.adverse_action_record(
            person=person,
            actor=actor,
            kind=str(body.get("kind", "")),
            takes_effect_on=when,
            reason=str(body.get("reason", ""))[:5000],
            source=integration.name,
        )
    except (ValueError, TypeError, AttributeError):
        return JsonResponse(
            {"error": "Send JSON with person, kind and takes_effect_on (YYYY-MM-DD)."}, status=400
        )
    except ValidationError as exc:
        return JsonResponse(
            {"error": "; ".join(f"{k}: {' '.join(v)}" for k, v in error_dict(exc).items())}, status=400
        )
    return JsonResponse({"id": action.pk, "status": action.status}, status=201)
