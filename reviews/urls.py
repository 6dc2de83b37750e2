from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.portal_review, name="portal_review"),
]
