from django.urls import path

from dedup import views

app_name = "dedup"

urlpatterns = [
    path("", views.finder, name="finder"),
    path("<str:resource>/", views.finder, name="finder_type"),
    path("<str:resource>/scan/", views.scan, name="scan"),
    path("pairs/<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path("<str:resource>/<int:first>/<int:second>/merge/", views.merge, name="merge"),
    path("<str:resource>/<int:first>/<int:second>/not-duplicate/", views.not_duplicate, name="not_duplicate"),
]
