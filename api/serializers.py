"""Request parsing and response shapes. Serializers only parse and present: writes are services.

Related records are plain ids (``"account": 12``), everywhere; a referenced record must be one
the caller may see (else "does not exist"). Fields a resource does not have, or that are
read-only, are refused, not ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django_countries.serializers import CountryFieldMixin
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

from crm.models import Account, Activity, Contact, Contract, Lead, LeftReason, Opportunity
from customfields.api import CustomFieldsField
from history.models import RecordChange
from iam.models import AuditEvent, BusinessRole, Membership, User
from invitations.models import Invitation, InvitationBatch
from registrations.models import RegistrationRequest
from webhooks.models import Delivery, Endpoint


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a record the caller may see (the view's scope, an API key's accounts included)."""

    def __init__(self, model, **kwargs) -> None:
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        scoped = self.context.get("scoped_queryset")
        return scoped(self.model) if scoped else self.model.objects.none()


class StaffOwnerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return User.objects.staff()


if TYPE_CHECKING:
    # The mixins below are only ever mixed into (model) serializers.
    _ModelSerializer = serializers.ModelSerializer[Any]
    _Serializer = serializers.Serializer[Any]
else:
    _ModelSerializer = object
    _Serializer = object


class FastRepresentationMixin(_ModelSerializer):
    """Output of a list page without DRF's per-field machinery, with exactly DRF's results.

    DRF spends most of a 50-row page in ``Field.get_attribute`` and ``to_representation`` (and in
    the ``PKOnlyObject`` it builds per foreign key). For the common field types the value is read
    straight off the model (a foreign key's id from its ``*_id`` attribute; a UTC datetime in
    ISO 8601 with ``Z``, as DRF writes it); every other field goes through DRF as usual.
    """

    _representation_plan: ClassVar[list[tuple[str, str, Any, Any]]]  # set on each class by _plan()
    _RAW = (
        serializers.CharField,
        serializers.EmailField,
        serializers.ChoiceField,
        serializers.BooleanField,
        serializers.IntegerField,
        serializers.JSONField,
        serializers.SlugField,
    )

    def _plan(self) -> list[tuple[str, str, Any, Any]]:
        # Built once per serializer class, from a context-free prototype: a page then never builds
        # (deep-copies, introspects) its fields at all. The fields used here need no context.
        cls = type(self)
        plan = cls.__dict__.get("_representation_plan")
        if plan is not None:
            return plan
        from django.conf import settings

        utc = settings.USE_TZ and settings.TIME_ZONE == "UTC"
        prototype = cls(context={})
        plan = []
        for field in prototype._readable_fields:
            single = len(field.source_attrs) == 1
            attr = field.source_attrs[0] if single else None
            kind = "drf"
            if single and type(field) in self._RAW:
                kind = "raw"
            elif single and type(field) in (
                serializers.PrimaryKeyRelatedField,
                ScopedPrimaryKeyRelatedField,
                StaffOwnerField,
            ):
                model_field = cls.Meta.model._meta.get_field(attr)  # type: ignore[attr-defined]  # stubs: Meta.model of an unbound serializer
                kind, attr = "raw", model_field.attname
            elif single and type(field) is serializers.DateTimeField and utc and _iso_output(field):
                kind = "datetime"
            plan.append((field.field_name, kind, attr, field))
        cls._representation_plan = plan
        return plan

    def to_representation(self, instance):
        ret = {}
        for name, kind, attr, field in self._plan():
            if kind == "raw":
                ret[name] = getattr(instance, attr)
            elif kind == "datetime":
                value = getattr(instance, attr)
                if value is None:
                    ret[name] = None
                else:
                    text = value.astimezone(dt.UTC).isoformat()
                    ret[name] = text[:-6] + "Z" if text.endswith("+00:00") else text
            else:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
                check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
                ret[name] = None if check is None else field.to_representation(attribute)
        return ret


def _iso_output(field) -> bool:
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return isinstance(output_format, str) and output_format.lower() == ISO_8601


