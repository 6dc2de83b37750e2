"""Who may manage webhook endpoints: operations (they decide where data leaves the system)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iam.permissions import is_operations

if TYPE_CHECKING:
    from iam.permissions import MaybeUser


def can_manage_webhooks(user: MaybeUser) -> bool:
    return is_operations(user)
