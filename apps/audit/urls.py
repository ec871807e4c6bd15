from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("export.csv", views.export, name="export"),
    path("reads/", views.read_log, name="reads"),
    path("history/", views.history_feed, name="history"),
    path("history/<slug:kind>/<int:pk>/", views.object_history, name="object_history"),
    path("chain/", views.chain, name="chain"),
    path("chain/progress/", views.chain_progress, name="chain_progress"),
    path("chain/verify/", views.chain_verify, name="chain_verify"),
]
