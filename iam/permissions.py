"""Who may do what. Small pure functions; services call them, views wrap them.

Tiers: operations (superuser) > sales/service staff (accounts they own; managers and the
service desk for every account) > the customer's organisation admins > members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TypeAlias

    from django.contrib.auth.models import AnonymousUser

    from cases.models import Case
    from crm.models import Account, Contact
    from iam.models import BusinessRole, Membership, User

    # Whoever is asking: a request's user (perhaps the anonymous visitor) or nobody at all.
    MaybeUser: TypeAlias = User | AnonymousUser | None


def is_crm_user(user: MaybeUser) -> TypeGuard[User]:
    """Staff who work in the CRM. External users never reach it, whatever else they are."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


# Staff who work every record, not only their own: managers, the service desk, operations.
_MANAGE_EVERY_RECORD = ("operations", "sales_manager", "service_desk")
# Who decides registrations: sales managers and the service desk (and operations, who may do
# anything). Sales reps work their own accounts; they neither see nor decide the queue of
# strangers' sign-ups, which holds personal data of people who are nobody's customer yet.
_DECIDE_REGISTRATIONS = ("sales_manager", "service_desk", "operations")
# Who works on another owner's contacts as a whole (e.g. asks them all to reconfirm).
_MANAGE_OWNERS = ("sales_manager", "operations")
# Staff who sell, and so may own what a registration creates.
_SELLS = ("sales_rep", "sales_manager")


def manages_every_account(user: User) -> bool:
    return user.is_superuser or user.staff_role in _MANAGE_EVERY_RECORD


def can_decide_registrations(user: MaybeUser) -> bool:
    return is_crm_user(user) and (user.is_superuser or user.staff_role in _DECIDE_REGISTRATIONS)


def manages_owners(user: MaybeUser) -> bool:
    """Managers and operations: may act on every contact of another owner."""
    return is_crm_user(user) and (user.is_superuser or user.staff_role in _MANAGE_OWNERS)


def sells(user: MaybeUser) -> TypeGuard[User]:
    return is_crm_user(user) and user.staff_role in _SELLS


def can_use_admin(user: MaybeUser) -> bool:
    """The Django admin is the operations console."""
    return is_operations(user)


def is_staff_admin_of(user: MaybeUser, account: Account) -> bool:
    """Staff who may manage this account's portal users."""
    if not is_crm_user(user):
        return False
    return manages_every_account(user) or account.owner_id == user.pk


def is_operations(user: MaybeUser) -> bool:
    """Operations staff (or a superuser): who runs the integrations and credentials."""
    return is_crm_user(user) and (user.is_superuser or user.staff_role == "operations")


def can_manage_applications(user: MaybeUser) -> bool:
    """Registering applications and their credentials is operations' work; other staff may look."""
    return is_operations(user)


def org_admin_membership(user: MaybeUser, account: Account) -> Membership | None:
    """The user's usable org-admin membership of this account, if they have one."""
    # Import cycle: the admin site imports this module while apps load, before models exist.
    from iam.models import Membership

    if not (user and user.is_authenticated and user.is_active) or user.is_staff:
        return None
    return Membership.objects.usable().filter(user=user, account=account, is_org_admin=True).first()


def can_manage_members(user: MaybeUser, account: Account) -> bool:
    return is_staff_admin_of(user, account) or org_admin_membership(user, account) is not None


def grantable_roles(user: User, account: Account, roles: Iterable[BusinessRole]) -> set[int]:
    """Ids among ``roles`` that ``user`` may grant or take away on ``account``.

    Staff may grant every role. An org admin only delegable roles that they hold themselves:
    never more than they have.
    """
    roles = list(roles)
    if is_staff_admin_of(user, account):
        return {role.pk for role in roles}
    own = org_admin_membership(user, account)
    if own is None:
        return set()
    held = set(own.roles.values_list("pk", flat=True))
    return {role.pk for role in roles if role.delegable and role.pk in held}


class RoleChecks:
    """The role checks above, as templates ask them: ``{% if can.use_admin %}``.

    Put in every template's context by ``iam.context_processors.role_checks``; each is computed
    on first use, from the user already on the request, with no query.
    """

    def __init__(self, user: MaybeUser) -> None:
        self._user = user

    @property
    def work_in_crm(self) -> bool:
        return is_crm_user(self._user)

    @property
    def decide_registrations(self) -> bool:
        return can_decide_registrations(self._user)

    @property
    def operate(self) -> bool:
        """Run the integrations: API keys, webhooks."""
        return is_operations(self._user)

    @property
    def use_admin(self) -> bool:
        return can_use_admin(self._user)

    @property
    def manage_every_account(self) -> bool:
        return is_crm_user(self._user) and manages_every_account(self._user)


# --- Issue 16: reports and the manager's home ------------------------------------------------
# Who reads every owner's figures in the reports (there are no teams yet: a manager's team is
# everyone); everybody else reads the figures of their own book.
_READ_EVERY_OWNERS_FIGURES = ("sales_manager", "operations", "service_desk")
# Who lands on the team dashboard at `/` instead of the personal "My work".
_LAND_ON_TEAM_DASHBOARD = ("sales_manager", "operations")


def reads_every_owners_figures(user: MaybeUser) -> bool:
    return is_crm_user(user) and (user.is_superuser or user.staff_role in _READ_EVERY_OWNERS_FIGURES)


def lands_on_team_dashboard(user: MaybeUser) -> bool:
    return is_crm_user(user) and (user.is_superuser or user.staff_role in _LAND_ON_TEAM_DASHBOARD)


# --- Issue 14: imports, duplicates, merge, exports ---------------------------------------------


