"""What the portal sent me: every message addressed to the signed-in person, newest first,
with how it was delivered. Only one's own: the list is filtered by the person's recipient key,
so nobody can page through another person's messages."""

from __future__ import annotations

from django.shortcuts import render
from django_tables2 import LazyPaginator, RequestConfig

from apps.accounts.access import authenticated
from apps.notifications.selectors import for_person_of
from apps.notifications.tables import NotificationTable

PER_PAGE = 50


@authenticated
def mine(request):
    table = NotificationTable(for_person_of(request.user))
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": LazyPaginator}).configure(table)
    return render(request, "notifications/pages/mine.html", {"table": table})
