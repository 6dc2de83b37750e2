from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SavedViewQuerySet(models.QuerySet["SavedView"]):
    def visible_to(self, user) -> SavedViewQuerySet:
        """A person's own views and the team's shared ones; nobody else's personal views."""
        if not getattr(user, "is_authenticated", False) or not user.is_staff:
            return self.none()
        return self.filter(Q(owner=user) | Q(shared=True))


class SavedView(models.Model):
    # The CRM list a view belongs to: crm.views' list keys ("contacts", "opportunities", ...).
    list_key = models.CharField(max_length=32)
    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    shared = models.BooleanField(default=False, help_text="Everyone on the team sees it.")
    query = models.CharField(max_length=2000, blank=True, help_text="The list's filters and sort, as a query string.")
    hidden_columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "list_key", "name"], name="savedviews_unique_name_per_owner"),
        ]
        indexes = [models.Index(fields=["list_key", "shared"], name="savedviews_list_shared")]

    def __str__(self) -> str:
        return self.name


class DefaultView(models.Model):
    """The view a person's list opens with (one per person per list)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    list_key = models.CharField(max_length=32)
    view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="defaults")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "list_key"], name="savedviews_one_default_per_list")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.list_key}"
