from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Access reviews: each customer's org admins confirm, every quarter, that their people,
    roles and details are still right; the answers flow into the CRM and into access."""

    name = "reviews"
    verbose_name = "Access reviews"
