from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("data-health/", views.data_health, name="data_health"),
    path("data-health/reconfirmations/", views.reconfirmation_run_create, name="reconfirmation_run_create"),
    path("data-health/reconfirmations/<int:pk>/", views.reconfirmation_run_status, name="reconfirmation_run_status"),
]

# Issue 16: reports and dashboards.
from analytics import report_views  # noqa: E402

urlpatterns += [
    path("reports/", report_views.report_index, name="report_index"),
    path("reports/<slug:slug>/", report_views.report_detail, name="report_detail"),
    path("reports/<slug:slug>/records/", report_views.report_records, name="report_records"),
]
