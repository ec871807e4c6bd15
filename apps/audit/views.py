"""The audit pages: the trail and its CSV export, the read access log, the change history, the
chain's health, retention and legal holds. Auditors only read here; what writes (verifying on
demand, retention rules, legal holds) is for governance admins (``Cap.KEEP_RECORDS``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from apps.accounts.access import requires
from apps.accounts.roles import Cap
from apps.audit import retention as retention_services
from apps.audit.chain import chain_verification_request
from apps.audit.evidence import evidence_pack
from apps.audit.feed import FeedQuery, feed_page, readable_object
from apps.audit.feed import source as history_source
from apps.audit.forms import EventFilter, HistoryFilter, LegalHoldForm, ReleaseForm, RetentionRuleForm
from apps.audit.models import LegalHold
from apps.audit.selectors import chain_health, events_page, read_log_page
from apps.common.forms import apply_errors, error_dict
from apps.exports.respond import export_response

OBJECT_HISTORY_SIZE = 200


def _filtered(request, *, with_action: bool = True):
    form = EventFilter(request.GET or None, with_action=with_action)
    query = form.query()
    before = form.cleaned_data.get("before") if form.is_bound and form.is_valid() else None
    params = request.GET.copy()
    params.pop("before", None)
    return form, query, before, params.urlencode()


@require_safe
@requires(Cap.BROWSE_AUDIT)
def events(request):
    """The audit trail, newest first, keyset-paginated so it costs the same at any size."""
    form, query, before, params = _filtered(request)
    rows, next_cursor = events_page(request.user, query, before_seq=before) if query else ([], None)
    return render(
        request,
        "audit/events.html",
        {"form": form, "rows": rows, "next_cursor": next_cursor, "query": params, "invalid": query is None},
    )


@require_safe
@requires(Cap.BROWSE_AUDIT)
def export(request):
    """The filtered trail as CSV, streamed; the export itself is an audit event (what was
    asked for), written before the first row leaves."""
    form, query, _, params = _filtered(request)
    if query is None:
        return render(
            request,
            "audit/events.html",
            {"form": form, "rows": [], "invalid": True, "query": params},
            status=400,
        )
    # Streamed with a trailer line, or a job when too long for the web timeout (apps.exports).
    return export_response(
        request,
        kind_key="audit-trail",
        audit_action="audit.exported",
        audit_data={
            "filters": {k: v for k, v in request.GET.items() if v and k != "before"},
            "page": "Audit trail",
        },
    )


@require_safe
@requires(Cap.BROWSE_AUDIT)
def read_log(request):
    """Who read which sensitive record, when, and from which page."""
    form, query, before, params = _filtered(request, with_action=False)
    rows, next_cursor = read_log_page(request.user, query, before_seq=before) if query else ([], None)
    return render(
        request,
        "audit/read_log.html",
        {"form": form, "rows": rows, "next_cursor": next_cursor, "query": params, "invalid": query is None},
    )


@require_safe
@requires(Cap.BROWSE_AUDIT)
def chain(request):
    """The chain's health: the last verifications and, while one runs, its progress."""
    return render(request, "audit/chain.html", chain_health())


@require_safe
@requires(Cap.BROWSE_AUDIT)
def chain_progress(request):
    """The progress panel alone, polled by htmx while a verification runs."""
    return render(request, "audit/_chain_progress.html", chain_health())


@requires(Cap.KEEP_RECORDS)
def chain_verify(request):
    """Asks before verifying (GET), verifies on POST: a walk of the whole chain is not free."""
    if request.method != "POST":
        return render(request, "audit/chain_verify.html", chain_health())
    chain_verification_request(actor=request.user)
    messages.info(request, "Verification queued: this page shows its progress.")
    return redirect("audit:chain")


@require_safe
@requires(Cap.BROWSE_AUDIT)
def history_feed(request):
    """Every change across the portal the reader oversees, newest first, with its diff."""
    form = HistoryFilter(request.GET or None)
    query = form.query()
    cursor = form.cleaned_data.get("after") if query is not None and form.is_bound else None
    with transaction.atomic():  # the page's reads of confidential records, recorded with it
        entries, next_cursor = (
            feed_page(request.user, query, cursor=cursor) if query is not None else ([], None)
        )
    params = request.GET.copy()
    params.pop("after", None)
    return render(
        request,
        "audit/history_feed.html",
        {
            "form": form,
            "entries": entries,
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "invalid": query is None,
        },
    )


