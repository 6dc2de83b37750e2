"""The catalogue of webhook event types integrators can subscribe to."""

from __future__ import annotations

# type -> what it tells an integrator. The order is the order the staff UI lists them in.
EVENT_TYPES: dict[str, str] = {
    "account.created": "An account was created.",
    "account.updated": "An account's master data changed.",
    "contact.created": "A contact was created (by staff, by a lead conversion or for a new portal user).",
    "contact.updated": "A contact's data changed.",
    "lead.created": "A lead was created.",
    "lead.registered": "A lead registered in the portal.",
    "lead.converted": "A lead was converted into an account and contact.",
    "opportunity.created": "An opportunity (deal) was created.",
    "opportunity.updated": "An opportunity's data changed.",
    "opportunity.stage_changed": "An opportunity moved to another stage (on the board, the form or in bulk).",
    "account.merged": "Two accounts were merged: `merged_id` is gone, everything related moved to this one.",
    "contact.merged": "Two contacts were merged: `merged_id` is gone, everything related moved to this one.",
    "lead.merged": "Two leads were merged: `merged_id` is gone, everything related moved to this one.",
    "contract.activated": "A contract became active: the account is a customer.",
    "contract.ended": "A contract expired or was terminated.",
    "membership.created": "An external user got a membership of an account.",
    "membership.suspended": "A membership was suspended (by an admin, or because the contract ended).",
    "membership.reactivated": "A suspended membership is active again.",
    "membership.removed": "A user was taken out of an organisation.",
    "membership.roles_changed": "A membership's business roles changed.",
    "invitation.sent": "An invitation email was sent.",
    "invitation.accepted": "An invitation was accepted: its person is a user now.",
    "invitation.expired": "An invitation expired unused.",
    "registration.submitted": "A self-service registration request was submitted.",
    "registration.approved": "A registration request was approved.",
    "registration.rejected": "A registration request was rejected.",
    "case.created": "A case was raised (in the portal, by staff, by email or through the API).",
    "case.updated": "A case's status, assignment or details changed, or it was merged.",
    "case.replied": "A public reply was added to a case's conversation.",
    "case.resolved": "A case was resolved.",
    # Issue 19: data that stays right.
    "contact.left": "A contact left their company (kept for history, no longer contacted).",
    "access_review.completed": "An org admin completed their organisation's access review.",
    # Issue 18: workflow rules call an endpoint (sent only to the endpoint a rule names).
    "workflow.rule_fired": "A workflow rule's “Call a webhook endpoint” action fired for a record.",
}

# Sent only by "Send test event" to one endpoint; nobody subscribes to it.
TEST_EVENT = "webhook.test"


def event_type_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in EVENT_TYPES]