def can_import(user: MaybeUser) -> bool:
    """Import files of records (and undo imports): staff who work in the CRM."""
    return is_crm_user(user)


def can_merge(user: MaybeUser, record_type: str = "crm.contact") -> bool:
    """Merge two records into one. Two accounts carry whole organisations' portal access, contracts
    and history: only managers and operations merge those; any CRM user merges contacts and leads."""
    if not is_crm_user(user):
        return False
    return manages_every_account(user) if record_type == "crm.account" else True


def can_export(user: MaybeUser) -> bool:
    return is_crm_user(user)


RoleChecks.import_records = property(lambda self: can_import(self._user))  # type: ignore[attr-defined]
RoleChecks.merge_accounts = property(lambda self: can_merge(self._user, "crm.account"))  # type: ignore[attr-defined]
RoleChecks.export_records = property(lambda self: can_export(self._user))  # type: ignore[attr-defined]

# --- Cases and the customer's portal (#17) -------------------------------------------------------

# Business roles whose holders see every case of their organisation, not only their own.
CASE_ORGANISATION_ROLES = ("org_admin", "technical_contact")


def can_work_cases(user: MaybeUser) -> bool:
    """Every staff user works cases: the service desk's queue, and sales on their accounts."""
    return is_crm_user(user)


def can_merge_cases(user: MaybeUser) -> bool:
    return is_crm_user(user) and (user.is_superuser or user.staff_role in _MANAGE_EVERY_RECORD)


def sees_organisation_cases(membership: Membership) -> bool:
    """Org admins and technical contacts see (and raise) cases for the whole organisation."""
    if membership.is_org_admin:
        return True
    return membership.roles.filter(key__in=CASE_ORGANISATION_ROLES).exists()


def can_raise_cases(membership: Membership) -> bool:
    """Any usable membership of a customer may raise cases; a lead-only one (no contract) may not."""
    return not membership.is_lead_only


# --- Access reviews (issue 19) -------------------------------------------------------------------


def can_review_access(user: MaybeUser, account: Account) -> bool:
    """An account's access review is answered by its own active org admins (not by staff)."""
    return org_admin_membership(user, account) is not None


def can_see_review_completion(user: MaybeUser) -> bool:
    return is_crm_user(user)


# --- Custom fields (issue 13) -------------------------------------------------------------------


def can_define_custom_fields(user: MaybeUser) -> bool:
    """Operations define custom fields; sales managers too when operations allow it
    (``CUSTOMFIELDS_MANAGERS_MAY_DEFINE``)."""
    from django.conf import settings

    if is_operations(user):
        return True
    return bool(
        sells(user)
        and user.staff_role == "sales_manager"
        and getattr(settings, "CUSTOMFIELDS_MANAGERS_MAY_DEFINE", False)
    )


RoleChecks.define_custom_fields = property(lambda self: can_define_custom_fields(self._user))  # type: ignore[attr-defined]


# --- Workflow rules (issue 18) ---------------------------------------------------------------------


def can_manage_workflows(user: MaybeUser) -> bool:
    """Sales managers and operations write, order, switch and dry-run workflow rules. Reps do not
    see them at all: a rule's run log names records of every owner."""
    return is_crm_user(user) and (user.is_superuser or user.staff_role in ("sales_manager", "operations"))


RoleChecks.manage_workflows = property(lambda self: can_manage_workflows(self._user))  # type: ignore[attr-defined]

# --- Territories, teams and routing (issue 18) ------------------------------------------------
# Who changes teams, territories and assignment rules, and sets anyone's out-of-office.
_MANAGE_TEAMS = ("sales_manager", "operations")


def can_manage_teams(user: MaybeUser) -> bool:
    return is_crm_user(user) and (user.is_superuser or user.staff_role in _MANAGE_TEAMS)


def can_see_teams(user: MaybeUser) -> bool:
    """Every staff user sees the teams, their members and the territories (reps: who is who)."""
    return is_crm_user(user)


def can_set_out_of_office(actor: MaybeUser, user: User) -> bool:
    """Staff set their own out-of-office; managers and operations anyone's (staff only)."""
    if not is_crm_user(actor) or not user.is_staff:
        return False
    return actor.pk == user.pk or can_manage_teams(actor)


RoleChecks.manage_teams = property(lambda self: can_manage_teams(self._user))  # type: ignore[attr-defined]
RoleChecks.see_teams = property(lambda self: can_see_teams(self._user))  # type: ignore[attr-defined]

# --- Service levels and case categories (issue 17) -----------------------------------------------


def can_manage_service_levels(user: MaybeUser) -> bool:
    """Service levels, their calendars and case categories are operations' configuration."""
    return is_operations(user)


def can_share_case(membership: Membership, case: Case) -> bool:
    """Who raised a case shares it with colleagues; so do those who see the organisation's cases.
    A colleague it was shared with follows it, and does not pass it on."""
    if membership.account_id != case.account_id or membership.is_lead_only:
        return False
    return case.raised_by_id == membership.user_id or sees_organisation_cases(membership)


# --- Reaching the contacts no loop reaches (issue 19) --------------------------------------------


def can_verify_contact(user: MaybeUser, contact: Contact) -> bool:
    """Record a verification outcome (still right, changed, left): the contact's owner, or managers."""
    return is_crm_user(user) and (contact.owner_id == user.pk or manages_owners(user))


def can_nominate_org_admin(user: MaybeUser, account: Account) -> bool:
    """Make someone the org admin of a customer account: its owner, or staff who manage every account."""
    return is_staff_admin_of(user, account)


def sees_verification_completion(user: MaybeUser) -> bool:
    """Every rep's weekly verification list completion (Data health): who reads every owner's figures."""
    return reads_every_owners_figures(user)