class StrictFieldsMixin(_Serializer):
    """Refuses unknown and read-only fields in a request body, instead of dropping them silently.

    ``Meta.read_only_fields`` applies to declared fields too (DRF applies it to generated ones only),
    so a subclass can make a parent's writable field read-only for one operation.
    """

    def get_fields(self):
        fields = super().get_fields()
        for name in getattr(getattr(self, "Meta", None), "read_only_fields", ()):
            if name in fields and not fields[name].read_only:
                fields[name].read_only = True
                fields[name].required = False
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            extra = sorted(set(data) - writable)
            if extra:
                raise serializers.ValidationError(
                    {
                        name: [
                            serializers.ErrorDetail(
                                "This field is read-only." if name in self.fields else "Unknown field.",
                                code="read_only" if name in self.fields else "unknown_field",
                            )
                        ]
                        for name in extra
                    }
                )
            # DRF measures a text after trimming its whitespace; the schema's maxLength (and a
            # client reading it) measures what was sent.
            too_long = {
                name: [
                    serializers.ErrorDetail(
                        f"Ensure this field has no more than {field.max_length} characters.", code="max_length"
                    )
                ]
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField)
                and field.max_length is not None
                and isinstance(data.get(name), str)
                and len(data[name]) > field.max_length
            }
            if too_long:
                raise serializers.ValidationError(too_long)
        return super().to_internal_value(data)


class StrictSerializer(FastRepresentationMixin, StrictFieldsMixin, CountryFieldMixin, serializers.ModelSerializer):
    pass


class StrictPlainSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


_TIMESTAMPS = ("created_at", "updated_at")


class AccountSerializer(StrictSerializer):
    custom_fields = CustomFieldsField("crm.account")
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the caller.")
    is_customer = serializers.SerializerMethodField(help_text="Has an active contract.")
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        required=False,
        help_text="Email domains of the company (replaces the list when sent).",
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "business_id",
            "country",
            "website",
            "industry",
            "tier",
            "territory",
            "owner",
            "require_mfa",
            "is_customer",
            "domains",
            "custom_fields",
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", *_TIMESTAMPS]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "business_id": {"validators": []}
        }  # the service's full_clean checks uniqueness

    @extend_schema_field(serializers.BooleanField())
    def get_is_customer(self, account: Account) -> bool:
        return account.is_customer

    def to_representation(self, account: Account) -> dict[str, Any]:
        data = super().to_representation(account)
        data["domains"] = [d.domain for d in account.email_domains.all()]
        return data


class ContactSerializer(StrictSerializer):
    custom_fields = CustomFieldsField("crm.contact")
    account = ScopedPrimaryKeyRelatedField(Account)
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the account's owner.")
    # Blank until the contact is first verified: declared so the schema's enum says so too.
    verification_method = serializers.ChoiceField(
        choices=Contact.VerificationMethod.choices, allow_blank=True, read_only=True
    )
    phone = PhoneNumberField(required=False, allow_blank=True, help_text="E.164, e.g. +4930123456")
    freshness = serializers.CharField(read_only=True, help_text="fresh, ageing or stale (the decay policy)")
    left_reason = serializers.ChoiceField(
        choices=LeftReason.choices, allow_blank=True, read_only=True, help_text="Why we know they left; blank if not."
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "email",
            "other_emails",
            "phone",
            "job_title",
            "owner",
            "consent_to_contact",
            "consent_updated_at",
            "last_verified_at",
            "verification_method",
            "freshness",
            "left_at",
            "left_reason",
            "custom_fields",
            *_TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "consent_updated_at",
            "last_verified_at",
            "verification_method",
            "left_at",
            "left_reason",
            *_TIMESTAMPS,
        ]


class LeadSerializer(StrictSerializer):
    custom_fields = CustomFieldsField("crm.lead")
    owner = StaffOwnerField(
        required=False,
        help_text="Staff user id. Omitted on create: the assignment rules choose (territories), else the caller.",
    )
    phone = PhoneNumberField(required=False, allow_blank=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "company_name",
            "company_business_id",
            "company_country",
            "company_website",
            "source",
            "status",
            "score",
            "owner",
            "converted_at",
            "converted_account",
            "converted_contact",
            "converted_opportunity",
            "custom_fields",
            *_TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "converted_at",
            "converted_account",
            "converted_contact",
            "converted_opportunity",
            *_TIMESTAMPS,
        ]


