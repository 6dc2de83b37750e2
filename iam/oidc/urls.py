"""Staff pages for applications (the OpenID Connect clients)."""

from django.urls import path

from iam.oidc import views

app_name = "staff_applications"

urlpatterns = [
    path("", views.application_list, name="list"),
    path("new/", views.application_create, name="create"),
    path("<int:pk>/", views.application_detail, name="detail"),
    path("<int:pk>/rotate-secret/", views.application_rotate_secret, name="rotate_secret"),
]
