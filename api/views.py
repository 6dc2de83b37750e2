"""The API's resources. Each view parses, scopes and calls one service; nothing here writes itself."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api import filters, serializers
from api import selectors as api_selectors
from api.idempotency import idempotent
from api.problems import Conflict
from api.viewsets import (
    CreateMixin,
    DestroyMixin,
    HistoryMixin,
    ListMixin,
    ResourceViewSet,
    RetrieveMixin,
    UpdateMixin,
)
from core.listing import Sort
from crm import selectors as crm_selectors
from crm import services as crm_services
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity
from dedup.api import duplicate_guard
from iam import selectors as iam_selectors
from iam import services as iam_services
from iam.models import User


def _owner(data: dict[str, Any], default: User) -> User:
    return data.pop("owner", None) or default


# Issue 14: a write that looks like an existing record answers 409 unless forced.
FORCE = OpenApiParameter(
    "force", bool, OpenApiParameter.QUERY, description="Save even if it looks like an existing record (no 409)."
)
DUPLICATE_409 = (
    "Answers 409 (problem+json, one `errors` entry per likely duplicate with its `id`, `score` and reasons) "
    "when the record looks like an existing one, unless `?force=true`."
)


def _apply(record, data: dict[str, Any]):
    for name, value in data.items():
        setattr(record, name, value)
    return record


CREATED = Sort("-created", "Newest first", "created_at", descending=True)
UPDATED = Sort("-updated", "Most recently changed first", "updated_at", descending=True)
NEWEST_ID = Sort("-id", "Newest first", "id", descending=True)
UPDATED_ASC = Sort("updated_at", "Least recently changed first (incremental sync)", "updated_at")


def _orderings(*sorts: Sort) -> dict[str, Sort]:
    return {s.key: s for s in sorts}


@extend_schema_view(
    list=extend_schema(summary="List accounts"),
    retrieve=extend_schema(summary="Get an account"),
    create=extend_schema(summary="Create an account", parameters=[FORCE], description=DUPLICATE_409),
    partial_update=extend_schema(summary="Change an account", parameters=[FORCE], description=DUPLICATE_409),
)
class AccountViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, HistoryMixin, ResourceViewSet):
    """Customer organisations. Not deleted through the API: an account carries contracts and history."""

    resource = "accounts"
    account_field = "pk"
    serializer_class = serializers.AccountSerializer
    filterset_class = filters.AccountFilter
    orderings = _orderings(Sort("name", "Name A–Z", "name"), CREATED)

    @staticmethod
    def selector(*, user: User) -> QuerySet[Account]:
        domains = Prefetch("email_domains", queryset=AccountDomain.objects.order_by("domain"))
        return crm_selectors.account_list(user=user).prefetch_related(domains)

    def _save(self, account: Account, data: dict[str, Any]) -> Account:
        domains = data.pop("domains", None)
        account = _apply(account, data)
        duplicate_guard(self.request, account)
        return crm_services.account_save(actor=self.request.user, account=account, domains=domains)

    def perform_create(self, data: dict[str, Any]) -> Account:
        owner = _owner(data, self.request.user)
        return self._save(Account(owner=owner), data)

    def perform_update(self, account: Account, data: dict[str, Any]) -> Account:
        return self._save(account, data)


@extend_schema_view(
    list=extend_schema(summary="List contacts"),
    retrieve=extend_schema(summary="Get a contact"),
    create=extend_schema(summary="Create a contact", parameters=[FORCE], description=DUPLICATE_409),
    partial_update=extend_schema(summary="Change a contact", parameters=[FORCE], description=DUPLICATE_409),
    destroy=extend_schema(summary="Delete a contact", description="Refused (409) for a portal user's contact."),
)
class ContactViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, HistoryMixin, ResourceViewSet):
    resource = "contacts"
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    orderings = _orderings(Sort("name", "Surname A–Z", "last_name"), UPDATED, UPDATED_ASC, CREATED)
    selector = staticmethod(crm_selectors.contact_list)

    def perform_create(self, data: dict[str, Any]) -> Contact:
        owner = data.pop("owner", None) or data["account"].owner
        contact = _apply(Contact(owner=owner), data)
        duplicate_guard(self.request, contact)
        return crm_services.contact_save(actor=self.request.user, contact=contact)

    def perform_update(self, contact: Contact, data: dict[str, Any]) -> Contact:
        duplicate_guard(self.request, _apply(contact, data))
        return crm_services.contact_save(actor=self.request.user, contact=contact)

    def perform_destroy(self, contact: Contact) -> None:
        crm_services.contact_delete(actor=self.request.user, contact=contact)

    @extend_schema(
        summary="Confirm a contact's data is current",
        request=None,
        responses={200: serializers.ContactSerializer},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        def handler() -> Response:
            contact = crm_services.contact_verify(actor=request.user, contact=self.get_object())
            return self.detail_response(self.written(contact))

        return idempotent(request, handler)


@extend_schema_view(
    list=extend_schema(summary="List leads"),
    retrieve=extend_schema(summary="Get a lead"),
    create=extend_schema(summary="Create a lead", parameters=[FORCE], description=DUPLICATE_409),
    partial_update=extend_schema(
        summary="Change a lead", parameters=[FORCE], description="Conversion only through …/convert/. " + DUPLICATE_409
    ),
    destroy=extend_schema(summary="Delete a lead", description="Refused (409) for a converted lead."),
)
class LeadViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, HistoryMixin, ResourceViewSet):
    resource = "leads"
    account_field = None  # a lead belongs to no account yet: keys restricted to accounts see none
    serializer_class = serializers.LeadSerializer
    filterset_class = filters.LeadFilter
    orderings = _orderings(
        CREATED,
        Sort("-score", "Highest score first", "score", descending=True),
        Sort("name", "Surname A–Z", "last_name"),
    )
    selector = staticmethod(crm_selectors.lead_list)

    def get_serializer_class(self):
        return serializers.LeadConvertSerializer if self.action == "convert" else super().get_serializer_class()

    def perform_create(self, data: dict[str, Any]) -> Lead:
        # No owner given: the assignment rules choose one (territories), else the caller owns it.
        route = data.get("owner") is None
        owner = _owner(data, self.request.user)
        lead = _apply(Lead(owner=owner), data)
        duplicate_guard(self.request, lead)
        return crm_services.lead_save(actor=self.request.user, lead=lead, route=route)

    def perform_update(self, lead: Lead, data: dict[str, Any]) -> Lead:
        duplicate_guard(self.request, _apply(lead, data))
        return crm_services.lead_save(actor=self.request.user, lead=lead)

    def perform_destroy(self, lead: Lead) -> None:
        crm_services.lead_delete(actor=self.request.user, lead=lead)

    @extend_schema(
        summary="Convert a lead into account + contact (+ opportunity)",
        request=serializers.LeadConvertSerializer,
        responses={200: serializers.LeadConversionSerializer},
    )
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        def handler() -> Response:
            lead = self.get_object()
            serializer = serializers.LeadConvertSerializer(data=request.data, context=self.get_serializer_context())
            serializer.is_valid(raise_exception=True)
            conversion = crm_services.lead_convert(actor=request.user, lead=lead, **serializer.validated_data)
            body = serializers.LeadConversionSerializer(conversion, context=self.get_serializer_context()).data
            return Response(body, status=status.HTTP_200_OK)

        return idempotent(request, handler)


@extend_schema_view(
    list=extend_schema(summary="List opportunities"),
    retrieve=extend_schema(summary="Get an opportunity"),
    create=extend_schema(summary="Create an opportunity"),
    partial_update=extend_schema(summary="Change an opportunity"),
    destroy=extend_schema(summary="Delete an opportunity"),
)
class OpportunityViewSet(
    ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, HistoryMixin, ResourceViewSet
):
    resource = "opportunities"
    serializer_class = serializers.OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    orderings = _orderings(
        Sort("close_date", "Closing soonest first", "expected_close_date"),
        Sort("-amount", "Largest first", "amount", descending=True),
    )
    selector = staticmethod(crm_selectors.opportunity_list)

    def perform_create(self, data: dict[str, Any]) -> Opportunity:
        owner = _owner(data, self.request.user)
        record = _apply(Opportunity(owner=owner), data)
        return crm_services.opportunity_save(actor=self.request.user, opportunity=record)

    def perform_update(self, opportunity: Opportunity, data: dict[str, Any]) -> Opportunity:
        return crm_services.opportunity_save(actor=self.request.user, opportunity=_apply(opportunity, data))

    def perform_destroy(self, opportunity: Opportunity) -> None:
        crm_services.opportunity_delete(actor=self.request.user, opportunity=opportunity)


@extend_schema_view(
    list=extend_schema(summary="List contracts"),
    retrieve=extend_schema(summary="Get a contract"),
    create=extend_schema(summary="Create a contract", description="Portal access of the account follows at once."),
    partial_update=extend_schema(
        summary="Change a contract", description="A status change suspends or restores the account's portal access."
    ),
)
class ContractViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, HistoryMixin, ResourceViewSet):
    """What accounts bought. Not deleted: end a contract by setting its status (expired, terminated)."""

    resource = "contracts"
    serializer_class = serializers.ContractSerializer
    filterset_class = filters.ContractFilter
    orderings = _orderings(Sort("end_date", "Ending soonest first", "end_date"))
    selector = staticmethod(crm_selectors.contract_list)

    def perform_create(self, data: dict[str, Any]) -> Contract:
        owner = _owner(data, self.request.user)
        return crm_services.contract_save(actor=self.request.user, contract=_apply(Contract(owner=owner), data))

    def perform_update(self, contract: Contract, data: dict[str, Any]) -> Contract:
        return crm_services.contract_save(actor=self.request.user, contract=_apply(contract, data))


@extend_schema_view(
    list=extend_schema(summary="List activities"),
    retrieve=extend_schema(summary="Get an activity"),
    create=extend_schema(summary="Log an activity or plan a task"),
    partial_update=extend_schema(summary="Change an activity", request=serializers.ActivityUpdateSerializer),
    destroy=extend_schema(summary="Delete an activity"),
)
class ActivityViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, HistoryMixin, ResourceViewSet):
    resource = "activities"
    serializer_class = serializers.ActivitySerializer
    filterset_class = filters.ActivityFilter
    orderings = _orderings(Sort("-occurred", "Newest first", "occurred_at", descending=True))

    @staticmethod
    def selector(*, user: User) -> QuerySet[Activity]:
        # The representation holds ids only: no joins needed.
        return Activity.objects.visible_to(user)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return serializers.ActivityUpdateSerializer
        return super().get_serializer_class()

    def perform_create(self, data: dict[str, Any]) -> Activity:
        return crm_services.activity_log(actor=self.request.user, **data)

    def perform_update(self, activity: Activity, data: dict[str, Any]) -> Activity:
        return crm_services.activity_update(actor=self.request.user, activity=activity, changes=dict(data))

    def perform_destroy(self, activity: Activity) -> None:
        crm_services.activity_delete(actor=self.request.user, activity=activity)


_MEMBERSHIP_ACTION = extend_schema(request=None, responses={200: serializers.MembershipSerializer})


@extend_schema_view(
    list=extend_schema(summary="List portal memberships"),
    retrieve=extend_schema(summary="Get a membership"),
    create=extend_schema(
        summary="Give a contact portal access",
        description="Finds or creates the contact's user (by email) and links them to the account with roles.",
    ),
    partial_update=extend_schema(
        summary="Change a membership's business roles", request=serializers.MembershipUpdateSerializer
    ),
    destroy=extend_schema(
        summary="Remove a user from the organisation",
        description="The membership stays, deactivated, for the audit trail.",
    ),
    suspend=extend_schema(summary="Suspend a membership (admin)"),
    reactivate=extend_schema(summary="Reactivate a membership an admin suspended"),
)
class MembershipViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, ResourceViewSet):
    resource = "memberships"
    serializer_class = serializers.MembershipSerializer
    filterset_class = filters.MembershipFilter
    orderings = _orderings(Sort("id", "Oldest first", "id"), Sort("-id", "Newest first", "id", descending=True))
    selector = staticmethod(iam_selectors.memberships_visible_to)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return serializers.MembershipUpdateSerializer
        if self.action in ("suspend", "reactivate"):
            return serializers.MembershipSerializer
        return super().get_serializer_class()

    def perform_create(self, data: dict[str, Any]):
        return iam_services.portal_user_add(
            actor=self.request.user, account=data["account"], contact=data["contact"], roles=data["roles"]
        )

    def perform_update(self, membership, data: dict[str, Any]):
        if "roles" in data:
            membership = iam_services.membership_set_roles(
                actor=self.request.user, membership=membership, roles=data["roles"]
            )
        return membership

    def perform_destroy(self, membership) -> None:
        iam_services.membership_remove(actor=self.request.user, membership=membership)

    def _status_action(self, request, service) -> Response:
        def handler() -> Response:
            membership = service(actor=request.user, membership=self.get_object())
            return self.detail_response(self.written(membership))

        return idempotent(request, handler)

    @_MEMBERSHIP_ACTION
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._status_action(request, iam_services.membership_suspend)

    @_MEMBERSHIP_ACTION
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        return self._status_action(request, iam_services.membership_reactivate)


@extend_schema_view(
    list=extend_schema(summary="List audit events", description="Newest first; append-only."),
    retrieve=extend_schema(summary="Get an audit event"),
)
class AuditEventViewSet(ListMixin, RetrieveMixin, ResourceViewSet):
    resource = "audit-events"
    serializer_class = serializers.AuditEventSerializer
    filterset_class = filters.AuditEventFilter
    orderings = _orderings(Sort("-occurred", "Newest first", "occurred_at", descending=True))

    @staticmethod
    def selector(*, user: User):
        return iam_selectors.audit_events_visible_to(user=user)


# --- Invitations ------------------------------------------------------------------------------------

_INVITATION_ACTION = {200: serializers.InvitationSerializer}


@extend_schema_view(
    list=extend_schema(summary="List invitations"),
    retrieve=extend_schema(summary="Get an invitation"),
    create=extend_schema(
        summary="Invite a contact, an email address or a lead",
        description="Idempotent by nature: an open invitation for the same email and account (or lead) is "
        "refreshed (200) instead of duplicated (201). Someone who is already a portal user: 409, nothing sent.",
        request=serializers.InvitationCreateSerializer,
        responses={201: serializers.InvitationSerializer, 200: serializers.InvitationSerializer},
    ),
    resend=extend_schema(
        summary="Send a new link (the old one stops working)",
        request=serializers.InvitationResendSerializer,
        responses=_INVITATION_ACTION,
    ),
    revoke=extend_schema(summary="Revoke an invitation", request=None, responses=_INVITATION_ACTION),
)
class InvitationViewSet(ListMixin, RetrieveMixin, ResourceViewSet):
    resource = "invitations"
    serializer_class = serializers.InvitationSerializer
    filterset_class = filters.InvitationFilter
    orderings = _orderings(NEWEST_ID)  # no created_at index across accounts; ids follow creation
    selector = staticmethod(api_selectors.invitations_visible_to)

    def create(self, request, *args, **kwargs):
        from invitations.services import invitation_create

        def handler() -> Response:
            parser = serializers.InvitationCreateSerializer(data=request.data, context=self.get_serializer_context())
            parser.is_valid(raise_exception=True)
            outcome = invitation_create(actor=request.user, **parser.validated_data)
            if outcome.invitation is None:  # already a member: nothing was created or sent
                raise Conflict(outcome.message)
            code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
            return self.detail_response(self.written(outcome.invitation), status_code=code, location=outcome.created)

        return idempotent(request, handler)

    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        from invitations.services import invitation_resend

        def handler() -> Response:
            parser = serializers.InvitationResendSerializer(data=request.data)
            parser.is_valid(raise_exception=True)
            invitation = invitation_resend(actor=request.user, invitation=self.get_object(), **parser.validated_data)
            return self.detail_response(self.written(invitation))

        return idempotent(request, handler)

    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        from invitations.services import invitation_revoke

        def handler() -> Response:
            invitation = invitation_revoke(actor=request.user, invitation=self.get_object())
            return self.detail_response(self.written(invitation))

        return idempotent(request, handler)


@extend_schema_view(
    list=extend_schema(summary="List invitation batches"),
    retrieve=extend_schema(summary="Get an invitation batch and its progress"),
    create=extend_schema(
        summary="Invite many contacts or leads as one job",
        description="The recipients are stored at once; a background job sends the emails. Poll the batch "
        "for progress.",
        request=serializers.InvitationBatchCreateSerializer,
        responses={201: serializers.InvitationBatchDetailSerializer},
    ),
    cancel=extend_schema(
        summary="Cancel a running batch", request=None, responses={200: serializers.InvitationBatchDetailSerializer}
    ),
)
class InvitationBatchViewSet(ListMixin, RetrieveMixin, ResourceViewSet):
    resource = "invitation-batches"
    account_field = None  # a batch spans accounts: keys restricted to accounts see none
    serializer_class = serializers.InvitationBatchSerializer
    filterset_class = filters.InvitationBatchFilter
    orderings = _orderings(CREATED)

    @staticmethod
    def selector(*, user: User):
        from invitations.selectors import batches_visible_to

        return batches_visible_to(user=user).prefetch_related("roles")

    def get_serializer_class(self):
        if self.action in ("retrieve", "cancel", "create"):
            return serializers.InvitationBatchDetailSerializer
        return super().get_serializer_class()

    def create(self, request, *args, **kwargs):
        from invitations.batches import invitation_batch_create

        def handler() -> Response:
            parser = serializers.InvitationBatchCreateSerializer(
                data=request.data, context=self.get_serializer_context()
            )
            parser.is_valid(raise_exception=True)
            data = dict(parser.validated_data)
            source = data["source"]
            model = Contact if source == "contacts" else Lead
            queryset = self.scoped(model)
            if data.get("account"):
                queryset = queryset.filter(account=data.pop("account"))
                selection = {"account": request.data.get("account")}
            else:
                ids = data.pop("ids")
                queryset = queryset.filter(pk__in=ids)
                selection = {"ids": len(ids)}
            batch = invitation_batch_create(
                actor=request.user,
                name=data.get("name", ""),
                source=source,
                queryset=queryset,
                selection={"via": "api", **selection},
                roles=data.get("roles"),
                note=data.get("note", ""),
                expires_in_days=data.get("expires_in_days"),
            )
            return self.detail_response(self.written(batch), status_code=status.HTTP_201_CREATED, location=True)

        return idempotent(request, handler)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        from invitations.batches import invitation_batch_cancel

        def handler() -> Response:
            batch = self.get_object()
            invitation_batch_cancel(actor=request.user, batch=batch)
            return self.detail_response(self.written(batch))

        return idempotent(request, handler)


# --- Registrations ----------------------------------------------------------------------------------

_REGISTRATION_ACTION = {200: serializers.RegistrationSerializer}


@extend_schema_view(
    list=extend_schema(summary="List registration requests"),
    retrieve=extend_schema(summary="Get a registration request"),
    approve=extend_schema(
        summary="Approve: link to an account, or create one",
        request=serializers.RegistrationApproveSerializer,
        responses=_REGISTRATION_ACTION,
    ),
    reject=extend_schema(
        summary="Reject (the reason is sent to the registrant)",
        request=serializers.RegistrationRejectSerializer,
        responses=_REGISTRATION_ACTION,
    ),
    request_info=extend_schema(
        summary="Ask the registrant for more information",
        request=serializers.RegistrationInfoSerializer,
        responses=_REGISTRATION_ACTION,
    ),
)
class RegistrationViewSet(ListMixin, RetrieveMixin, ResourceViewSet):
    """Self-service sign-ups of organisations. Decided by sales managers, the service desk and operations:
    other staff get 404s, as if there were none."""

    resource = "registrations"
    account_field = None  # a request belongs to no account until it is decided
    serializer_class = serializers.RegistrationSerializer
    filterset_class = filters.RegistrationFilter
    orderings = _orderings(NEWEST_ID)

    @staticmethod
    def selector(*, user: User):
        from registrations.selectors import registrations_visible_to

        return registrations_visible_to(user)

    def _decide(self, request, service, parser_class, **fixed) -> Response:
        def handler() -> Response:
            parser = parser_class(data=request.data, context=self.get_serializer_context())
            parser.is_valid(raise_exception=True)
            registration = service(actor=request.user, registration=self.get_object(), **parser.validated_data, **fixed)
            return self.detail_response(self.written(registration))

        return idempotent(request, handler)

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        from registrations.services import registration_approve

        return self._decide(request, registration_approve, serializers.RegistrationApproveSerializer)

    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        from registrations.services import registration_reject

        return self._decide(request, registration_reject, serializers.RegistrationRejectSerializer)

    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request, pk=None):
        from registrations.services import registration_request_info

        return self._decide(request, registration_request_info, serializers.RegistrationInfoSerializer)


# --- Webhooks --------------------------------------------------------------------------------------

_ENDPOINT = {200: serializers.WebhookEndpointSerializer}


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(
        summary="Register a webhook endpoint",
        description="The answer carries the signing secret, once. Only http(s) URLs that do not resolve to "
        "loopback, private or link-local addresses are accepted.",
        responses={201: serializers.WebhookEndpointWithSecretSerializer},
    ),
    partial_update=extend_schema(summary="Change an endpoint's URL, description or event types"),
    disable=extend_schema(
        summary="Disable an endpoint", request=serializers.WebhookDisableSerializer, responses=_ENDPOINT
    ),
    enable=extend_schema(summary="Enable an endpoint again", request=None, responses=_ENDPOINT),
    rotate_secret=extend_schema(
        summary="Rotate the signing secret",
        description="The old secret keeps signing alongside the new one for a while.",
        request=None,
        responses={200: serializers.WebhookEndpointWithSecretSerializer},
    ),
    test=extend_schema(
        summary="Send a test event", request=None, responses={202: serializers.WebhookDeliverySerializer}
    ),
    deliveries=extend_schema(
        summary="The endpoint's delivery log", responses=serializers.WebhookDeliverySerializer(many=True)
    ),
    redeliver=extend_schema(
        summary="Send a delivery again", request=None, responses={202: serializers.WebhookDeliverySerializer}
    ),
)
class WebhookViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, ResourceViewSet):
    """Where Clientele sends events. Managed by operations: other staff get 404s, as if there were none."""

    resource = "webhooks"
    account_field = None  # endpoints receive every account's events: keys restricted to accounts see none
    serializer_class = serializers.WebhookEndpointSerializer
    filterset_class = filters.WebhookEndpointFilter
    orderings = _orderings(NEWEST_ID)

    @staticmethod
    def selector(*, user: User):
        from webhooks.models import Endpoint
        from webhooks.permissions import can_manage_webhooks
        from webhooks.selectors import endpoints_list

        return endpoints_list() if can_manage_webhooks(user) else Endpoint.objects.none()

    def get_serializer_class(self):
        if self.action == "deliveries":
            return serializers.WebhookDeliverySerializer
        return super().get_serializer_class()

    def perform_create(self, data: dict[str, Any]):
        from webhooks.services import endpoint_create

        return endpoint_create(actor=self.request.user, **data)

    def perform_update(self, endpoint, data: dict[str, Any]):
        from webhooks.services import endpoint_update

        return endpoint_update(actor=self.request.user, endpoint=endpoint, **data)

    def create(self, request, *args, **kwargs):
        def handler() -> Response:
            parser = self.get_serializer(data=request.data)
            parser.is_valid(raise_exception=True)
            endpoint = self.perform_create(dict(parser.validated_data))
            return self._with_secret(endpoint, status.HTTP_201_CREATED, location=True)

        return idempotent(request, handler)

    def _with_secret(self, endpoint, status_code: int, *, location: bool = False) -> Response:
        response = self.detail_response(self.written(endpoint), status_code=status_code, location=location)
        body = serializers.WebhookEndpointWithSecretSerializer(endpoint, context=self.get_serializer_context()).data
        response.data = body
        return response

    def _endpoint_action(self, request, call, parser_class=None) -> Response:
        def handler() -> Response:
            kwargs = {}
            if parser_class is not None:
                parser = parser_class(data=request.data)
                parser.is_valid(raise_exception=True)
                kwargs = dict(parser.validated_data)
            endpoint = call(actor=request.user, endpoint=self.get_object(), **kwargs)
            return endpoint

        return handler

    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        from webhooks.services import endpoint_disable

        handler = self._endpoint_action(request, endpoint_disable, serializers.WebhookDisableSerializer)
        return idempotent(request, lambda: self.detail_response(self.written(handler())))

    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        from webhooks.services import endpoint_enable

        handler = self._endpoint_action(request, endpoint_enable)
        return idempotent(request, lambda: self.detail_response(self.written(handler())))

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        from webhooks.services import endpoint_rotate_secret

        handler = self._endpoint_action(request, endpoint_rotate_secret)
        return idempotent(request, lambda: self._with_secret(handler(), status.HTTP_200_OK))

    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        from webhooks.services import endpoint_send_test

        def handler() -> Response:
            endpoint = self.get_object()
            delivery = endpoint_send_test(actor=request.user, endpoint=endpoint)
            body = serializers.WebhookDeliverySerializer(delivery).data
            return Response(body, status=status.HTTP_202_ACCEPTED)

        return idempotent(request, handler)

    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        from webhooks.selectors import endpoint_deliveries

        qs = self.filter_queryset_for_deliveries(endpoint_deliveries(self.get_object()))
        # The paginator is set (pagination_class); _DeliveryOrdering stands in for the view's orderings.
        page = self.paginator.paginate_queryset(qs, request, view=_DeliveryOrdering)  # type: ignore[union-attr,arg-type]
        return self.paginator.get_paginated_response(serializers.WebhookDeliverySerializer(page, many=True).data)  # type: ignore[union-attr]

    def filter_queryset_for_deliveries(self, qs):
        state = self.request.query_params.get("state")
        if state:
            from webhooks.models import Delivery

            if state not in Delivery.State.values:
                raise exceptions.ValidationError({"state": [f"Choose one of: {', '.join(Delivery.State.values)}."]})
            qs = qs.filter(state=state)
        return qs

    @action(detail=True, methods=["post"], url_path="deliveries/<int:delivery_id>/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        from webhooks.services import delivery_redeliver

        def handler() -> Response:
            endpoint = self.get_object()
            delivery = get_object_or_404(endpoint.deliveries.select_related("event"), pk=delivery_id)
            delivery = delivery_redeliver(actor=request.user, delivery=delivery)
            return Response(serializers.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

        return idempotent(request, handler)


class _DeliveryOrdering:
    """The delivery log's one ordering, for the paginator: newest first."""

    orderings = _orderings(Sort("-created", "Newest first", "created_at", descending=True))


# --- Access reviews (issue 19) --------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List access reviews (org admins' periodic reviews of their people)"),
    retrieve=extend_schema(summary="Get an access review"),
)
class AccessReviewViewSet(ListMixin, RetrieveMixin, ResourceViewSet):
    resource = "access-reviews"
    serializer_class = serializers.AccessReviewSerializer
    filterset_class = filters.AccessReviewFilter
    orderings = _orderings(Sort("-opened", "Newest first", "opened_at", descending=True))

    @staticmethod
    def selector(*, user: User):
        from reviews.selectors import access_reviews_visible_to

        return access_reviews_visible_to(user=user)
