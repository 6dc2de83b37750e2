"""``{% access_review_status account %}``: the account's latest access review, for staff pages."""

from __future__ import annotations

from django import template

from reviews.models import AccessReview

register = template.Library()


@register.inclusion_tag("reviews/_status.html")
def access_review_status(account) -> dict:
    # One indexed query (account, -opened_at): the latest review, open or completed.
    return {"review": AccessReview.objects.filter(account=account).order_by("-opened_at", "-id").first()}
