"""Fill PostgreSQL with a realistic, deterministic CRM at benchmark scale.

Rows are generated in Python from ``--seed`` and streamed into the tables with COPY, one
set-based load per table; secondary indexes and foreign keys are dropped for the load and
rebuilt afterwards (a sorted index build and one anti-join per foreign key are far cheaper
than a million random index inserts and a million deferred trigger events). Everything
happens in one transaction, so a failed load leaves nothing behind.

A marker (a JSON comment on ``crm_contact``) records the seed and sizes of the last load;
when it matches and the row counts agree, the command does nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import random
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from iam.defaults import ensure_default_business_roles
from iam.models import BusinessRole, User

SEED_DOMAIN = "scale.clientele.example"
BIG_ACCOUNT_NAME = "Globex Scale Holdings"
MARKER_PREFIX = "seed_scale:"
# Bump when the generated data changes, so an old load is not mistaken for the current one.
GENERATOR_VERSION = 1
# A fixed "now" keeps the data identical whenever it is generated.
ANCHOR = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SPAN_DAYS = 6 * 365  # history: dates spread over six years before the anchor

# Tables in load order (parents first); truncated in reverse.
TABLES = (
    "crm_account",
    "crm_accountdomain",
    "crm_contact",
    "crm_lead",
    "crm_opportunity",
    "crm_contract",
    "crm_activity",
)

FIRST_NAMES = [
    "Aino",
    "Aleksi",
    "Alice",
    "Amelia",
    "Anna",
    "Antti",
    "Arto",
    "Ava",
    "Beatriz",
    "Ben",
    "Carla",
    "Carlos",
    "Charlotte",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Deepa",
    "Elena",
    "Elias",
    "Ella",
    "Emil",
    "Emma",
    "Erik",
    "Eva",
    "Fatima",
    "Felix",
    "Fiona",
    "Francesca",
    "Gabriel",
    "Grace",
    "Hana",
    "Hannah",
    "Harri",
    "Heikki",
    "Helmi",
    "Hiroshi",
    "Ida",
    "Ingrid",
    "Isabel",
    "Ivan",
    "Jack",
    "James",
    "Jan",
    "Jana",
    "Jasmine",
    "Johanna",
    "John",
    "Jonas",
    "Juan",
    "Julia",
    "Kai",
    "Kaisa",
    "Karin",
    "Kenji",
    "Laura",
    "Lea",
    "Leo",
    "Liam",
    "Lina",
    "Linnea",
    "Lucas",
    "Luis",
    "Maja",
    "Marco",
    "Maria",
    "Marie",
    "Marta",
    "Matti",
    "Maya",
    "Mei",
    "Mika",
    "Mikko",
    "Mira",
    "Mohammed",
    "Nadia",
    "Nina",
    "Noah",
    "Noor",
    "Olga",
    "Oliver",
    "Olivia",
    "Omar",
    "Oskar",
    "Paula",
    "Pedro",
    "Peter",
    "Priya",
    "Rahul",
    "Rasmus",
    "Riikka",
    "Robert",
    "Rosa",
    "Sami",
    "Sara",
    "Sebastian",
    "Sofia",
    "Sophie",
    "Stefan",
    "Susanna",
    "Tarja",
    "Teemu",
    "Thomas",
    "Tiina",
    "Tom",
    "Ulla",
    "Valentina",
    "Veera",
    "Victor",
    "Ville",
    "Wei",
    "William",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Aalto",
    "Adams",
    "Ahmed",
    "Alanko",
    "Andersson",
    "Baker",
    "Becker",
    "Berg",
    "Bianchi",
    "Brown",
    "Campbell",
    "Carter",
    "Chen",
    "Clark",
    "Costa",
    "Davies",
    "Dubois",
    "Eriksson",
    "Evans",
    "Fischer",
    "Garcia",
    "Gonzalez",
    "Green",
    "Hall",
    "Hansen",
    "Harris",
    "Heikkinen",
    "Hernandez",
    "Hill",
    "Hoffmann",
    "Holm",
    "Hughes",
    "Jackson",
    "Jensen",
    "Johansson",
    "Johnson",
    "Jones",
    "Jovanovic",
    "Kallio",
    "Karlsson",
    "Kelly",
    "Khan",
    "Kim",
    "Koivisto",
    "Korhonen",
    "Kowalski",
    "Laine",
    "Lambert",
    "Larsen",
    "Laurent",
    "Lee",
    "Lehtonen",
    "Lewis",
    "Lindqvist",
    "Lopez",
    "Martin",
    "Martinez",
    "Meyer",
    "Miller",
    "Mitchell",
    "Moore",
    "Muller",
    "Murphy",
    "Nguyen",
    "Nielsen",
    "Nieminen",
    "Novak",
    "O'Brien",
    "Olsen",
    "Park",
    "Patel",
    "Perez",
    "Petrov",
    "Pham",
    "Quinn",
    "Ramirez",
    "Rossi",
    "Salonen",
    "Sanchez",
    "Santos",
    "Schmidt",
    "Schneider",
    "Scott",
    "Silva",
    "Smith",
    "Svensson",
    "Takahashi",
    "Tanaka",
    "Taylor",
    "Thomas",
    "Thompson",
    "Turner",
    "Virtanen",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "White",
    "Wilson",
    "Wright",
    "Yamamoto",
    "Young",
    "Zhang",
]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "sen",
    "vi",
    "to",
    "na",
    "ber",
    "gh",
    "stro",
    "lin",
    "dah",
    "mar",
    "ne",
    "ko",
    "sa",
    "ul",
    "ven",
    "tar",
    "is",
    "ho",
]
COMPANY_FIRST = [
    "Acme",
    "Alpine",
    "Apex",
    "Arctic",
    "Aurora",
    "Baltic",
    "Beacon",
    "Blue",
    "Boreal",
    "Bright",
    "Cedar",
    "Cobalt",
    "Coral",
    "Crown",
    "Delta",
    "Eagle",
    "Ember",
    "Evergreen",
    "Falcon",
    "Fjord",
    "Global",
    "Granite",
    "Harbor",
    "Helix",
    "Horizon",
    "Iron",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Lumen",
    "Maple",
    "Meridian",
    "Nordic",
    "Northwind",
    "Nova",
    "Oak",
    "Orbit",
    "Pacific",
    "Pine",
    "Polar",
    "Prime",
    "Quantum",
    "Radiant",
    "Red",
    "River",
    "Sapphire",
    "Silver",
    "Solar",
    "Summit",
    "Terra",
    "Titan",
    "Union",
    "United",
    "Vertex",
    "Vista",
    "Willow",
    "Zenith",
]
COMPANY_SECOND = [
    "Analytics",
    "Biotech",
    "Builders",
    "Capital",
    "Chemicals",
    "Consulting",
    "Dynamics",
    "Electric",
    "Energy",
    "Engineering",
    "Foods",
    "Freight",
    "Health",
    "Industries",
    "Instruments",
    "Labs",
    "Logistics",
    "Machines",
    "Media",
    "Medical",
    "Metals",
    "Mobility",
    "Networks",
    "Optics",
    "Paper",
    "Partners",
    "Pharma",
    "Plastics",
    "Power",
    "Robotics",
    "Security",
    "Software",
    "Solutions",
    "Systems",
    "Technologies",
    "Textiles",
    "Tools",
    "Trading",
    "Transport",
    "Ventures",
    "Water",
    "Works",
]
COMPANY_SUFFIX = ("Oy", "AB", "GmbH", "Ltd", "Inc", "AG", "SA", "BV", "AS", "plc", "Group", "Holdings")
TLDS = ("com", "fi", "se", "de", "co.uk", "nl", "no", "fr", "io", "net")
COUNTRIES = ("FI", "SE", "DE", "GB", "NL", "NO", "FR", "US", "DK", "EE", "PL", "ES")
JOB_TITLES = (
    "CEO",
    "CTO",
    "CFO",
    "Buyer",
    "Engineer",
    "Project manager",
    "Purchasing manager",
    "IT manager",
    "Office manager",
    "Sales director",
    "Developer",
    "Analyst",
    "Procurement lead",
    "Operations manager",
    "Technical lead",
    "Accountant",
    "Consultant",
    "Architect",
)
TERRITORIES = ("North", "South", "East", "West", "Central", "Nordics", "DACH", "Benelux", "UK & Ireland", "")
TOPICS = (
    "renewal",
    "pricing",
    "onboarding",
    "support ticket",
    "quarterly review",
    "new requirements",
    "contract terms",
    "product demo",
    "invoice question",
    "integration",
    "training",
    "expansion",
)
KIND_SUBJECT = {"call": "Call", "email": "Email", "meeting": "Meeting", "task": "Follow up", "note": "Note"}


@dataclass(frozen=True)
class Sizes:
    seed: int
    reps: int
    accounts: int
    contacts: int
    leads: int
    opportunities: int
    contracts: int
    activities: int
    big_contacts: int
    big_activities: int
    generator: int = GENERATOR_VERSION

    def marker(self) -> str:
        return MARKER_PREFIX + json.dumps(asdict(self), sort_keys=True)


def _day_strings() -> list[str]:
    start = (ANCHOR - dt.timedelta(days=SPAN_DAYS)).date()
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(SPAN_DAYS + 3 * 365)]


DAYS = _day_strings()
SPAN_SECONDS = SPAN_DAYS * 86400


def _ts(seconds: int) -> str:
    """Seconds after the start of the history -> a timestamptz literal (fast, no datetime objects)."""
    day, rest = divmod(seconds, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{DAYS[day]} {hour:02d}:{minute:02d}:{second:02d}+00"


class _ChunkReader:
    """A file-like object fed by a generator of text chunks, for ``copy_expert`` to stream from."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buffer = ""

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, ""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    readline = read


