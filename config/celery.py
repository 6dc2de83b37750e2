"""The Celery app. Broker and result settings come from Django settings (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("clientele")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
