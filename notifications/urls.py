from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("bell", views.notification_bell, name="bell"),
    path("menu", views.notification_menu, name="menu"),
    path("<int:pk>/open", views.notification_open, name="open"),
    path("read-all", views.notification_read_all, name="read_all"),
    path("preferences", views.notification_preferences, name="preferences"),
]
