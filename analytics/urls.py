from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("data-health/", views.data_health, name="data_health"),
    path("data-health/reconfirmations/", views.reconfirmation_run_create, name="reconfirmation_run_create"),
    path("data-health/reconfirmations/<int:pk>/", views.reconfirmation_run_status, name="reconfirmation_run_status"),
]
