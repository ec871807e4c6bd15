from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("export.csv", views.export, name="export"),
    path("reads/", views.read_log, name="reads"),
    path("history/", views.history_feed, name="history"),
    path("history/<slug:kind>/<int:pk>/", views.object_history, name="object_history"),
    path("retention/", views.retention, name="retention"),
    path("retention/<slug:key>/edit/", views.retention_rule_edit, name="retention_rule"),
    path("holds/new/", views.legal_hold_new, name="hold_new"),
    path("holds/<int:pk>/release/", views.legal_hold_release, name="hold_release"),
    path("evidence/<int:pk>/", views.evidence, name="evidence"),
    path("chain/", views.chain, name="chain"),
    path("chain/progress/", views.chain_progress, name="chain_progress"),
    path("chain/verify/", views.chain_verify, name="chain_verify"),
]
