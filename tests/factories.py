"""factory_boy factories: the one way tests build records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from crm.models import Account, Activity, Contact, Contract, Lead, Opportunity
from iam.models import BusinessRole, Membership, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@customer.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"rep{n}@clientele.example")
    is_staff = True
    staff_role = User.StaffRole.SALES_REP


class ExternalUserFactory(UserFactory):
    is_staff = False
    staff_role = ""


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n} GmbH")
    business_id = factory.Sequence(lambda n: f"DE{100000000 + n}")
    country = "DE"
    website = factory.LazyAttribute(lambda o: f"https://{o.name.split()[1]}.example")
    industry = Account.Industry.MANUFACTURING
    owner = factory.SubFactory(StaffFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@company.example")
    owner = factory.LazyAttribute(lambda o: o.account.owner)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@prospect{n}.example")
    company_name = factory.Sequence(lambda n: f"Prospect {n} AG")
    company_business_id = factory.Sequence(lambda n: f"CH{200000000 + n}")
    company_country = "CH"
    source = Lead.Source.TRADE_FAIR
    owner = factory.SubFactory(StaffFactory)


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Deal {n}")
    stage = Opportunity.Stage.PROPOSAL
    probability = 50
    amount = Decimal("12000.00")
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=20))
    owner = factory.LazyAttribute(lambda o: o.account.owner)


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    account = factory.SubFactory(AccountFactory)
    number = factory.Sequence(lambda n: f"C-{2026}-{n:05d}")
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=200))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=165))
    status = Contract.Status.ACTIVE
    value = Decimal("48000.00")
    owner = factory.LazyAttribute(lambda o: o.account.owner)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.CALL
    subject = factory.Sequence(lambda n: f"Call {n}")
    account = factory.SubFactory(AccountFactory)
    author = factory.LazyAttribute(lambda o: o.account.owner if o.account else StaffFactory())
    owner = factory.LazyAttribute(lambda o: o.author)
    done = True
    done_at = factory.LazyFunction(timezone.now)


class MembershipFactory(factory.django.DjangoModelFactory):
    """A usable membership: an external user at a customer account (active contract) with roles.

    ``roles=["buyer"]`` takes business-role keys; flags are derived as the services derive them.
    """

    class Meta:
        model = Membership
        skip_postgeneration_save = True

    user = factory.SubFactory(ExternalUserFactory)
    account = factory.LazyFunction(lambda: ContractFactory().account)
    contact = factory.LazyAttribute(
        lambda o: ContactFactory(account=o.account, email=o.user.email, owner=o.account.owner)
    )
    status = Membership.Status.ACTIVE

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        keys = list(extracted if extracted is not None else ["buyer"])
        self.roles.set(BusinessRole.objects.filter(key__in=keys))
        self.is_org_admin = BusinessRole.ORG_ADMIN in keys
        self.is_lead_only = keys == [BusinessRole.LEAD]
        self.save()


# --- Cases and the knowledge base (#17) -------------------------------------------------------


class ServiceLevelFactory(factory.django.DjangoModelFactory):
    """Business hours 8 to 17 Monday to Friday in Helsinki: 4 hours to respond, 2 days to resolve."""

    class Meta:
        model = "cases.ServiceLevel"

    name = factory.Sequence(lambda n: f"Gold {n}")
    first_response_minutes = 4 * 60
    resolution_minutes = 2 * 9 * 60
    time_zone = "Europe/Helsinki"
    opens = dt.time(8, 0)
    closes = dt.time(17, 0)
    weekdays = "01234"


def make_case(*, membership=None, account=None, actor=None, **kwargs):
    """A case raised the way a customer raises one: through the service."""
    from cases.models import Case
    from cases.services import case_create

    if membership is not None:
        kwargs.setdefault("raised_by", membership.user)
        kwargs.setdefault("contact", membership.contact)
        kwargs.setdefault("channel", Case.Channel.PORTAL)
        account = membership.account
        actor = actor or membership.user
    account = account or ContractFactory().account
    kwargs.setdefault("subject", "The export to Excel fails")
    kwargs.setdefault("description", "Clicking Export shows an error.")
    return case_create(actor=actor, account=account, **kwargs)


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "knowledge.Article"

    title = factory.Sequence(lambda n: f"How to do thing {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    body = "Open the menu and choose the thing."
    status = "published"
    visibility = "public"
    author = factory.SubFactory(StaffFactory)


# --- Custom fields (issue 13) -------------------------------------------------------------------


class CustomFieldFactory(factory.django.DjangoModelFactory):
    """A custom field definition; ``CustomFieldFactory(type="choice", choices=choices("gold", "silver"))``."""

    class Meta:
        model = "customfields.CustomField"

    model = "crm.contact"
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").capitalize())
    type = "text"
    position = factory.Sequence(lambda n: n + 1)


def choices(*values: str, retired: tuple[str, ...] = ()) -> list[dict]:
    return [{"value": v, "label": v.capitalize(), "retired": v in retired} for v in values]
