"""The business roles every installation starts with (staff may add and rename more)."""

from __future__ import annotations

DEFAULT_BUSINESS_ROLES = [
    # key, name, delegable by org admins, order, description
    ("org_admin", "Organisation admin", False, 10, "Manages the organisation's users, roles and invitations."),
    ("buyer", "Buyer", True, 20, "Orders and sees prices."),
    ("technical_contact", "Technical contact", True, 30, "Receives technical notices and manages integrations."),
    ("billing_contact", "Billing contact", True, 40, "Receives and manages invoices."),
    ("lead", "Lead", False, 90, "A prospect with lead access: trials and content, no contract needed."),
]


def ensure_default_business_roles(business_role_model) -> None:
    """Create the default roles that are missing. Takes the model so migrations can pass theirs."""
    existing = set(business_role_model.objects.values_list("key", flat=True))
    business_role_model.objects.bulk_create(
        [
            business_role_model(key=key, name=name, delegable=delegable, sort_order=order, description=description)
            for key, name, delegable, order, description in DEFAULT_BUSINESS_ROLES
            if key not in existing
        ]
    )
