from __future__ import annotations

import pytest

from invitations import email_domains
from invitations.email_domains import EmailQualification, qualify_business_email


@pytest.mark.parametrize(
    ("email", "code"),
    [
        # good business addresses
        ("anna.meier@siemens.com", "ok"),
        ("  Anna.Meier@Bosch.DE ", "ok"),
        ("ops@eu.acme-industries.co.uk", "ok"),
        ("juergen@müller-gmbh.de", "ok"),  # an internationalised domain
        # malformed
        ("", "malformed"),
        ("anna", "malformed"),
        ("anna@", "malformed"),
        ("@siemens.com", "malformed"),
        ("anna meier@siemens.com", "malformed"),
        ("anna@@siemens.com", "malformed"),
        ("anna@siemens..com", "malformed"),
        # domains that cannot receive mail (checked offline)
        ("anna@localhost", "no_mail_domain"),
        ("anna@intranet", "malformed"),  # single label: Django's validator already refuses it
        ("anna@acme.example", "no_mail_domain"),
        ("anna@acme.test", "no_mail_domain"),
        ("anna@acme.invalid", "no_mail_domain"),
        ("anna@printer.local", "no_mail_domain"),
        ("anna@example.com", "no_mail_domain"),
        ("anna@sub.example.org", "no_mail_domain"),
        ("anna@[127.0.0.1]", "no_mail_domain"),
        # public webmail
        ("anna@gmail.com", "webmail"),
        ("anna@GMAIL.COM", "webmail"),
        ("anna@outlook.com", "webmail"),
        ("anna@yahoo.com", "webmail"),
        ("anna@gmx.de", "webmail"),
        ("anna@web.de", "webmail"),
        ("anna@proton.me", "webmail"),
        # disposable
        ("anna@mailinator.com", "disposable"),
        ("anna@guerrillamail.com", "disposable"),
        ("anna@eu.mailinator.com", "disposable"),
    ],
)
def test_lead_qualification_table(email, code):
    result = qualify_business_email(email)

    assert result.code == code
    assert result.qualified is (code == "ok")
    assert result.reason.endswith(".")


def test_result_is_a_frozen_value():
    result = qualify_business_email("anna@gmail.com")

    assert result == EmailQualification(False, "webmail", result.reason)
    assert "gmail.com" in result.reason
    with pytest.raises(AttributeError):
        result.qualified = True  # type: ignore[misc]


def test_blocked_setting_refuses_a_domain_and_its_subdomains(settings):
    settings.INVITATIONS_BLOCKED_EMAIL_DOMAINS = ["competitor.com"]

    assert qualify_business_email("spy@competitor.com").code == "blocked"
    assert qualify_business_email("spy@sales.competitor.com").code == "blocked"
    assert qualify_business_email("anna@siemens.com").code == "ok"


def test_allowed_setting_overrides_the_lists(settings):
    settings.INVITATIONS_ALLOWED_EMAIL_DOMAINS = ["gmail.com", "example"]

    assert qualify_business_email("founder@gmail.com").qualified
    assert qualify_business_email("demo@acme.example").qualified
    assert qualify_business_email("not-an-email").code == "malformed"


def test_mx_lookup_runs_only_when_enabled(settings, monkeypatch):
    calls = []

    def no_mx(domain):
        calls.append(domain)
        return False

    monkeypatch.setattr(email_domains, "_has_mail_exchanger", no_mx)

    assert qualify_business_email("anna@siemens.com").code == "ok"
    assert calls == []

    settings.INVITATIONS_EMAIL_CHECK_MX = True
    assert qualify_business_email("anna@no-such-company-xyz.com").code == "no_mail_domain"
    assert calls == ["no-such-company-xyz.com"]
    # Listed domains are refused without asking DNS.
    assert qualify_business_email("anna@gmail.com").code == "webmail"
    assert calls == ["no-such-company-xyz.com"]
