"""Emails to registrants and org admins: one text and one HTML template per message.

Templates live in ``templates/registrations/email/<name>_subject.txt``, ``<name>.txt`` and
``<name>.html``. Links are absolute: built from the request being served (allauth keeps it
in its context), else from ``SITE_URL``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def absolute_url(path: str) -> str:
    from allauth.core import context

    request = context.request
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path


def send(name: str, *, to: list[str], context: dict[str, Any]) -> None:
    prefix = f"registrations/email/{name}"
    subject = " ".join(render_to_string(f"{prefix}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{prefix}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string(f"{prefix}.html", context), "text/html")
    message.send()
