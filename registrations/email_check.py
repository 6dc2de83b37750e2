"""The business-email rule registration shares with lead invitations (one rule, one place)."""

from __future__ import annotations

from invitations.email_domains import EmailQualification, qualify_business_email

__all__ = ["EmailQualification", "qualify_business_email"]