def _chunked(rows: Iterator[str], per_chunk: int = 5000) -> Iterator[str]:
    while True:
        block = list(itertools.islice(rows, per_chunk))
        if not block:
            return
        yield "\n".join(block) + "\n"


def _rng(sizes: Sizes, table: str) -> random.Random:
    # One independent stream per table: changing one table's size leaves the others' data alone.
    return random.Random(f"{sizes.seed}:{table}")


class Generator:
    """Generates every table's rows from the sizes; remembers the foreign keys children need."""

    def __init__(self, sizes: Sizes, rep_ids: list[int]) -> None:
        self.s = sizes
        self.rep_ids = rep_ids
        # Zipf-like ownership: rep k owns about 1/k as much as the busiest rep.
        self.rep_cum = list(itertools.accumulate(1.0 / (k + 1) for k in range(len(rep_ids))))
        self.account_owner = array("q", [0])
        self.account_cum: list[float] = []
        self.account_domain: list[str] = [""]
        self.contact_account = array("q", [0])
        self.opportunity_account = array("q", [0])
        rng = random.Random(sizes.seed)
        self.last_names = LAST_NAMES + sorted(
            {(rng.choice(SYLLABLES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).capitalize() for _ in range(3000)}
        )

    def _rep(self, rng: random.Random) -> int:
        return rng.choices(self.rep_ids, cum_weights=self.rep_cum)[0]

    def accounts(self) -> Iterator[str]:
        rng = _rng(self.s, "account")
        reps, cum = self.rep_ids, self.rep_cum
        owners = [reps[0], *rng.choices(reps, cum_weights=cum, k=self.s.accounts)]
        # Contacts per account are heavy-tailed: most accounts have a handful, a few have thousands.
        weights = [min(rng.paretovariate(1.16), 2500.0) for _ in range(self.s.accounts)]
        weights[0] = 0.0  # the big account gets an exact number of contacts separately
        self.account_cum = list(itertools.accumulate(weights))
        for i in range(1, self.s.accounts + 1):
            if i == 1:
                name = BIG_ACCOUNT_NAME
                slug = "globex-scale"
            else:
                first, second = rng.choice(COMPANY_FIRST), rng.choice(COMPANY_SECOND)
                name = f"{first} {second} {rng.choice(COMPANY_SUFFIX)}"
                slug = f"{first}-{second}-{i}".lower()
            domain = f"{slug}.{rng.choice(TLDS)}"
            self.account_domain.append(domain)
            owner = owners[i - 1]
            self.account_owner.append(owner)
            created = rng.randrange(SPAN_SECONDS)
            updated = min(SPAN_SECONDS - 1, created + rng.randrange(400 * 86400))
            business_id = f"BID-{i:08d}" if rng.random() < 0.7 else r"\N"
            industry = rng.choice(("manufacturing", "retail", "software", "finance", "healthcare", "logistics"))
            tier = "strategic" if i == 1 else rng.choices(("strategic", "key", "standard", "small"), (2, 8, 60, 30))[0]
            yield (
                f"{i}\t{_ts(created)}\t{_ts(updated)}\t{name}\t{business_id}\t{rng.choice(COUNTRIES)}\t"
                f"https://www.{domain}\t{industry}\t{tier}\t{rng.choice(TERRITORIES)}\t{owner}"
            )

    def account_domains(self) -> Iterator[str]:
        rng = _rng(self.s, "accountdomain")
        pk = 0
        for i in range(1, self.s.accounts + 1):
            domain = self.account_domain[i]
            pk += 1
            yield f"{pk}\t{domain}\t{i}"
            if rng.random() < 0.1:  # some companies have a second (country) domain
                pk += 1
                yield f"{pk}\t{domain.rsplit('.', 1)[0]}-mail.{rng.choice(TLDS)}\t{i}"
        self.domain_rows = pk

    def contacts(self) -> Iterator[str]:
        rng = _rng(self.s, "contact")
        n, big = self.s.contacts, min(self.s.big_contacts, self.s.contacts)
        others = rng.choices(range(1, self.s.accounts + 1), cum_weights=self.account_cum, k=n - big)
        accounts = [1] * big + others
        firsts, lasts = FIRST_NAMES, self.last_names
        n_real = len(LAST_NAMES)
        methods = ("rep", "self_service", "import")
        for i in range(1, n + 1):
            account = accounts[i - 1]
            self.contact_account.append(account)
            first = rng.choice(firsts)
            # Three in four people have a common surname; the rest a rarer one.
            last = lasts[rng.randrange(n_real)] if rng.random() < 0.75 else rng.choice(lasts)
            r = rng.random()
            email = f"{first}.{last}".lower().replace("'", "") + (str(i % 97) if r < 0.2 else "")
            email = f"{email}@{self.account_domain[account]}" if r < 0.97 else ""
            owner = self.account_owner[account] if rng.random() < 0.8 else self._rep(rng)
            created = rng.randrange(SPAN_SECONDS)
            updated = min(SPAN_SECONDS - 1, created + int(rng.expovariate(1 / (200 * 86400))))
            phone = f"+35840{rng.randrange(10_000_000):07d}" if rng.random() < 0.7 else ""
            consent = rng.random() < 0.6
            consent_at = _ts(created) if consent else r"\N"
            if rng.random() < 0.55:
                verified_s = min(SPAN_SECONDS - 1, created + rng.randrange(3 * 365 * 86400))
                verified = _ts(verified_s)
                method = rng.choice(methods)
                verified_by = str(owner) if method == "rep" else r"\N"
            else:
                verified, method, verified_by = r"\N", "", r"\N"
            yield (
                f"{i}\t{_ts(created)}\t{_ts(updated)}\t{first}\t{last}\t{email}\t[]\t{phone}\t"
                f"{rng.choice(JOB_TITLES)}\t{'t' if consent else 'f'}\t{consent_at}\t{verified}\t{method}\t"
                f"{account}\t{owner}\t{verified_by}"
            )

    def leads(self) -> Iterator[str]:
        rng = _rng(self.s, "lead")
        statuses = ("new", "working", "qualified", "registered", "converted", "disqualified")
        sources = ("web", "referral", "trade_fair", "partner", "campaign", "cold_call", "other")
        for i in range(1, self.s.leads + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(self.last_names)
            company = f"{rng.choice(COMPANY_FIRST)} {rng.choice(COMPANY_SECOND)}"
            domain = company.replace(" ", "").lower() + "." + rng.choice(TLDS)
            created = rng.randrange(SPAN_SECONDS)
            status = rng.choices(statuses, (30, 25, 15, 5, 10, 15))[0]
            converted_at = converted_account = r"\N"
            if status == "converted":
                converted_at = _ts(min(SPAN_SECONDS - 1, created + rng.randrange(90 * 86400)))
                converted_account = str(rng.randrange(1, self.s.accounts + 1))
            yield (
                f"{i}\t{_ts(created)}\t{_ts(created)}\t{first}\t{last}\t{first.lower()}@{domain}\t\t"
                f"{rng.choice(JOB_TITLES)}\t{company}\t\t{rng.choice(COUNTRIES)}\thttps://{domain}\t"
                f"{rng.choice(sources)}\t{status}\t{rng.randrange(101)}\t{converted_at}\t{converted_account}\t"
                f"\\N\t{self._rep(rng)}\t\\N"
            )

    def opportunities(self) -> Iterator[str]:
        rng = _rng(self.s, "opportunity")
        stages = ("prospecting", "qualification", "proposal", "negotiation", "won", "lost")
        probability = {"prospecting": 10, "qualification": 25, "proposal": 50, "negotiation": 75, "won": 100, "lost": 0}
        accounts = rng.choices(range(1, self.s.accounts + 1), cum_weights=self.account_cum, k=self.s.opportunities)
        for i in range(1, self.s.opportunities + 1):
            account = accounts[i - 1]
            self.opportunity_account.append(account)
            stage = rng.choices(stages, (20, 15, 12, 8, 25, 20))[0]
            created = rng.randrange(SPAN_SECONDS)
            close_day = min(len(DAYS) - 1, created // 86400 + rng.randrange(15, 400))
            amount = f"{rng.randrange(500, 500_000)}.{rng.randrange(100):02d}"
            yield (
                f"{i}\t{_ts(created)}\t{_ts(created)}\t{rng.choice(TOPICS).capitalize()} {i}\t{stage}\t{amount}\t"
                f"{rng.choices(('EUR', 'USD', 'GBP', 'SEK'), (70, 15, 10, 5))[0]}\t{DAYS[close_day]}\t"
                f"{probability[stage]}\t{account}\t{self.account_owner[account]}"
            )

    def contracts(self) -> Iterator[str]:
        rng = _rng(self.s, "contract")
        anchor_day = SPAN_DAYS
        for i in range(1, self.s.contracts + 1):
            account = 1 if i == 1 else rng.randrange(1, self.s.accounts + 1)
            start = anchor_day - 30 if i == 1 else rng.randrange(SPAN_DAYS + 180)
            end = min(len(DAYS) - 1, start + rng.choice((365, 730, 1095)) - 1)
            if start > anchor_day:
                status = "draft"
            elif end < anchor_day:
                status = "expired" if rng.random() < 0.9 else "terminated"
            else:
                status = "active" if rng.random() < 0.95 or i == 1 else "terminated"
            created = max(0, start - 30) * 86400
            yield (
                f"{i}\t{_ts(created)}\t{_ts(created)}\tC-{DAYS[start][:4]}-{i:07d}\t{DAYS[start]}\t{DAYS[end]}\t"
                f"{status}\t{rng.randrange(1000, 2_000_000)}.00\tEUR\t{account}\t{self.account_owner[account]}"
            )

    def activities(self) -> Iterator[str]:
        rng = _rng(self.s, "activity")
        kinds = ("call", "email", "meeting", "task", "note")
        n, big = self.s.activities, min(self.s.big_activities, self.s.activities)
        big_contacts = min(self.s.big_contacts, self.s.contacts)
        n_contacts, n_leads, n_opps = self.s.contacts, self.s.leads, self.s.opportunities
        null = r"\N"
        for i in range(1, n + 1):
            account = contact = lead = opportunity = null
            if i <= big:
                account = "1"
                if big_contacts and rng.random() < 0.6:
                    contact = str(rng.randrange(1, big_contacts + 1))
            else:
                r = rng.random()
                if r < 0.5 and n_contacts:
                    c = rng.randrange(1, n_contacts + 1)
                    contact, account = str(c), str(self.contact_account[c])
                elif r < 0.7 and n_leads:
                    lead = str(rng.randrange(1, n_leads + 1))
                elif r < 0.85 and n_opps:
                    o = rng.randrange(1, n_opps + 1)
                    opportunity, account = str(o), str(self.opportunity_account[o])
                else:
                    account = str(rng.randrange(1, self.s.accounts + 1))
            kind = rng.choices(kinds, (30, 30, 10, 20, 10))[0]
            # Recent activity is denser than old activity.
            occurred = SPAN_SECONDS - 1 - min(SPAN_SECONDS - 1, int(rng.expovariate(1 / (500 * 86400))))
            due = done_at = null
            if kind == "task":
                due_s = occurred + rng.randrange(1, 30) * 86400
                due = _ts(due_s)
                done = rng.random() < 0.7
                if done:
                    done_at = _ts(due_s - 3600)
            else:
                done = True
                done_at = _ts(occurred)
            owner = self._rep(rng)
            subject = f"{KIND_SUBJECT[kind]}: {rng.choice(TOPICS)}"
            body = "Discussed next steps and agreed to follow up." if rng.random() < 0.3 else ""
            yield (
                f"{i}\t{_ts(occurred)}\t{_ts(occurred)}\t{kind}\t{subject}\t{body}\t{_ts(occurred)}\t{due}\t"
                f"{'t' if done else 'f'}\t{done_at}\t{account}\t{owner}\t{owner}\t{contact}\t{lead}\t{opportunity}"
            )


COLUMNS = {
    "crm_account": "id, created_at, updated_at, name, business_id, country, website, industry, tier, territory, "
    "owner_id",
    "crm_accountdomain": "id, domain, account_id",
    "crm_contact": "id, created_at, updated_at, first_name, last_name, email, other_emails, phone, job_title, "
    "consent_to_contact, consent_updated_at, last_verified_at, verification_method, account_id, owner_id, "
    "verified_by_id",
    "crm_lead": "id, created_at, updated_at, first_name, last_name, email, phone, job_title, company_name, "
    "company_business_id, company_country, company_website, source, status, score, converted_at, "
    "converted_account_id, converted_contact_id, owner_id, converted_opportunity_id",
    "crm_opportunity": "id, created_at, updated_at, name, stage, amount, currency, expected_close_date, probability, "
    "account_id, owner_id",
    "crm_contract": "id, created_at, updated_at, number, start_date, end_date, status, value, currency, account_id, "
    "owner_id",
    "crm_activity": "id, created_at, updated_at, kind, subject, body, occurred_at, due_at, done, done_at, account_id, "
    "author_id, owner_id, contact_id, lead_id, opportunity_id",
}


def read_marker() -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('crm_contact'::regclass, 'pg_class')")
        comment = cursor.fetchone()[0] or ""
    if not comment.startswith(MARKER_PREFIX):
        return None
    try:
        return json.loads(comment[len(MARKER_PREFIX) :])
    except ValueError:
        return None


def table_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[table] = cursor.fetchone()[0]
    return counts


def names_checksum() -> str:
    """A digest of every contact's and account's name in id order: equal data, equal checksum."""
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(first_name || ' ' || last_name || ' ' || email, '|' ORDER BY id)) FROM crm_contact"
        )
        digest.update((cursor.fetchone()[0] or "").encode())
        cursor.execute("SELECT md5(string_agg(name, '|' ORDER BY id)) FROM crm_account")
        digest.update((cursor.fetchone()[0] or "").encode())
    return digest.hexdigest()


class Command(BaseCommand):
    help = (
        "Load a large, realistic, deterministic CRM into PostgreSQL for benchmarks (COPY, not the ORM). "
        "Skips when data of the same seed and sizes is already there; --reset truncates the CRM tables first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reps", type=int, default=50, help="Staff users (sales reps) owning the records.")
        parser.add_argument("--accounts", type=int, default=100_000)
        parser.add_argument("--contacts", type=int, default=1_000_000)
        parser.add_argument("--leads", type=int, default=200_000)
        parser.add_argument("--opportunities", type=int, default=100_000)
        parser.add_argument("--contracts", type=int, default=60_000)
        parser.add_argument("--activities", type=int, default=2_000_000)
        parser.add_argument("--memberships", type=int, default=200_000, help="Portal users with a membership each.")
        parser.add_argument("--big-contacts", type=int, default=5_000, help=f"Contacts of '{BIG_ACCOUNT_NAME}'.")
        parser.add_argument("--big-activities", type=int, default=20_000, help=f"Activities of '{BIG_ACCOUNT_NAME}'.")
        parser.add_argument("--reset", action="store_true", help="Truncate the CRM tables (CASCADE) and reload.")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale needs PostgreSQL (it loads with COPY and benchmarks PostgreSQL); "
                f"DATABASE_URL points at {connection.vendor}. Set DATABASE_URL=postgres://..."
            )
        if options["accounts"] < 1 or options["reps"] < 1:
            raise CommandError("--accounts and --reps must be at least 1.")
        sizes = Sizes(
            seed=options["seed"],
            reps=options["reps"],
            accounts=options["accounts"],
            contacts=options["contacts"],
            leads=options["leads"],
            opportunities=options["opportunities"],
            contracts=options["contracts"],
            activities=options["activities"],
            big_contacts=min(options["big_contacts"], options["contacts"]),
            big_activities=min(options["big_activities"], options["activities"]),
        )
        counts = table_counts()
        if not options["reset"] and read_marker() == json.loads(sizes.marker()[len(MARKER_PREFIX) :]):
            expected = self._expected_counts(sizes)
            if all(counts[t] == expected[t] for t in TABLES if t != "crm_accountdomain"):
                self.stdout.write(f"Scale data (seed {sizes.seed}) already loaded: {counts}. Nothing to do.")
                self._memberships(options["memberships"])
                return
        if any(counts.values()) and not options["reset"]:
            raise CommandError(
                f"The CRM tables already hold other data ({counts}). Use --reset to truncate them and reload."
            )
        started = time.monotonic()
        with transaction.atomic():
            rep_ids = self._staff(sizes)
            self.load(sizes, rep_ids)
        with connection.cursor() as cursor:
            # Statistics for the planner (expression indexes included) and a visibility map, so
            # index-only scans do not visit the heap of freshly copied tables.
            t0 = time.monotonic()
            cursor.execute("VACUUM (ANALYZE) " + ", ".join(TABLES))
            self.stdout.write(f"  VACUUM ANALYZE in {time.monotonic() - t0:.1f} s")
        self._memberships(options["memberships"])
        self.stdout.write(self.style.SUCCESS(f"Loaded in {time.monotonic() - started:.1f} s (seed {sizes.seed})."))

    def _memberships(self, wanted: int) -> None:
        """Portal users and their memberships, set-based: every k-th contact becomes a portal user.

        Idempotent on its own: the users are keyed by an email derived from the contact, and the
        memberships are reloaded only when their count differs. The first member of an account is
        its org admin, the others buyers; members of accounts without an active contract are
        suspended by the contract, as access_sync would leave them.
        """
        if not wanted:
            return
        portal_domain = f"portal.{SEED_DOMAIN}"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM iam_membership m JOIN iam_user u ON u.id = m.user_id WHERE u.email LIKE %s",
                [f"%@{portal_domain}"],
            )
            have = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM crm_contact")
            contacts = cursor.fetchone()[0]
        wanted = min(wanted, contacts)
        if have == wanted:
            self.stdout.write(f"  memberships: {have:,} already loaded")
            return
        ensure_default_business_roles(BusinessRole)
        roles = dict(BusinessRole.objects.filter(key__in=["org_admin", "buyer"]).values_list("key", "id"))
        step = max(1, contacts // max(wanted, 1))
        t0 = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM iam_membership_roles WHERE membership_id IN (SELECT m.id FROM iam_membership m "
                "JOIN iam_user u ON u.id = m.user_id WHERE u.email LIKE %s)",
                [f"%@{portal_domain}"],
            )
            cursor.execute(
                "DELETE FROM iam_membership WHERE user_id IN (SELECT id FROM iam_user WHERE email LIKE %s)",
                [f"%@{portal_domain}"],
            )
            cursor.execute(
                """
                CREATE TEMP TABLE seed_portal ON COMMIT DROP AS
                SELECT c.id AS contact_id, c.account_id, c.first_name, c.last_name, c.created_at,
                       'u' || c.id || '@' || %(domain)s AS email,
                       row_number() OVER (PARTITION BY c.account_id ORDER BY c.id) = 1 AS is_admin,
                       EXISTS (SELECT 1 FROM crm_contract k WHERE k.account_id = c.account_id
                               AND k.status = 'active') AS has_contract
                FROM crm_contact c
                WHERE c.id %% %(step)s = 0
                ORDER BY c.id
                LIMIT %(wanted)s
                """,
                {"domain": portal_domain, "step": step, "wanted": wanted},
            )
            cursor.execute(
                """
                INSERT INTO iam_user (password, email, first_name, last_name, is_staff, staff_role, is_active,
                                      is_superuser, date_joined)
                SELECT '!' || md5(s.email), s.email, s.first_name, s.last_name, false, '', true, false, s.created_at
                FROM seed_portal s
                ON CONFLICT (email) DO NOTHING
                """
            )
            cursor.execute(
                """
                INSERT INTO iam_membership (user_id, account_id, contact_id, status, suspended_by, is_lead_only,
                                            is_org_admin, created_at, updated_at, status_changed_at)
                SELECT u.id, s.account_id, s.contact_id,
                       CASE WHEN s.has_contract THEN 'active' ELSE 'suspended' END,
                       CASE WHEN s.has_contract THEN '' ELSE 'contract' END,
                       false, s.is_admin, s.created_at, s.created_at, s.created_at
                FROM seed_portal s JOIN iam_user u ON u.email = s.email
                """
            )
            loaded = cursor.rowcount
            cursor.execute(
                """
                INSERT INTO iam_membership_roles (membership_id, businessrole_id)
                SELECT m.id, CASE WHEN m.is_org_admin THEN %s ELSE %s END
                FROM iam_membership m JOIN iam_user u ON u.id = m.user_id WHERE u.email LIKE %s
                """,
                [roles["org_admin"], roles["buyer"], f"%@{portal_domain}"],
            )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) iam_user, iam_membership, iam_membership_roles")
        self.stdout.write(f"  memberships: {loaded:,} portal users and memberships in {time.monotonic() - t0:.1f} s")

    @staticmethod
    def _expected_counts(sizes: Sizes) -> dict[str, int]:
        return {
            "crm_account": sizes.accounts,
            "crm_accountdomain": -1,
            "crm_contact": sizes.contacts,
            "crm_lead": sizes.leads,
            "crm_opportunity": sizes.opportunities,
            "crm_contract": sizes.contracts,
            "crm_activity": sizes.activities,
        }

    def _staff(self, sizes: Sizes) -> list[int]:
        """The reps who own everything, a manager, and an operations superuser for the admin."""

        def ensure(email: str, first: str, last: str, role: str, *, superuser: bool = False) -> int:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User(email=email, first_name=first, last_name=last, is_staff=True, staff_role=role)
                user.is_superuser = superuser
                user.set_unusable_password()
                user.save()
            return user.pk

        ensure(f"ops@{SEED_DOMAIN}", "Olivia", "Ops", User.StaffRole.OPERATIONS, superuser=True)
        ensure(f"manager@{SEED_DOMAIN}", "Mark", "Manager", User.StaffRole.SALES_MANAGER)
        rng = _rng(sizes, "staff")
        return [
            ensure(f"rep{k:03d}@{SEED_DOMAIN}", rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), "sales_rep")
            for k in range(1, sizes.reps + 1)
        ]

    def load(self, sizes: Sizes, rep_ids: list[int]) -> None:
        raw = connection.cursor().connection  # the psycopg2 connection, inside Django's transaction
        with raw.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute(f"TRUNCATE {', '.join(reversed(TABLES))} RESTART IDENTITY CASCADE")
            indexes, foreign_keys = self._drop_indexes_and_foreign_keys(cur)
            gen = Generator(sizes, rep_ids)
            producers: list[tuple[str, Callable[[], Iterator[str]]]] = [
                ("crm_account", gen.accounts),
                ("crm_accountdomain", gen.account_domains),
                ("crm_contact", gen.contacts),
                ("crm_lead", gen.leads),
                ("crm_opportunity", gen.opportunities),
                ("crm_contract", gen.contracts),
                ("crm_activity", gen.activities),
            ]
            for table, produce in producers:
                t0 = time.monotonic()
                reader = _ChunkReader(_chunked(produce()))
                cur.copy_expert(f"COPY {table} ({COLUMNS[table]}) FROM STDIN", reader, size=1 << 20)
                rows = cur.rowcount
                elapsed = time.monotonic() - t0
                self.stdout.write(
                    f"  {table:<20} {rows:>10,} rows in {elapsed:6.1f} s ({rows / elapsed:>10,.0f} rows/s)"
                )
            t0 = time.monotonic()
            for _name, ddl in indexes:
                cur.execute(ddl)
            self.stdout.write(f"  rebuilt {len(indexes)} indexes in {time.monotonic() - t0:.1f} s")
            t0 = time.monotonic()
            for table, name, definition in foreign_keys:
                cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            self.stdout.write(f"  validated {len(foreign_keys)} foreign keys in {time.monotonic() - t0:.1f} s")
            for table in TABLES:
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(max(id), 1)) FROM {table}"  # noqa: S608
                cur.execute(sql)
            cur.execute(f"COMMENT ON TABLE crm_contact IS '{sizes.marker()}'")

    @staticmethod
    def _drop_indexes_and_foreign_keys(cur) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
        """Drop secondary indexes and outgoing foreign keys of the loaded tables; return how to recreate them."""
        tables = list(TABLES)
        cur.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [tables],
        )
        indexes = cur.fetchall()
        cur.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])
            """,
            [tables],
        )
        foreign_keys = cur.fetchall()
        for table, name, _definition in foreign_keys:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ddl in indexes:
            cur.execute(f"DROP INDEX {name}")
        return indexes, foreign_keys
