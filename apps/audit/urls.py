from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("export.csv", views.export, name="export"),
    path("reads/", views.read_log, name="reads"),
]
