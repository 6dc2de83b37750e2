"""Conditions: a JSON tree compiled to ORM ``Q`` objects, so a rule is evaluated in SQL.

A tree is ``{"all": [...]}`` or ``{"any": [...]}`` of nested trees and leaves
``{"field": "account.tier", "op": "eq", "value": "key"}``. The fields a rule may test are named
per record type in ``fields_for``: the record's own, its account's (tier, territory, industry),
custom fields (``custom.<key>``) and counts (``account.open_cases``: open cases of the account).

Every rule on a batch of records is evaluated in ONE query (``evaluate``): each rule's condition
becomes a boolean column of ``SELECT pk, (cond_1), (cond_2), … WHERE pk IN (…)``; counts the
rules test are read once before, in one more query, whatever the number of rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    Model,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as DbCase
from django.db.models.functions import Coalesce

OPS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "contains": "contains",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "empty": "is empty",
    "not_empty": "is not empty",
}
NO_VALUE_OPS = {"empty", "not_empty"}
ORDER_OPS = {"gt", "gte", "lt", "lte"}


@dataclass(frozen=True)
class Field:
    key: str  # what a rule names: "status", "account.tier", "custom.region", "account.open_cases"
    label: str
    kind: str  # text, choice, number, decimal, date, datetime, bool, user, count
    lookup: str = ""  # ORM path; for counts the relation counted
    choices: tuple[tuple[str, str], ...] = ()


def _choices(model: type[Model], name: str) -> tuple[tuple[str, str], ...]:
    field: Any = model._meta.get_field(name)
    return tuple((str(k), str(v)) for k, v in (field.choices or []))


def _account_fields(prefix: str) -> list[Field]:
    from crm.models import Account

    p = f"{prefix}__" if prefix else ""
    k = "account." if prefix else ""
    return [
        Field(f"{k}name", "Account name" if prefix else "Name", "text", f"{p}name"),
        Field(f"{k}tier", "Account tier" if prefix else "Tier", "choice", f"{p}tier", _choices(Account, "tier")),
        Field(
            f"{k}industry",
            "Account industry" if prefix else "Industry",
            "choice",
            f"{p}industry",
            _choices(Account, "industry"),
        ),
        Field(f"{k}country", "Account country" if prefix else "Country", "text", f"{p}country"),
        Field(f"{k}territory", "Account territory" if prefix else "Territory", "text", f"{p}territory"),
        Field(f"{k}open_cases", "Open cases of the account" if prefix else "Open cases", "count", "open_cases"),
        Field(
            f"{k}open_opportunities",
            "Open opportunities of the account" if prefix else "Open opportunities",
            "count",
            "open_opportunities",
        ),
        Field(
            f"{k}active_contracts",
            "Active contracts of the account" if prefix else "Active contracts",
            "count",
            "active_contracts",
        ),
    ]


def _own(model: type[Model], names: Iterable[str]) -> list[Field]:
    out = []
    for name in names:
        f: Any = model._meta.get_field(name)
        internal = f.get_internal_type()
        if name in ("owner", "assignee"):
            kind = "user"
        elif f.choices:
            kind = "choice"
        elif internal in ("IntegerField", "PositiveSmallIntegerField", "PositiveIntegerField"):
            kind = "number"
        elif internal == "DecimalField":
            kind = "decimal"
        elif internal == "DateField":
            kind = "date"
        elif internal == "DateTimeField":
            kind = "datetime"
        elif internal == "BooleanField":
            kind = "bool"
        else:
            kind = "text"
        lookup = f"{name}_id" if kind == "user" else name
        out.append(Field(name, str(f.verbose_name).capitalize(), kind, lookup, _choices(model, name)))
    return out


OWN_FIELDS: dict[str, tuple[str, ...]] = {
    "crm.account": ("owner", "created_at"),
    "crm.contact": (
        "first_name",
        "last_name",
        "email",
        "job_title",
        "owner",
        "consent_to_contact",
        "last_verified_at",
        "created_at",
    ),
    "crm.lead": (
        "first_name",
        "last_name",
        "email",
        "company_name",
        "company_country",
        "source",
        "status",
        "score",
        "owner",
        "created_at",
    ),
    "crm.opportunity": ("name", "stage", "amount", "probability", "expected_close_date", "owner", "created_at"),
    "crm.contract": ("number", "status", "value", "start_date", "end_date", "owner", "created_at"),
    "cases.case": (
        "subject",
        "status",
        "severity",
        "category",
        "team",
        "channel",
        "sla_state",
        "assignee",
        "created_at",
        "resolution_due_at",
    ),
}
# Date and time fields a time trigger may count from.
TIME_FIELDS: dict[str, tuple[str, ...]] = {
    "crm.account": ("created_at",),
    "crm.contact": ("created_at", "last_verified_at"),
    "crm.lead": ("created_at",),
    "crm.opportunity": ("created_at", "expected_close_date"),
    "crm.contract": ("created_at", "start_date", "end_date"),
    "cases.case": ("created_at", "resolution_due_at", "first_response_due_at"),
}


def model_for(record_type: str) -> type[Model]:
    return apps.get_model(record_type)


def fields_for(record_type: str, *, with_custom: bool = True) -> dict[str, Field]:
    model = model_for(record_type)
    fields = _own(model, OWN_FIELDS[record_type])
    fields += _account_fields("" if record_type == "crm.account" else "account")
    if with_custom:
        from customfields.selectors import fields_for as custom_fields_for

        for cf in custom_fields_for(record_type):
            kind = {"number": "decimal", "money": "decimal", "date": "date", "boolean": "bool"}.get(cf.type, "text")
            fields.append(Field(f"custom.{cf.key}", f"{cf.label} (custom)", kind, f"custom_fields__{cf.key}"))
    return {f.key: f for f in fields}


def _count(record_type: str, what: str) -> Any:
    from cases.models import Case
    from crm.models import Contract, Opportunity

    account_ref = OuterRef("pk") if record_type == "crm.account" else OuterRef("account_id")
    qs: Any
    if what == "open_cases":
        qs = Case.objects.filter(account=account_ref, status__in=Case.OPEN_STATUSES)
    elif what == "open_opportunities":
        qs = Opportunity.objects.filter(account=account_ref).exclude(
            stage__in=[Opportunity.Stage.WON, Opportunity.Stage.LOST]
        )
    elif what == "active_contracts":
        qs = Contract.objects.filter(account=account_ref, status=Contract.Status.ACTIVE)
    else:
        raise ValidationError(f"Unknown count “{what}”.")
    counted = qs.order_by().values("account").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _typed(field: Field, value: Any) -> Any:
    if field.kind in ("number", "count", "user"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{field.label}: “{value}” is not a whole number.") from None
    if field.kind == "decimal":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(f"{field.label}: “{value}” is not a number.") from None
    if field.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValidationError(f"{field.label}: say yes or no.")
    if field.kind in ("date", "datetime"):
        try:
            return dt.date.fromisoformat(str(value)) if field.kind == "date" else dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(f"{field.label}: “{value}” is not a date (YYYY-MM-DD).") from None
    if field.kind == "choice" and field.choices and str(value) not in {k for k, _ in field.choices}:
        raise ValidationError(f"{field.label}: “{value}” is not one of {', '.join(k for k, _ in field.choices)}.")
    return str(value)


class Compiler:
    """Turns one rule's tree into (annotations, Q) for one record type. Aliases are prefixed so
    many rules share one query."""

    def __init__(
        self,
        record_type: str,
        prefix: str,
        fields: dict[str, Field] | None = None,
        counts: dict[int, dict[str, int]] | None = None,
    ):
        self.record_type = record_type
        self.prefix = prefix
        self.fields = fields if fields is not None else fields_for(record_type)
        self.annotations: dict[str, Any] = {}
        # Counts already read for the records at hand ({pk: {count: n}}): a CASE over their ids
        # instead of one correlated subquery per rule (200 rules would repeat the same one 200 times).
        self.counts = counts

    def compile(self, tree: Any) -> Q:
        if not tree:
            return Q()
        if not isinstance(tree, dict):
            raise ValidationError("A condition is an object.")
        if "all" in tree or "any" in tree:
            items = tree.get("all", tree.get("any"))
            if not isinstance(items, list):
                raise ValidationError("“all” and “any” hold a list of conditions.")
            q = Q() if "all" in tree else Q(pk__in=[])
            for item in items:
                part = self.compile(item)
                q = (q & part) if "all" in tree else (q | part)
            return q
        return self.leaf(tree)

    def leaf(self, leaf: dict[str, Any]) -> Q:
        key, op, value = leaf.get("field"), leaf.get("op"), leaf.get("value")
        field = self.fields.get(str(key))
        if field is None:
            raise ValidationError(f"“{key}” is not a field a rule can test on this record type.")
        if op not in OPS:
            raise ValidationError(f"“{op}” is not an operator ({', '.join(OPS)}).")
        lookup = field.lookup
        if field.kind == "count":
            lookup = f"{self.prefix}{str(key).replace('.', '_')}"
            if self.counts is None:
                self.annotations[lookup] = _count(self.record_type, field.lookup)
            else:
                whens = [When(pk=pk, then=Value(values.get(field.lookup, 0))) for pk, values in self.counts.items()]
                self.annotations[lookup] = DbCase(*whens, default=Value(0), output_field=IntegerField())
        if op in NO_VALUE_OPS:
            empty = Q(**{f"{lookup}__isnull": True})
            if field.kind in ("text", "choice"):
                empty |= Q(**{lookup: ""})
            return empty if op == "empty" else ~empty
        if op in ORDER_OPS and field.kind not in ("number", "decimal", "date", "datetime", "count"):
            raise ValidationError(f"{field.label}: “{OPS[op]}” compares numbers and dates only.")
        if op == "in":
            values = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
            return Q(**{f"{lookup}__in": [_typed(field, v) for v in values]})
        if op == "contains":
            return Q(**{f"{lookup}__icontains": str(value)})
        typed = _typed(field, value)
        if field.kind == "datetime" and isinstance(typed, dt.date) and not isinstance(typed, dt.datetime):
            lookup = f"{lookup}__date"
        if op == "eq":
            return Q(**{lookup: typed})
        if op == "ne":
            return ~Q(**{lookup: typed})
        return Q(**{f"{lookup}__{op}": typed})


def validate(record_type: str, tree: Any) -> None:
    """Raise ValidationError unless ``tree`` compiles for ``record_type``."""
    Compiler(record_type, "v_").compile(tree)


def leaves(tree: Any) -> list[dict[str, Any]]:
    if not tree or not isinstance(tree, dict):
        return []
    if "all" in tree or "any" in tree:
        return [leaf for item in tree.get("all", tree.get("any")) or [] for leaf in leaves(item)]
    return [tree]


def evaluate(rules: list[Any], record_type: str, ids: Iterable[int]) -> dict[tuple[int, Any], bool]:
    """{(rule id, record id): condition holds} for every rule and record, in one query.

    A record that no longer exists holds no condition.
    """
    ids = list(ids)
    result: dict[tuple[int, Any], bool] = {}
    if not ids:
        return result
    model = model_for(record_type)
    fields = fields_for(record_type)
    wanted = sorted(
        {
            fields[leaf["field"]].lookup
            for rule in rules
            for leaf in leaves(rule.conditions)
            if leaf.get("field") in fields and fields[leaf["field"]].kind == "count"
        }
    )
    counts: dict[int, dict[str, int]] | None = None
    if wanted:
        # One query for every count the rules use, each computed once per record.
        counts = {
            row.pop("pk"): row
            for row in model._base_manager.filter(pk__in=ids)
            .annotate(**{name: _count(record_type, name) for name in wanted})
            .values("pk", *wanted)
        }
    qs = model._base_manager.filter(pk__in=ids)
    flags: dict[str, Any] = {}
    aliases: dict[str, Any] = {}
    trivial: list[int] = []
    for rule in rules:
        if not rule.conditions:
            trivial.append(rule.pk)
            continue
        compiler = Compiler(record_type, f"r{rule.pk}_", fields, counts)
        q = compiler.compile(rule.conditions)
        aliases.update(compiler.annotations)
        flags[f"wf_rule_{rule.pk}"] = ExpressionWrapper(q, output_field=BooleanField())
    # One alias() and one annotate() for all rules: each call clones the query, so calling them
    # per rule would cost quadratic time in the number of rules.
    if aliases:
        qs = qs.alias(**aliases)
    if flags:
        qs = qs.annotate(**flags)
    for row in qs.values("pk", *flags):
        for pk in trivial:
            result[(pk, row["pk"])] = True
        for flag in flags:
            result[(int(flag.rsplit("_", 1)[1]), row["pk"])] = bool(row[flag])
    return result


def describe(record_type: str, tree: Any) -> str:
    """The tree in words, for the rule list and the dry-run."""
    if not tree:
        return "always"
    fields = fields_for(record_type)

    def words(node: Any) -> str:
        if "all" in node or "any" in node:
            joiner = " and " if "all" in node else " or "
            parts = [words(n) for n in node.get("all", node.get("any")) or []]
            text = joiner.join(parts)
            return f"({text})" if len(parts) > 1 else text
        field = fields.get(node.get("field", ""))
        name = field.label if field else str(node.get("field", "?"))
        if node.get("op") in NO_VALUE_OPS:
            return f"{name} {OPS.get(node.get('op', ''), '?')}"
        return f"{name} {OPS.get(node.get('op', ''), '?')} {node.get('value')}"

    text = words(tree)
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text
