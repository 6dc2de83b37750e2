from __future__ import annotations

from django import template

from core import plain_words

register = template.Library()

register.filter("audit_sentence", plain_words.audit_sentence)
register.filter("audit_details", plain_words.audit_details)
register.filter("scope_label", plain_words.scope_label)
register.filter("user_agent_label", plain_words.user_agent_label)
