from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [path("<str:resource>/", views.export, name="export")]
