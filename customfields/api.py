"""Custom fields in the REST API: the nested ``"custom_fields": {"<key>": value}`` of each resource,
validated by ``clean_values``, and described field by field in ``/api/schema/`` (which therefore
changes when operations add a field)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty

from customfields.models import CustomField
from customfields.selectors import fields_for
from customfields.values import clean_values

T = CustomField.Type


class CustomFieldsField(serializers.Field):
    """The record's custom field values. Writing sends only the keys that change (``null`` clears one)."""

    def __init__(self, model_label: str, **kwargs: Any) -> None:
        self.model_label = model_label
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Custom fields operations defined for this record type, by key. Writes change only the keys sent; "
            "null clears a value.",
        )
        super().__init__(**kwargs)

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)
        if value is empty and getattr(self.parent, "instance", None) is None:
            return {}  # a new record: its defaults and required fields apply even when none are sent
        return value

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        instance = getattr(self.parent, "instance", None)
        existing = instance.custom_fields if instance is not None else None
        try:
            return clean_values(self.model_label, data, partial=instance is not None, existing=existing)
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise serializers.ValidationError(detail) from None

    def to_representation(self, value: Any) -> dict[str, Any]:
        values = value or {}
        return {f.key: values.get(f.key) for f in fields_for(self.model_label)}


def value_schema(field: CustomField) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.type in (T.TEXT, T.LONG_TEXT, T.URL, T.EMAIL):
        schema = {"type": "string"}
        if field.max_length:
            schema["maxLength"] = field.max_length
        if field.type == T.TEXT and field.regex:
            schema["pattern"] = field.regex
        if field.type == T.URL:
            schema["format"] = "uri"
        if field.type == T.EMAIL:
            schema["format"] = "email"
    elif field.type == T.NUMBER:
        schema = {"type": "number"}
        if field.min_value is not None:
            schema["minimum"] = float(field.min_value)
        if field.max_value is not None:
            schema["maximum"] = float(field.max_value)
    elif field.type == T.MONEY:
        schema = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "1250.00"}
    elif field.type == T.DATE:
        schema = {"type": "string", "format": "date"}
    elif field.type == T.BOOLEAN:
        schema = {"type": "boolean"}
    elif field.type == T.CHOICE:
        schema = {"type": "string", "enum": [v for v, _label in field.offered_choices()]}
    elif field.type == T.MULTI_CHOICE:
        schema = {"type": "array", "items": {"type": "string", "enum": [v for v, _label in field.offered_choices()]}}
    else:  # a staff user
        schema = {"type": "integer", "description": "Staff user id."}
    schema["nullable"] = True
    description = field.label + (f": {field.help_text}" if field.help_text else "")
    schema["description"] = schema.get("description", description) if field.type == T.USER else description
    return schema


class CustomFieldsFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "customfields.api.CustomFieldsField"

    def map_serializer_field(self, auto_schema, direction):
        field: CustomFieldsField = self.target
        try:
            defined = fields_for(field.model_label)
        except DatabaseError:
            # No database yet (``check --deploy`` at build time): the schema names no custom fields.
            defined = []
        return {
            "type": "object",
            "description": field.help_text,
            "properties": {f.key: value_schema(f) for f in defined},
            "additionalProperties": False,
        }
