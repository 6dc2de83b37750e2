"""/api/v1/ (the resources), /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI, from npm)."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from api import docs, views
from cases.api import ArticleViewSet, CaseViewSet
from imports.api import ImportViewSet
from territories.api import TeamViewSet, TerritoryViewSet
from workflows.api import WorkflowRuleViewSet

router = SimpleRouter(trailing_slash=True, use_regex_path=False)
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("invitation-batches", views.InvitationBatchViewSet, basename="invitation-batch")
router.register("registrations", views.RegistrationViewSet, basename="registration")
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")
router.register("cases", CaseViewSet, basename="case")
router.register("articles", ArticleViewSet, basename="article")
router.register("access-reviews", views.AccessReviewViewSet, basename="access-review")
router.register("workflow-rules", WorkflowRuleViewSet, basename="workflow-rule")
router.register("territories", TerritoryViewSet, basename="territory")
router.register("teams", TeamViewSet, basename="team")
router.register("imports", ImportViewSet, basename="import")

app_name = "api"

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.api_docs, name="docs"),
    # Anything else under /api/ is a problem+json 404, not an HTML page.
    # [\s\S]: a path with an encoded newline in it is anything else too.
    re_path(r"^v1/[\s\S]*$", docs.NotFoundView.as_view(), name="not_found"),
]
