from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.upload, name="upload"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/map/", views.map_columns, name="map"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/failed-rows.csv", views.failed_rows, name="failed_rows"),
    path("<int:pk>/undo/", views.undo, name="undo"),
]
