from django.urls import path

from api import staff_views

app_name = "staff_api"

urlpatterns = [
    path("api-keys/", staff_views.api_key_list, name="api_key_list"),
    path("api-keys/new/", staff_views.api_key_create, name="api_key_create"),
    path("api-keys/<int:pk>/revoke/", staff_views.api_key_revoke, name="api_key_revoke"),
]
