"""Bulk actions on the CRM lists: a preview of what will change and what is skipped, then exactly that.

One plan for both: each record of the selection goes through the same service a person would use
(``crm.services``), each in its own savepoint. The preview runs the plan and rolls everything back,
so its "will change" and "skipped, because …" come from the services' own checks, not a copy of
them; the run repeats it for real and refuses to go on if the outcome it would have differs from
the one the person confirmed (the records changed in between): they see the new preview instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.errors import BusinessRuleViolation
from core.forms import StyledFormMixin
from crm import filters, selectors, services
from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from iam.models import User

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

# A bulk action runs in the request, record by record through the services; more than this
# many records is refused with a message to narrow the selection.
BULK_LIMIT = 500


class Skip(Exception):
    """This record is left as it is, for the reason given."""


@dataclass(frozen=True)
class Outcome:
    pk: int
    label: str
    changed: bool
    reason: str = ""


@dataclass
class Plan:
    outcomes: list[Outcome] = field(default_factory=list)
    too_many: int = 0  # the selection's size when it is over BULK_LIMIT (nothing planned)

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.changed]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.changed]

    @property
    def reasons(self) -> list[tuple[str, int]]:
        return Counter(o.reason for o in self.skipped).most_common()

    @property
    def digest(self) -> str:
        """What the person confirmed: which records change and which are skipped."""
        text = ";".join(f"{o.pk}:{int(o.changed)}" for o in self.outcomes)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- The actions ---------------------------------------------------------------------------------


def _save(record: Model, actor: User) -> None:
    if isinstance(record, Account):
        services.account_save(actor=actor, account=record)
    elif isinstance(record, Contact):
        services.contact_save(actor=actor, contact=record)
    elif isinstance(record, Lead):
        services.lead_save(actor=actor, lead=record)
    elif isinstance(record, Opportunity):
        services.opportunity_save(actor=actor, opportunity=record)
    elif isinstance(record, Contract):
        services.contract_save(actor=actor, contract=record)
    else:  # pragma: no cover - every list's model is above
        raise TypeError(type(record))


def change_owner(record: Any, actor: User, params: dict[str, Any]) -> None:
    owner: User = params["owner"]
    if record.owner_id == owner.pk:
        raise Skip(f"already owned by {owner}")
    if isinstance(record, Activity):
        services.activity_update(actor=actor, activity=record, changes={"owner": owner})
        return
    record.owner = owner
    _save(record, actor)


def change_lead_status(record: Lead, actor: User, params: dict[str, Any]) -> None:
    status = params["status"]
    if record.status == status:
        raise Skip(f"already {record.get_status_display().lower()}")
    if record.status == Lead.Status.CONVERTED:
        raise Skip("converted: a converted lead keeps its status")
    record.status = status
    services.lead_save(actor=actor, lead=record)


def change_stage(record: Opportunity, actor: User, params: dict[str, Any]) -> None:
    if record.stage == params["stage"]:
        raise Skip(f"already in {record.get_stage_display()}")
    services.opportunity_set_stage(actor=actor, opportunity=record, stage=params["stage"])


def change_contract_status(record: Contract, actor: User, params: dict[str, Any]) -> None:
    if record.status == params["status"]:
        raise Skip(f"already {record.get_status_display().lower()}")
    record.status = params["status"]
    services.contract_save(actor=actor, contract=record)


def mark_done(record: Activity, actor: User, params: dict[str, Any]) -> None:
    if record.kind != Activity.Kind.TASK:
        raise Skip(f"a {record.get_kind_display().lower()} is not a task")
    if record.done:
        raise Skip("already done")
    services.activity_set_done(actor=actor, activity=record, done=True)


def _target(record: Any) -> dict[str, Any]:
    return {type(record).__name__.lower(): record}


def add_note(record: Any, actor: User, params: dict[str, Any]) -> None:
    services.activity_log(actor=actor, kind=Activity.Kind.NOTE, subject=params["subject"], **_target(record))


def add_task(record: Any, actor: User, params: dict[str, Any]) -> None:
    due = params.get("due_date")
    due_at = timezone.make_aware(dt.datetime.combine(due, dt.time(9))) if due else None
    services.activity_log(
        actor=actor, kind=Activity.Kind.TASK, subject=params["subject"], due_at=due_at, **_target(record)
    )


def delete(record: Any, actor: User, params: dict[str, Any]) -> None:
    deleters: dict[type, Callable[..., None]] = {
        Account: lambda: services.account_delete(actor=actor, account=record),
        Contact: lambda: services.contact_delete(actor=actor, contact=record),
        Lead: lambda: services.lead_delete(actor=actor, lead=record),
        Opportunity: lambda: services.opportunity_delete(actor=actor, opportunity=record),
        Contract: lambda: services.contract_delete(actor=actor, contract=record),
        Activity: lambda: services.activity_delete(actor=actor, activity=record),
    }
    deleters[type(record)]()


@dataclass(frozen=True)
class Action:
    key: str
    label: str  # "Change owner"
    verb: str  # "will get the new owner"
    run: Callable[[Any, User, dict[str, Any]], None]
    fields: tuple[str, ...] = ()  # the BulkForm fields it needs


OWNER = Action("owner", "Change owner", "get the new owner", change_owner, ("owner",))
NOTE = Action("note", "Add a note", "get the note", add_note, ("subject",))
TASK = Action("task", "Add a task", "get the task", add_task, ("subject", "due_date"))
DELETE = Action("delete", "Delete", "be deleted", delete)


@dataclass(frozen=True)
class Resource:
    key: str  # as in the URL: /bulk/contacts/
    plural: str
    list_url_name: str
    selector: Callable[..., QuerySet[Any]]
    filterset: type[filters.SearchFilterSet]
    actions: tuple[Action, ...]
    status_choices: tuple[tuple[str, str], ...] = ()

    def action(self, key: str) -> Action | None:
        return next((a for a in self.actions if a.key == key), None)


RESOURCES: dict[str, Resource] = {
    r.key: r
    for r in (
        Resource(
            "accounts",
            "accounts",
            "crm:account_list",
            selectors.account_list,
            filters.AccountFilter,
            (OWNER, NOTE, TASK, DELETE),
        ),
        Resource(
            "contacts",
            "contacts",
            "crm:contact_list",
            selectors.contact_list,
            filters.ContactFilter,
            (OWNER, NOTE, TASK, DELETE),
        ),
        Resource(
            "leads",
            "leads",
            "crm:lead_list",
            selectors.lead_list,
            filters.LeadFilter,
            (
                OWNER,
                Action("status", "Change status", "get the new status", change_lead_status, ("status",)),
                NOTE,
                TASK,
                DELETE,
            ),
            tuple((v, label) for v, label in Lead.Status.choices if v != Lead.Status.CONVERTED),
        ),
        Resource(
            "opportunities",
            "opportunities",
            "crm:opportunity_list",
            selectors.opportunity_list,
            filters.OpportunityFilter,
            (
                OWNER,
                Action("stage", "Change stage", "move to the new stage", change_stage, ("status",)),
                NOTE,
                TASK,
                DELETE,
            ),
            tuple(Opportunity.Stage.choices),
        ),
        Resource(
            "contracts",
            "contracts",
            "crm:contract_list",
            selectors.contract_list,
            filters.ContractFilter,
            (
                OWNER,
                Action("status", "Change status", "get the new status", change_contract_status, ("status",)),
                DELETE,
            ),
            tuple(Contract.Status.choices),
        ),
        Resource(
            "activities",
            "activities",
            "crm:activity_list",
            selectors.activity_list,
            filters.ActivityFilter,
            (OWNER, Action("done", "Mark done", "be marked done", mark_done), DELETE),
        ),
    )
}


class BulkForm(StyledFormMixin, forms.Form):
    """What to do, to which records: the ticked ``ids``, or every record the list's filter finds."""

    action = forms.ChoiceField(choices=())
    scope = forms.ChoiceField(choices=[("selected", "Ticked rows"), ("filter", "Every matching record")])
    ids = forms.CharField(required=False)  # comma-separated, or repeated ids= fields joined
    filters = forms.CharField(required=False)  # the list's query string
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="New owner")
    status = forms.ChoiceField(choices=(), required=False, label="New status")
    subject = forms.CharField(max_length=200, required=False, label="Subject")
    due_date = forms.DateField(required=False, label="Due", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, resource: Resource, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resource = resource
        self.fields["action"].choices = [(a.key, a.label) for a in resource.actions]  # type: ignore[attr-defined]  # stubs: fields are Field
        self.fields["status"].choices = [("", "—"), *resource.status_choices]  # type: ignore[attr-defined]  # stubs: fields are Field
        owners = User.objects.staff().filter(is_active=True).order_by("first_name", "last_name")
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]  # stubs: fields are Field
        self._style_widgets()

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data.get("ids") or ""
        try:
            return sorted({int(x) for x in raw.replace(" ", "").split(",") if x})
        except ValueError:
            raise ValidationError("The ticked rows could not be read; tick them again.") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = self.resource.action(data.get("action") or "")
        if action is None:
            return data
        for name in action.fields:
            if name != "due_date" and not data.get(name):
                self.add_error(name, "Choose or type this for the action.")
        if data.get("scope") == "selected" and not data.get("ids"):
            self.add_error(None, "Tick at least one row, or choose every matching record.")
        return data

    @property
    def chosen_action(self) -> Action:
        action = self.resource.action(self.cleaned_data["action"])
        assert action is not None  # validated by the choices
        return action

    def params(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in ("owner", "status", "subject", "due_date")} | {
            "stage": self.cleaned_data.get("status")
        }


