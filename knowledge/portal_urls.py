from django.urls import path

from cases import portal_views as views

app_name = "help"

urlpatterns = [
    path("", views.help_home, name="home"),
    path("<slug:slug>/", views.help_article, name="article"),
]
