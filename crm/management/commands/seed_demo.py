"""Idempotent demo data: the demo logins of PRODUCT.md and a small, believable CRM.

Every record is looked up by a natural key before it is created, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analytics.services import data_health_refresh
from cases.models import Case, ServiceLevel
from cases.services import case_create
from cases.setup import holiday_add, service_level_save
from config.env import env_str
from crm.models import Account, AccountDomain, Activity, Contact, Contract, Lead, Opportunity
from iam.models import Application, ApplicationRole, BusinessRole, Membership, User
from iam.services import membership_grant
from territories.demo import territories_demo_seed

DEMO_USERS = [
    # email, first, last, is_staff, staff_role, is_superuser, what they are
    ("ops@example.com", "Olivia", "Ops", True, User.StaffRole.OPERATIONS, True, "superuser"),
    ("manager@example.com", "Morgan", "Manager", True, User.StaffRole.SALES_MANAGER, False, "sales manager"),
    ("sales@example.com", "Sam", "Sales", True, User.StaffRole.SALES_REP, False, "sales rep"),
    ("admin@acme.example", "Ada", "Admin", False, "", False, "org admin of Acme"),
    ("user@acme.example", "Uma", "User", False, "", False, "Acme user"),
]

# name, business id, country, industry, tier, domain, owner, contract (status, start offset, length days)
ACCOUNTS = [
    (
        "Acme Corporation",
        "DE811907980",
        "DE",
        "manufacturing",
        "strategic",
        "acme.example",
        "sales",
        ("active", -400, 730),
    ),
    ("Globex Industries", "GB123456789", "GB", "energy", "key", "globex.example", "sales", ("active", -340, 365)),
    (
        "Initech Software",
        "US-48-1234567",
        "US",
        "software",
        "standard",
        "initech.example",
        "sales",
        ("expired", -800, 700),
    ),
    ("Umbrella Health", "FR40303265045", "FR", "healthcare", "key", "umbrella.example", "manager", ("draft", 10, 365)),
    (
        "Stark Logistics",
        "NL859057331B01",
        "NL",
        "logistics",
        "standard",
        "stark.example",
        "manager",
        ("terminated", -500, 730),
    ),
    ("Wayne Retail Group", "", "US", "retail", "strategic", "wayne.example", "sales", None),
    ("Hooli Finance", "CH-109.322.551", "CH", "finance", "standard", "hooli.example", "manager", None),
    (
        "Soylent Foods",
        "SE556677889901",
        "SE",
        "manufacturing",
        "small",
        "soylent.example",
        "sales",
        ("active", -30, 365),
    ),
]

CONTACTS = {
    "Acme Corporation": [
        ("Ada", "Admin", "admin@acme.example", "+49 30 1234567", "Head of IT"),
        ("Uma", "User", "user@acme.example", "+49 30 1234568", "Buyer"),
        ("Carl", "Fischer", "carl.fischer@acme.example", "+49 89 5550101", "CFO"),
        ("Lena", "Wagner", "lena.wagner@acme.example", "", "Procurement lead"),
    ],
    "Globex Industries": [
        ("Hank", "Scorpio", "hank@globex.example", "+44 20 7946 0958", "CEO"),
        ("Frank", "Grimes", "frank.grimes@globex.example", "+44 20 7946 0959", "Plant manager"),
    ],
    "Initech Software": [
        ("Bill", "Lumbergh", "bill@initech.example", "+1 415 555 0132", "VP Engineering"),
        ("Peter", "Gibbons", "peter@initech.example", "", "Engineer"),
    ],
    "Umbrella Health": [("Alice", "Abernathy", "alice@umbrella.example", "+33 1 42 68 53 00", "Director of Research")],
    "Stark Logistics": [("Pepper", "Potts", "pepper@stark.example", "+31 20 794 0000", "COO")],
    "Wayne Retail Group": [
        ("Lucius", "Fox", "lucius@wayne.example", "+1 212 555 0199", "CTO"),
        ("Selina", "Kyle", "selina@wayne.example", "", "Category manager"),
    ],
    "Hooli Finance": [("Gavin", "Belson", "gavin@hooli.example", "+41 44 668 18 00", "Founder")],
    "Soylent Foods": [("Sol", "Roth", "sol@soylent.example", "+46 8 123 456 78", "Operations")],
}

# first, last, email, company, business id, country, source, status, score, owner
LEADS = [
    (
        "Nina",
        "Berger",
        "nina.berger@alpenkraft.example",
        "Alpenkraft AG",
        "CHE-123.456.789",
        "CH",
        "trade_fair",
        "new",
        20,
        "sales",
    ),
    ("Tom", "Keller", "tom@brightwave.example", "Brightwave Ltd", "GB987654321", "GB", "web", "working", 45, "sales"),
    (
        "Maria",
        "Rossi",
        "m.rossi@lumina.example",
        "Lumina SpA",
        "IT12345678901",
        "IT",
        "referral",
        "qualified",
        70,
        "sales",
    ),
    ("Jon", "Snow", "jon@northwind.example", "Northwind Traders", "", "GB", "campaign", "new", 10, "manager"),
    (
        "Eva",
        "Novak",
        "eva.novak@quantix.example",
        "Quantix s.r.o.",
        "CZ27082440",
        "CZ",
        "trade_fair",
        "qualified",
        65,
        "sales",
    ),
    ("Raj", "Patel", "raj@finlytics.example", "Finlytics", "", "IN", "partner", "working", 35, "manager"),
    (
        "Ines",
        "Duarte",
        "ines@verdemar.example",
        "Verdemar Lda",
        "PT501964843",
        "PT",
        "cold_call",
        "disqualified",
        5,
        "sales",
    ),
    ("Kurt", "Meyer", "kurt.meyer@acme.example", "Acme Corporation", "DE811907980", "DE", "web", "new", 30, "sales"),
]

# account, name, stage, amount, close offset days, owner
DEMO_SALES_CYCLE_DAYS = 45

OPPORTUNITIES = [
    ("Acme Corporation", "Acme — platform renewal 2027", "negotiation", "120000", 20, "sales"),
    ("Acme Corporation", "Acme — analytics add-on", "proposal", "35000", 45, "sales"),
    ("Globex Industries", "Globex — contract renewal", "qualification", "80000", 25, "sales"),
    ("Wayne Retail Group", "Wayne — pilot for 40 stores", "prospecting", "60000", 75, "sales"),
    ("Hooli Finance", "Hooli — compliance suite", "proposal", "150000", 12, "manager"),
    ("Initech Software", "Initech — win-back", "qualification", "25000", 30, "sales"),
    ("Soylent Foods", "Soylent — first contract", "won", "18000", -25, "sales"),
    ("Stark Logistics", "Stark — fleet tracking", "lost", "90000", -60, "manager"),
]

# account, kind, subject, days ago (negative = due in future for tasks), done, owner
ACTIVITIES = [
    ("Acme Corporation", "call", "Quarterly check-in with Carl", 3, True, "sales"),
    ("Acme Corporation", "meeting", "Renewal workshop on site", 10, True, "sales"),
    ("Acme Corporation", "note", "Acme wants SSO for all 400 staff by Q2", 12, True, "sales"),
    ("Acme Corporation", "task", "Send renewal proposal to Carl", -2, False, "sales"),
    ("Globex Industries", "email", "Sent renewal terms", 6, True, "sales"),
    ("Globex Industries", "task", "Call Hank about the renewal", 1, False, "sales"),
    ("Wayne Retail Group", "task", "Prepare pilot scope", -5, False, "sales"),
    ("Hooli Finance", "meeting", "Compliance demo", 4, True, "manager"),
    ("Initech Software", "call", "Win-back call: budget freeze until spring", 20, True, "sales"),
    ("Umbrella Health", "task", "Get draft contract signed", -7, False, "manager"),
]


# application key, name, {application role: business roles that carry it}
APPLICATIONS = [
    (
        "shop",
        "Online shop",
        {
            "orders:read": ["org_admin", "buyer", "billing_contact"],
            "orders:write": ["buyer"],
            "prices:read": ["buyer", "org_admin"],
        },
    ),
    (
        "support",
        "Support desk",
        {"tickets:read": ["org_admin", "technical_contact"], "tickets:write": ["technical_contact"]},
    ),
    ("docs", "Documentation", {"docs:read": ["org_admin", "buyer", "technical_contact", "billing_contact", "lead"]}),
]


class Command(BaseCommand):
    help = "Create the demo logins and a small demo CRM. Safe to run again: it changes nothing twice."

    def handle(self, *args, **options) -> None:
        password = env_str("DEMO_PASSWORD", "clientele-demo")
        with transaction.atomic():
            users = self._users(password)
            staff = {"sales": users["sales@example.com"], "manager": users["manager@example.com"]}
            accounts = self._accounts(staff)
            self._contacts(accounts)
            self._leads(staff)
            self._opportunities(accounts, staff)
            self._activities(accounts, staff)
            self._portal(users, accounts)
            territories_demo_seed(manager=staff["manager"], sales=staff["sales"])
            self._service_desk(users, accounts)  # #17: service levels, holidays, demo cases
        self._data_health()
        self.stdout.write(self.style.SUCCESS("Demo data is in place. Sign in at http://127.0.0.1:8000 with:"))
        for email, *_rest, what in DEMO_USERS:
            self.stdout.write(f"  {email:<22} {password:<16} {what}")

    def _users(self, password: str) -> dict[str, User]:
        users = {}
        for email, first, last, is_staff, role, is_superuser, _what in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "is_staff": is_staff,
                    "staff_role": role,
                    "is_superuser": is_superuser,
                },
            )
            if created or not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            users[email] = user
        return users

    def _accounts(self, staff: dict[str, User]) -> dict[str, Account]:
        today = timezone.localdate()
        accounts = {}
        for name, business_id, country, industry, tier, domain, owner, contract in ACCOUNTS:
            account, _ = Account.objects.get_or_create(
                name=name,
                defaults={
                    "business_id": business_id or None,
                    "country": country,
                    "industry": industry,
                    "tier": tier,
                    "website": f"https://www.{domain}",
                    "territory": {"DE": "DACH", "CH": "DACH"}.get(country, "International"),
                    "owner": staff[owner],
                },
            )
            AccountDomain.objects.get_or_create(account=account, domain=domain)
            if contract:
                status, start_offset, length = contract
                start = today + dt.timedelta(days=start_offset)
                Contract.objects.get_or_create(
                    number=f"CT-{account.pk:04d}-01",
                    defaults={
                        "account": account,
                        "status": status,
                        "start_date": start,
                        "end_date": start + dt.timedelta(days=length),
                        "value": Decimal(length * 100),
                        "owner": staff[owner],
                    },
                )
            accounts[name] = account
        return accounts

    def _contacts(self, accounts: dict[str, Account]) -> None:
        now = timezone.now()
        for account_name, people in CONTACTS.items():
            account = accounts[account_name]
            for index, (first, last, email, phone, title) in enumerate(people):
                verified = index % 3 != 2
                Contact.objects.get_or_create(
                    account=account,
                    email=email,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "phone": phone,
                        "job_title": title,
                        "owner": account.owner,
                        "consent_to_contact": index % 2 == 0,
                        "last_verified_at": now - dt.timedelta(days=40 + 120 * index) if verified else None,
                        "verified_by": account.owner if verified else None,
                        "verification_method": Contact.VerificationMethod.REP if verified else "",
                    },
                )

    def _leads(self, staff: dict[str, User]) -> None:
        for first, last, email, company, business_id, country, source, status, score, owner in LEADS:
            Lead.objects.get_or_create(
                email=email,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "company_name": company,
                    "company_business_id": business_id,
                    "company_country": country,
                    "source": source,
                    "status": status,
                    "score": score,
                    "owner": staff[owner],
                },
            )

    def _opportunities(self, accounts: dict[str, Account], staff: dict[str, User]) -> None:
        now = timezone.now()
        today = timezone.localdate(now)
        for account_name, name, stage, amount, close_offset, owner in OPPORTUNITIES:
            # A deal is opened a sales cycle before it closes (never in the future): the pipeline
            # report's sales cycle (created to close) is then positive, as in real data.
            opened = now - dt.timedelta(days=max(-close_offset, 0) + DEMO_SALES_CYCLE_DAYS)
            opportunity, created = Opportunity.objects.get_or_create(
                account=accounts[account_name],
                name=name,
                defaults={
                    "stage": stage,
                    "amount": Decimal(amount),
                    "expected_close_date": today + dt.timedelta(days=close_offset),
                    "probability": Opportunity.DEFAULT_PROBABILITY[stage],
                    "owner": staff[owner],
                    "created_at": opened,
                },
            )
            # Demo data seeded before this fix: a deal created after it closed.
            if not created and timezone.localdate(opportunity.created_at) > opportunity.expected_close_date:
                Opportunity.objects.filter(pk=opportunity.pk).update(created_at=opened)

    def _activities(self, accounts: dict[str, Account], staff: dict[str, User]) -> None:
        now = timezone.now()
        for account_name, kind, subject, days_ago, done, owner in ACTIVITIES:
            when = now - dt.timedelta(days=days_ago)
            Activity.objects.get_or_create(
                account=accounts[account_name],
                subject=subject,
                defaults={
                    "kind": kind,
                    "occurred_at": min(when, now),
                    "due_at": when if kind == "task" else None,
                    "done": done,
                    "done_at": when if done else None,
                    "author": staff[owner],
                    "owner": staff[owner],
                },
            )

    @staticmethod
    def _data_health() -> None:
        """Weekly data-health snapshots of the last two months, so the trend chart has a story.

        The nightly job taken as of each past week (freshness moves with time, so each snapshot
        shows the data as it stood then), and last as of now, which leaves every state current.
        One snapshot per day: a second run the same day changes nothing.
        """
        now = timezone.now()
        for weeks in range(8, -1, -1):
            data_health_refresh(now=now - dt.timedelta(weeks=weeks))

    def _portal(self, users: dict[str, User], accounts: dict[str, Account]) -> None:
        for app_key, app_name, roles in APPLICATIONS:
            application, _ = Application.objects.get_or_create(key=app_key, defaults={"name": app_name})
            for role_key, business_roles in roles.items():
                app_role, _ = ApplicationRole.objects.get_or_create(
                    application=application, key=role_key, defaults={"name": role_key}
                )
                for business_role in BusinessRole.objects.filter(key__in=business_roles):
                    business_role.application_roles.add(app_role)
        ops = users["ops@example.com"]
        acme = accounts["Acme Corporation"]
        for email, role_keys in (
            ("admin@acme.example", ["org_admin", "buyer", "technical_contact", "billing_contact"]),
            ("user@acme.example", ["buyer"]),
        ):
            if not Membership.objects.filter(user=users[email], account=acme).exists():
                membership_grant(
                    actor=ops, user=users[email], account=acme, roles=BusinessRole.objects.filter(key__in=role_keys)
                )

    @staticmethod
    def _service_desk(users: dict[str, User], accounts: dict[str, Account]) -> None:
        """A default service level and one for strategic accounts, this year's and next year's
        holidays, and two Acme cases with running SLA clocks; each through the service desk's services."""
        ops = users["ops@example.com"]
        levels: list[tuple[str, dict[str, Any], int, int]] = [
            ("Standard support", {"is_default": True}, 8 * 60, 5 * 8 * 60),
            ("Strategic accounts", {"tier": Account.Tier.STRATEGIC}, 2 * 60, 2 * 8 * 60),
        ]
        for name, applies_to, first, resolution in levels:
            level = ServiceLevel.objects.filter(name=name).first() or service_level_save(
                actor=ops,
                name=name,
                **applies_to,
                first_response_minutes=first,
                resolution_minutes=resolution,
                time_zone="Europe/Berlin",
                opens=dt.time(8, 0),
                closes=dt.time(17, 0),
                weekdays="01234",
                includes="Portal and email support on working days, 08:00–17:00 Berlin time.",
            )
            year = timezone.localdate().year
            for y in (year, year + 1):
                for month, day, holiday in (
                    (1, 1, "New Year's Day"),
                    (12, 24, "Christmas Eve"),
                    (12, 25, "Christmas Day"),
                    (12, 26, "Boxing Day"),
                    (12, 31, "New Year's Eve"),
                ):
                    if not level.holidays.filter(date=dt.date(y, month, day)).exists():
                        holiday_add(actor=ops, level=level, date=dt.date(y, month, day), name=holiday)
        acme = accounts["Acme Corporation"]
        user = users["user@acme.example"]
        membership = Membership.objects.filter(user=user, account=acme).select_related("contact").first()
        for subject, category, severity in (
            ("Invoices page shows an error", Case.Category.PROBLEM, Case.Severity.HIGH),
            ("How do we add a second delivery address?", Case.Category.QUESTION, Case.Severity.NORMAL),
        ):
            if not Case.objects.filter(account=acme, subject=subject).exists():
                case_create(
                    actor=user,
                    account=acme,
                    contact=membership.contact if membership else None,
                    raised_by=user,
                    subject=subject,
                    description="Raised from the demo seed.",
                    category=category,
                    severity=severity,
                    channel=Case.Channel.PORTAL,
                )
