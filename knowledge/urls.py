from django.urls import path

from knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.article_list, name="list"),
    path("new/", views.article_new, name="new"),
    path("<slug:slug>/", views.article, name="article"),
    path("<slug:slug>/edit/", views.article_edit, name="edit"),
]