def selection(*, user: User, resource: Resource, form: BulkForm) -> QuerySet[Any]:
    """The records the form names, always from what this user may see."""
    from django.http import QueryDict

    qs = resource.selector(user=user)
    if form.cleaned_data["scope"] == "selected":
        return qs.filter(pk__in=form.cleaned_data["ids"]).order_by("pk")
    filterset = resource.filterset(QueryDict(form.cleaned_data.get("filters") or ""), queryset=qs)
    if filterset.is_bound and not filterset.is_valid():
        return qs.none()
    return filterset.qs.order_by("pk")


def _plan(*, actor: User, records: list[Any], action: Action, params: dict[str, Any]) -> Plan:
    plan = Plan()
    for record in records:
        label = str(record)
        try:
            with transaction.atomic():  # a savepoint: one record's failure leaves the others
                action.run(record, actor, params)
        except Skip as exc:
            plan.outcomes.append(Outcome(record.pk, label, False, str(exc)))
        except (BusinessRuleViolation, PermissionDenied) as exc:
            plan.outcomes.append(Outcome(record.pk, label, False, str(exc) or "not allowed"))
        except ValidationError as exc:
            plan.outcomes.append(Outcome(record.pk, label, False, "; ".join(exc.messages)))
        else:
            plan.outcomes.append(Outcome(record.pk, label, True))
    return plan


class _Rollback(Exception):
    pass


def bulk_preview(*, actor: User, qs: QuerySet[Any], action: Action, params: dict[str, Any]) -> Plan:
    """What ``bulk_run`` would do now, found by doing it and rolling it all back."""
    records = list(qs[: BULK_LIMIT + 1])
    if len(records) > BULK_LIMIT:
        return Plan(too_many=qs.count())
    plan = Plan()
    try:
        with transaction.atomic():
            plan = _plan(actor=actor, records=records, action=action, params=params)
            raise _Rollback
    except _Rollback:
        pass
    return plan


def bulk_run(*, actor: User, qs: QuerySet[Any], action: Action, params: dict[str, Any], expected: str) -> Plan | None:
    """Run the previewed plan; None (nothing changed) when the outcome would differ from ``expected``."""
    records = list(qs[: BULK_LIMIT + 1])
    if len(records) > BULK_LIMIT:
        return None
    try:
        with transaction.atomic():
            plan = _plan(actor=actor, records=records, action=action, params=params)
            if plan.digest != expected:
                raise _Rollback
    except _Rollback:
        return None
    return plan
