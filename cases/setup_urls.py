from django.urls import path

from cases import setup_views as views

app_name = "cases_setup"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("levels/new/", views.level_edit, name="level_new"),
    path("levels/<int:pk>/", views.level_edit, name="level"),
    path("levels/<int:pk>/delete/", views.level_delete, name="level_delete"),
    path("levels/<int:pk>/holidays/", views.holiday_add, name="holiday_add"),
    path("holidays/<int:pk>/remove/", views.holiday_remove, name="holiday_remove"),
    path("categories/new/", views.category_edit, name="category_new"),
    path("categories/<int:pk>/", views.category_edit, name="category"),
]
