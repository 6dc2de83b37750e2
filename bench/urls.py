"""The benchmark's URLconf: the product's URLs plus the hand-written comparison views."""

from django.urls import path

from bench.api import PLAIN_PATH, plain_contact_list
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path(PLAIN_PATH.lstrip("/"), plain_contact_list, name="bench_plain_contacts"),
    *product_urlpatterns,
]
