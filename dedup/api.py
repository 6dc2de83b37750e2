"""The API's duplicate warning: ``409`` with the likely duplicates, unless the caller sends ``?force=true``."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework import exceptions, status
from rest_framework.request import Request

from dedup.selectors import likely_duplicates

RESOURCES = {"crm.account": "accounts", "crm.contact": "contacts", "crm.lead": "leads"}


class PossibleDuplicate(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "possible_duplicate"

    def __init__(self, detail: str, problem_errors: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.problem_errors = problem_errors


def duplicate_guard(request: Request, record: Model) -> None:
    """Refuse to save what looks like an existing record, unless ``?force=true`` says to save anyway."""
    force = request.query_params.get("force")
    if force is not None and force.lower() not in ("true", "false", "1", "0"):
        # A typo must not save a duplicate, nor refuse silently: say what the parameter takes.
        raise exceptions.ValidationError({"force": ["Send true or false."]})
    if force is not None and force.lower() in ("1", "true"):
        return
    duplicates = likely_duplicates(record, user=request.user)  # type: ignore[arg-type]
    if not duplicates:
        return
    resource = RESOURCES[record._meta.label_lower]
    raise PossibleDuplicate(
        f"This looks like {len(duplicates)} existing record(s). "
        "Send the request again with ?force=true to save it anyway.",
        [
            {
                "pointer": "#/",
                "detail": f"{d.record} (/api/v1/{resource}/{d.record.pk}/): {'; '.join(d.reasons)}",
                "code": "possible_duplicate",
                "id": d.record.pk,
                "score": round(d.score, 3),
            }
            for d in duplicates
        ],
    )
