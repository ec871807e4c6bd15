from django.shortcuts import render

from apps.accounts.access import requires
from apps.accounts.roles import Cap
from apps.timers import selectors
from apps.timers.registry import kind_label, registered_kinds


@requires(Cap.SEE_OPERATIONS)
def overview(request):
    """Operators' view of the clocks: is the sweep alive, what is pending, what is failing."""
    return render(
        request,
        "timers/overview.html",
        {
            "health": selectors.sweep_health(),
            "counts": selectors.deadline_counts(),
            "failing": selectors.failing_deadlines(),
            "upcoming": selectors.next_deadlines(),
            "kinds": [{"kind": kind, "label": kind_label(kind)} for kind in registered_kinds()],
        },
    )
