from django.urls import path

from apps.exports import views

app_name = "exports"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("<int:pk>/", views.job, name="job"),
    path("<int:pk>/status/", views.job_status, name="job_status"),
    path("<int:pk>/download/", views.download, name="download"),
]
