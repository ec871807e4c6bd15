from django.urls import path

from apps.timers import views

app_name = "timers"
urlpatterns = [path("", views.overview, name="overview")]
