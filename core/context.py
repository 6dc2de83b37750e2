"""Where a change comes from, set once at the edge and read by whatever records the change.

The edge is the request middleware (IP, user agent, and the channel: ``ui``, ``portal``,
``admin``, ``api``), the API's authentication (the API key acting for its user), a Celery task
(``job`` and the task's name) or a management command. Services never take these as arguments:
the audit trail (``iam.audit``) and record history read them here, so every write path that
goes through a service is attributed the same way.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class Channel:
    """Through what a change was made. Stored on audit events and history rows."""

    UI = "ui"  # the staff CRM in the browser
    PORTAL = "portal"  # the customer's self-service portal
    ADMIN = "admin"  # the Django admin (operations)
    API = "api"  # the REST API
    JOB = "job"  # a Celery task or beat schedule
    IMPORT = "import"  # an import job
    COMMAND = "command"  # a management command
    SYSTEM = "system"  # anything else (a shell, a test)

    choices = [
        (UI, "CRM"),
        (PORTAL, "Portal"),
        (ADMIN, "Admin"),
        (API, "API"),
        (JOB, "Background job"),
        (IMPORT, "Import"),
        (COMMAND, "Command"),
        (SYSTEM, "System"),
    ]


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None
    user_agent: str


@dataclass(frozen=True)
class ActingCredential:
    """A credential acting for its user: ``label="api-key:ERP sync"``, ``reference={"api_key": "ab12cd34"}``."""

    label: str
    reference: dict[str, Any] = field(default_factory=dict)


_origin: contextvars.ContextVar[RequestOrigin | None] = contextvars.ContextVar("acting_origin", default=None)
_credential: contextvars.ContextVar[ActingCredential | None] = contextvars.ContextVar("acting_credential", default=None)
_channel: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "acting_channel", default=(Channel.SYSTEM, "")
)


def current_origin() -> RequestOrigin | None:
    return _origin.get()


def current_credential() -> ActingCredential | None:
    return _credential.get()


def current_channel() -> str:
    return _channel.get()[0]


def current_job() -> str:
    """The job's name (a Celery task, a command) when the channel is one; else empty."""
    return _channel.get()[1]


def set_origin(origin: RequestOrigin | None) -> contextvars.Token[RequestOrigin | None]:
    return _origin.set(origin)


def reset_origin(token: contextvars.Token[RequestOrigin | None]) -> None:
    _origin.reset(token)


def set_credential(credential: ActingCredential | None) -> contextvars.Token[ActingCredential | None]:
    return _credential.set(credential)


def reset_credential(token: contextvars.Token[ActingCredential | None]) -> None:
    _credential.reset(token)


def set_channel(channel: str, job: str = "") -> contextvars.Token[tuple[str, str]]:
    return _channel.set((channel, job))


def reset_channel(token: contextvars.Token[tuple[str, str]]) -> None:
    _channel.reset(token)


@contextmanager
def acting_through(channel: str, job: str = "") -> Iterator[None]:
    """``with acting_through(Channel.IMPORT, job="import 42"):`` attributes the writes inside."""
    token = set_channel(channel, job)
    try:
        yield
    finally:
        reset_channel(token)


# How many workflow rules deep the current change is: 0 for a person's (or a job's) change, n+1
# for a change a rule made while handling an event of depth n. Rule-made changes carry it into
# the events they cause, so a rule's own changes re-trigger it only up to its max depth.
_workflow_depth: contextvars.ContextVar[int] = contextvars.ContextVar("workflow_depth", default=0)


def current_workflow_depth() -> int:
    return _workflow_depth.get()


@contextmanager
def acting_as_workflow(*, depth: int, label: str, reference: dict[str, Any]) -> Iterator[None]:
    """A rule acting: its changes are attributed to it (history ``credential`` and ``job``, the
    audit event's ``actor_label``) and carry ``depth`` into the events they cause."""
    tokens = (
        _workflow_depth.set(depth),
        set_credential(ActingCredential(label=label, reference=reference)),
        set_channel(Channel.JOB, label),
    )
    try:
        yield
    finally:
        reset_channel(tokens[2])
        reset_credential(tokens[1])
        _workflow_depth.reset(tokens[0])