@require_safe
@requires(Cap.BROWSE_AUDIT)
def object_history(request, kind: str, pk: int):
    """One object's whole history. 404 when the reader may not know of it (as its page)."""
    src = history_source(kind)
    if src is None or not readable_object(src, request.user, pk):
        raise Http404("No such record.")
    if src.on_read is not None:
        with transaction.atomic():
            src.on_read(request.user, src.model._default_manager.get(pk=pk))
    # The read of the object is recorded above, once (``on_read``), not again per entry.
    query = FeedQuery(kinds=(src.key,), object_id=pk)
    entries, _ = feed_page(request.user, query, size=OBJECT_HISTORY_SIZE, reads=False)
    first = entries[0] if entries else None
    return render(
        request,
        "audit/object_history.html",
        {
            "source": src,
            "entries": entries,
            "subject": first["subject"] if first else f"{src.label} #{pk}",
            "object_url": src.url(pk) if src.url else "",
            "limit": OBJECT_HISTORY_SIZE,
        },
    )


# --- retention ----------------------------------------------------------------------------------


@require_safe
@requires(Cap.SEE_OPERATIONS)
def retention(request):
    """Rules, legal holds and what the next purge would remove (a dry run: nothing changes)."""
    plan = retention_services.purge_plan()
    return render(
        request,
        "audit/retention.html",
        {
            "rules": retention_services.rules(),
            "holds": LegalHold.objects.order_by("-placed_at")[:100],
            "plan": plan,
            "due": plan.due[:200],
            "held": plan.held[:200],
        },
    )


@requires(Cap.KEEP_RECORDS)
def retention_rule_edit(request, key: str):
    rt = retention_services.record_type(key)
    if rt is None:
        raise Http404("No such type of record.")
    form = RetentionRuleForm(request.POST or None, initial={"years": retention_services.years_for(rt)})
    if request.method == "POST" and form.is_valid():
        try:
            retention_services.retention_rule_set(
                record_type_key=key,
                years=form.cleaned_data["years"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_errors(form, error_dict(exc))
        else:
            messages.success(request, f"{rt.label}: now kept {form.cleaned_data['years']} years.")
            return redirect("audit:retention")
    return render(
        request, "audit/retention_rule_form.html", {"form": form, "type": rt}, status=_status(request, form)
    )


@requires(Cap.KEEP_RECORDS)
def legal_hold_new(request):
    form = LegalHoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["target_type"]
        found = retention_services.find_record(kind, form.cleaned_data["target_id"])
        if found is None:
            form.add_error("target_id", "No such record: check the reference or number.")
        else:
            try:
                retention_services.legal_hold_place(
                    target_type=kind,
                    target_id=found[0],
                    target_repr=found[1],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                apply_errors(form, error_dict(exc))
            else:
                messages.success(request, f"{found[1]} is held until the hold is released.")
                return redirect("audit:retention")
    return render(request, "audit/legal_hold_form.html", {"form": form}, status=_status(request, form))


@requires(Cap.KEEP_RECORDS)
def legal_hold_release(request, pk: int):
    hold = get_object_or_404(LegalHold, pk=pk)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            retention_services.legal_hold_release(
                hold=hold, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, error_dict(exc))
        else:
            messages.success(request, f"The hold on {hold.target_repr} is released.")
            return redirect("audit:retention")
    return render(
        request, "audit/legal_hold_release.html", {"form": form, "hold": hold}, status=_status(request, form)
    )


def _status(request, form) -> int:
    return 400 if request.method == "POST" and form.errors else 200


@require_safe
@requires(Cap.BROWSE_AUDIT)
def evidence(request, pk: int):
    """An escalation's evidence pack, as a download; 404 when the reader may not browse it."""
    pack = evidence_pack(user=request.user, escalation_id=pk)
    if pack is None:
        raise Http404("No such escalation.")
    name, content = pack
    response = HttpResponse(content, content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
