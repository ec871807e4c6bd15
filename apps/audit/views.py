"""The audit pages: the trail, its CSV export and the read access log. Read-only for everyone:
every view here answers GET only (an auditor's POST is refused like anyone's)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from apps.accounts.access import requires
from apps.accounts.roles import Cap
from apps.audit.chain import chain_verification_request
from apps.audit.forms import EventFilter
from apps.audit.selectors import EXPORT_HEADER, chain_health, events_page, export_rows, read_log_page
from apps.audit.services import record
from apps.common.csvexport import streamed_csv


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
    with transaction.atomic():
        record(
            action="audit.exported",
            actor=request.user,
            data={
                "filters": {k: v for k, v in request.GET.items() if v and k != "before"},
                "page": "Audit trail",
            },
        )
    return streamed_csv(name="audit-trail", header=EXPORT_HEADER, rows=export_rows(request.user, query))


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
