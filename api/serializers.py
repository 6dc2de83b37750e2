"""Request parsing and response shapes. Serializers only parse and present: writes are services.

Related records are plain ids (``"account": 12``), everywhere; a referenced record must be one
the caller may see (else "does not exist"). Fields a resource does not have, or that are
read-only, are refused, not ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django_countries.serializers import CountryFieldMixin
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from iam.models import AuditEvent, BusinessRole, Membership, User
from invitations.models import Invitation, InvitationBatch


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


class StrictFieldsMixin:
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
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, CountryFieldMixin, serializers.ModelSerializer):
    pass


class StrictPlainSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


_TIMESTAMPS = ("created_at", "updated_at")


class AccountSerializer(StrictSerializer):
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
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", *_TIMESTAMPS]
        extra_kwargs = {"business_id": {"validators": []}}  # the service's full_clean checks uniqueness

    @extend_schema_field(serializers.BooleanField())
    def get_is_customer(self, account: Account) -> bool:
        return account.is_customer

    def to_representation(self, account: Account) -> dict[str, Any]:
        data = super().to_representation(account)
        data["domains"] = [d.domain for d in account.email_domains.all()]
        return data


class ContactSerializer(StrictSerializer):
    account = ScopedPrimaryKeyRelatedField(Account)
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the account's owner.")
    phone = PhoneNumberField(required=False, allow_blank=True, help_text="E.164, e.g. +4930123456")
    freshness = serializers.CharField(read_only=True, help_text="fresh, aging or stale (last verification)")

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
            *_TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "consent_updated_at",
            "last_verified_at",
            "verification_method",
            *_TIMESTAMPS,
        ]


class LeadSerializer(StrictSerializer):
    owner = StaffOwnerField(required=False, help_text="Staff user id; defaults to the caller.")
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
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", *_TIMESTAMPS]


class ContractSerializer(StrictSerializer):
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
            *_TIMESTAMPS,
        ]
        read_only_fields = ["id", *_TIMESTAMPS]
        extra_kwargs = {"number": {"validators": []}}  # the service's full_clean checks uniqueness


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
        extra_kwargs = {"occurred_at": {"required": False}}


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


class AuditEventSerializer(serializers.ModelSerializer):
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


class InvitationSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(many=True, slug_field="key", read_only=True)

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


class InvitationBatchSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(many=True, slug_field="key", read_only=True)

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
        return {name: getattr(progress, name) for name in BatchProgressSerializer().fields}


class InvitationBatchCreateSerializer(StrictPlainSerializer):
    """Whom to invite: contacts or leads by id, or every contact of an account."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    source = serializers.ChoiceField(choices=InvitationBatch.Source.choices)
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
