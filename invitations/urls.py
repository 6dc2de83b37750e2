from django.urls import path

from invitations import views

app_name = "invitations"

urlpatterns = [
    path("invitations/accept/<str:token>/", views.accept, name="accept"),
    path("invitations/accept/<str:token>/sign-out/", views.accept_sign_out, name="accept_sign_out"),
]
