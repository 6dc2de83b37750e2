"""Factories and helpers for invitation tests. State is built through the services."""

from __future__ import annotations

import re

import factory
from django.core import mail

from iam.models import BusinessRole
from tests.factories import LeadFactory

LINK = re.compile(r"/invitations/accept/([A-Za-z0-9_-]+)/")


def roles(*keys: str) -> list[BusinessRole]:
    return list(BusinessRole.objects.filter(key__in=keys))


def token_from(message) -> str:
    """The token in an invitation email; text and HTML must carry the same link."""
    text_tokens = LINK.findall(message.body)
    html_tokens = LINK.findall(message.alternatives[0][0]) if message.alternatives else []
    assert text_tokens, message.body
    assert set(html_tokens) == set(text_tokens)
    return text_tokens[0]


def last_token(to: str | None = None) -> str:
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, f"no invitation email to {to}"
    return token_from(messages[-1])


class QualifiedLeadFactory(LeadFactory):
    """A lead with a business address at a real-looking domain (``.example`` does not qualify)."""

    email = factory.Sequence(lambda n: f"lead{n}@prospect{n}-industries.com")
