from django.urls import path

from savedviews import views

app_name = "savedviews"

urlpatterns = [
    path("<str:list_key>/save/", views.view_save, name="save"),
    path("<str:list_key>/default/", views.view_default, name="default"),
    path("<int:pk>/delete/", views.view_delete, name="delete"),
]