class LeadConvertSerializer(StrictPlainSerializer):
    account = ScopedPrimaryKeyRelatedField(
        Account, required=False, allow_null=True, help_text="Link to this account instead of creating one."
    )
    opportunity_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    opportunity_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    opportunity_close_date = serializers.DateField(required=False)


class LeadConversionSerializer(serializers.Serializer):
    lead = LeadSerializer()
    account = serializers.IntegerField(source="account.pk")
    contact = serializers.IntegerField(source="contact.pk")
    opportunity = serializers.IntegerField(source="opportunity.pk", allow_null=True, default=None)
    account_created = serializers.BooleanField()
    contact_created = serializers.BooleanField()


class OpportunitySerializer(StrictSerializer):
    custom_fields = CustomFieldsField("crm.opportunity")
    account = ScopedPrimaryKeyRelatedField(Account)
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the caller.")

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "account",
            "name",
            "stage",
            "amount",
            "currency",
            "expected_close_date",
            "probability",
            "owner",
            "custom_fields",
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", *_TIMESTAMPS]


class ContractSerializer(StrictSerializer):
    custom_fields = CustomFieldsField("crm.contract")
    account = ScopedPrimaryKeyRelatedField(Account)
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the caller.")

    class Meta:
        model = Contract
        fields = [
            "id",
            "account",
            "number",
            "start_date",
            "end_date",
            "status",
            "value",
            "currency",
            "owner",
            "custom_fields",
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", *_TIMESTAMPS]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "number": {"validators": []}
        }  # the service's full_clean checks uniqueness


class ActivitySerializer(StrictSerializer):
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the caller.")
    account = ScopedPrimaryKeyRelatedField(Account, required=False, allow_null=True)
    contact = ScopedPrimaryKeyRelatedField(Contact, required=False, allow_null=True)
    lead = ScopedPrimaryKeyRelatedField(Lead, required=False, allow_null=True)
    opportunity = ScopedPrimaryKeyRelatedField(Opportunity, required=False, allow_null=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "occurred_at",
            "due_at",
            "done",
            "done_at",
            "author",
            "owner",
            "account",
            "contact",
            "lead",
            "opportunity",
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", "done_at", "author", *_TIMESTAMPS]
        extra_kwargs: dict[str, dict[str, Any]] = {"occurred_at": {"required": False}}


class ActivityUpdateSerializer(ActivitySerializer):
    """What may change on a logged activity: its text, its due date, whether it is done, its owner."""

    class Meta(ActivitySerializer.Meta):
        read_only_fields = [
            "id",
            "kind",
            "occurred_at",
            "done_at",
            "author",
            "account",
            "contact",
            "lead",
            "opportunity",
            *_TIMESTAMPS,
        ]


class MembershipSerializer(StrictSerializer):
    account = ScopedPrimaryKeyRelatedField(Account)
    contact = ScopedPrimaryKeyRelatedField(Contact, help_text="The account's contact who gets portal access.")
    email = serializers.EmailField(source="user.email", read_only=True)
    roles = serializers.SlugRelatedField(
        many=True,
        slug_field="key",
        queryset=BusinessRole.objects.all(),
        help_text='Business role keys, e.g. ["org_admin", "buyer"].',
    )

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "email",
            "account",
            "contact",
            "status",
            "suspended_by",
            "roles",
            "is_org_admin",
            "is_lead_only",
            "status_changed_at",
            *_TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "user",
            "status",
            "suspended_by",
            "is_org_admin",
            "is_lead_only",
            "status_changed_at",
            *_TIMESTAMPS,
        ]


class MembershipUpdateSerializer(MembershipSerializer):
    class Meta(MembershipSerializer.Meta):
        read_only_fields = [*MembershipSerializer.Meta.read_only_fields, "account", "contact"]


class AuditEventSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "action",
            "actor",
            "actor_label",
            "account",
            "target_type",
            "target_id",
            "target_label",
            "data",
            "ip_address",
        ]
        read_only_fields = fields


# --- Invitations (the invitations app) -------------------------------------------------------------


class InvitationSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    roles: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(many=True, slug_field="key", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "account",
            "lead",
            "contact",
            "roles",
            "status",
            "failure_reason",
            "note",
            "expires_at",
            "send_count",
            "invited_by",
            "batch",
            "sent_at",
            "accepted_at",
            "revoked_at",
            "membership",
            *_TIMESTAMPS,
        ]
        read_only_fields = fields


class InvitationCreateSerializer(StrictPlainSerializer):
    """Invite a contact (or an email address) into an account, or a lead into lead access."""

    email = serializers.EmailField(required=False, allow_blank=True, help_text="Defaults to the contact's or lead's.")
    account = ScopedPrimaryKeyRelatedField(Account, required=False, allow_null=True)
    contact = ScopedPrimaryKeyRelatedField(Contact, required=False, allow_null=True)
    lead = ScopedPrimaryKeyRelatedField(Lead, required=False, allow_null=True, help_text="Invite a lead (alone).")
    roles = serializers.SlugRelatedField(
        many=True, slug_field="key", queryset=BusinessRole.objects.all(), required=False, help_text="Role keys."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    expires_in_days = serializers.IntegerField(required=False, min_value=1)


class InvitationResendSerializer(StrictPlainSerializer):
    expires_in_days = serializers.IntegerField(required=False, min_value=1)


class InvitationBatchSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    roles: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(many=True, slug_field="key", read_only=True)

    class Meta:
        model = InvitationBatch
        fields = [
            "id",
            "name",
            "source",
            "selection",
            "roles",
            "note",
            "expires_in_days",
            "created_by",
            "status",
            "total",
            "finished_at",
            "cancelled_at",
            *_TIMESTAMPS,
        ]
        read_only_fields = fields


class BatchProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    queued = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class InvitationBatchDetailSerializer(InvitationBatchSerializer):
    progress = serializers.SerializerMethodField(help_text="Recipients per state.")

    class Meta(InvitationBatchSerializer.Meta):
        fields = [*InvitationBatchSerializer.Meta.fields, "progress"]
        read_only_fields = fields

    @extend_schema_field(BatchProgressSerializer)
    def get_progress(self, batch: InvitationBatch) -> dict[str, int]:
        from invitations.selectors import batch_progress

        progress = batch_progress(batch=batch)
        # (the stubs have a BindingDict iterate its fields; it iterates their names)
        return {name: getattr(progress, name) for name in BatchProgressSerializer().fields}  # type: ignore[misc,call-overload]


class InvitationBatchCreateSerializer(StrictPlainSerializer):
    """Whom to invite: contacts or leads by id, or every contact of an account."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    # A declared field: DRF's metaclass takes it off the class, so Field.source is not shadowed.
    source = serializers.ChoiceField(choices=InvitationBatch.Source.choices)  # type: ignore[assignment]
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10_000,
        help_text="Contact or lead ids (as source says); at most 10,000.",
    )
    account = ScopedPrimaryKeyRelatedField(
        Account, required=False, allow_null=True, help_text="Instead of ids: every contact of this account."
    )
    roles = serializers.SlugRelatedField(
        many=True, slug_field="key", queryset=BusinessRole.objects.all(), required=False
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    expires_in_days = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("ids")) == bool(attrs.get("account")):
            raise serializers.ValidationError("Send either ids or account.")
        if attrs.get("account") and attrs["source"] != InvitationBatch.Source.CONTACTS:
            raise serializers.ValidationError({"account": "An account selects contacts (source: contacts)."})
        return attrs


# --- Registrations (the registrations app) ---------------------------------------------------------


class MatchEvidenceSerializer(serializers.Serializer):
    """How the matched account was found (``crm.matching``); empty when nothing matched."""

    account = serializers.IntegerField(required=False)
    on = serializers.ChoiceField(choices=["business_id", "email_domain", "name"], required=False)
    value = serializers.CharField(required=False, help_text="The business id, domain or account name that matched.")
    score = serializers.FloatField(required=False, help_text="1.0, or the name similarity.")
    description = serializers.CharField(required=False)
    email_domain_is_the_accounts = serializers.BooleanField(
        required=False, help_text="The registrant's verified email domain is one of the account's."
    )
    customer = serializers.BooleanField(required=False, help_text="The account had an active contract.")


class RegistrationSerializer(StrictSerializer):
    match_evidence = MatchEvidenceSerializer(
        read_only=True, help_text="Why matched_account was matched; a business id alone never approves."
    )

    class Meta:
        model = RegistrationRequest
        fields = [
            "id",
            "status",
            "company_name",
            "business_id",
            "country",
            "first_name",
            "last_name",
            "email",
            "phone",
            "user",
            "matched_account",
            "match_evidence",
            "membership",
            "lead",
            "decision",
            "decided_by",
            "decided_at",
            "reason",
            "info_request",
            "info_response",
            "info_requested_at",
            "info_responded_at",
            "email_verified_at",
            "submitted_at",
            *_TIMESTAMPS,
        ]
        read_only_fields = fields

    def to_representation(self, registration: RegistrationRequest) -> dict[str, Any]:
        data = super().to_representation(registration)
        data["phone"] = str(registration.phone) if registration.phone else ""
        return data


class RegistrationApproveSerializer(StrictPlainSerializer):
    account = ScopedPrimaryKeyRelatedField(
        Account, required=False, allow_null=True, help_text="Link the registrant to this account…"
    )
    create_account = serializers.BooleanField(required=False, default=False, help_text="…or create a new account.")


class RegistrationRejectSerializer(StrictPlainSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Sent to the registrant.")


class RegistrationInfoSerializer(StrictPlainSerializer):
    message = serializers.CharField(max_length=2000, help_text="What you need to know; sent to the registrant.")


# --- Webhooks (the webhooks app) ---------------------------------------------------------------------


class WebhookEndpointSerializer(StrictSerializer):
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text="Event types to receive (empty: every event).",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "last_failure_at",
            "created_by",
            *_TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "last_failure_at",
            "created_by",
            *_TIMESTAMPS,
        ]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "url": {"validators": []}
        }  # the service checks the URL (scheme, SSRF)


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    """Only in the answers to create and rotate-secret: the signing secret, shown that once."""

    secret = serializers.CharField(read_only=True, help_text="whsec_…: verify signatures with it. Shown once.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookDisableSerializer(StrictPlainSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "state",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "succeeded_at",
            "created_at",
        ]
        read_only_fields = fields


# --- Record history (the history app) ----------------------------------------------------------------


class FieldChangeSerializer(serializers.Serializer):
    old = serializers.JSONField(
        allow_null=True, help_text="The value before (null on creation). A reference is {id, label}."
    )
    new = serializers.JSONField(allow_null=True, help_text="The value after (null on deletion).")


class RecordChangeSerializer(serializers.ModelSerializer):
    changes = serializers.DictField(
        child=FieldChangeSerializer(),
        read_only=True,
        help_text="Each changed field by name: {old, new}. Dates and times in ISO 8601, decimals as strings, "
        "references as {id, label}. A creation lists the initial values, a deletion the last ones.",
    )

    class Meta:
        model = RecordChange
        fields = [
            "id",
            "changed_at",
            "kind",
            "actor",
            "actor_label",
            "credential",
            "channel",
            "job",
            "changes",
        ]
        read_only_fields = fields


# --- Access reviews (issue 19) --------------------------------------------------------------------


class AccessReviewSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="open, overdue or completed")

    class Meta:
        from reviews.models import AccessReview

        model = AccessReview
        fields = [
            "id",
            "account",
            "status",
            "opened_at",
            "due_at",
            "reminded_at",
            "completed_at",
            "completed_by",
            "people",
            "confirmed",
            "changed",
            "left",
        ]
        read_only_fields = fields
