"""The knowledge base: full-text search, what customers may read, suggestions and deflection."""

from __future__ import annotations

import pytest
from django.test import Client

from cases.models import Case
from knowledge.models import Suggestion
from knowledge.selectors import articles_for_customers, deflection, search
from knowledge.services import article_save
from tests.factories import ArticleFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/healthz")
    return client


@pytest.fixture
def articles():
    return {
        "excel": ArticleFactory(
            title="Exporting reports to Excel", body="Choose Export, then Excel. Large exports arrive by email."
        ),
        "sso": ArticleFactory(title="Signing in with your company account", body="Single sign-on uses OpenID Connect."),
        "draft": ArticleFactory(
            title="Excel export troubleshooting", body="Draft notes about excel exports", status="draft"
        ),
        "internal": ArticleFactory(
            title="Excel export internals", body="Which queue runs excel exports", visibility="internal"
        ),
    }


def test_search_finds_words_in_title_and_body_best_first(articles):
    found = list(search(articles_for_customers(), "the export to excel fails"))
    assert found[0] == articles["excel"]
    assert articles["draft"] not in found
    assert articles["internal"] not in found
    assert list(search(articles_for_customers(), "OpenID")) == [articles["sso"]]


def test_help_centre_shows_only_published_public_articles(articles):
    client = _client(MembershipFactory().user)
    page = client.get("/portal/help/?q=excel").content.decode()
    assert "Exporting reports to Excel" in page
    assert "troubleshooting" not in page
    assert "internals" not in page
    assert client.get(f"/portal/help/{articles['excel'].slug}/").status_code == 200
    assert client.get(f"/portal/help/{articles['draft'].slug}/").status_code == 404
    assert client.get(f"/portal/help/{articles['internal'].slug}/").status_code == 404


def test_staff_see_every_article_and_portal_users_get_404_on_the_staff_pages(articles):
    staff = _client(StaffFactory())
    assert staff.get(f"/knowledge/{articles['internal'].slug}/").status_code == 200
    assert _client(MembershipFactory().user).get(f"/knowledge/{articles['excel'].slug}/").status_code == 404


def test_suggestions_while_typing_and_deflection(articles):
    membership = MembershipFactory()
    client = _client(membership.user)
    response = client.get("/portal/cases/suggest/", {"subject": "Excel export", "description": "", "draft": "draft-1"})
    assert "Exporting reports to Excel" in response.content.decode()
    assert "draft-1" in response.content.decode()
    # The same draft suggesting again counts once.
    client.get("/portal/cases/suggest/", {"subject": "Excel export fails", "draft": "draft-1"})
    assert Suggestion.objects.filter(draft="draft-1").count() == 1
    client.get(f"/portal/help/{articles['excel'].slug}/?draft=draft-1")
    assert deflection() == deflection(article=articles["excel"])
    assert (deflection().suggested, deflection().opened, deflection().deflected) == (1, 1, 1)
    # A second draft where the customer read the article and still raised the case: not deflected.
    client.get("/portal/cases/suggest/", {"subject": "Excel", "draft": "draft-2"})
    client.get(f"/portal/help/{articles['excel'].slug}/?draft=draft-2")
    client.post(
        "/portal/cases/new/",
        {
            "subject": "Excel still fails",
            "description": "x",
            "category": "problem",
            "severity": "normal",
            "draft": "draft-2",
        },
    )
    assert Case.objects.get().draft_token == "draft-2"
    assert (deflection().suggested, deflection().opened, deflection().deflected) == (2, 2, 1)
    staff_page = _client(StaffFactory()).get("/knowledge/").content.decode()
    assert 'id="deflected">1<' in staff_page


def test_staff_write_and_publish_articles():
    staff = StaffFactory()
    client = _client(staff)
    response = client.post(
        "/knowledge/new/",
        {
            "title": "Resetting a password",
            "summary": "",
            "body": "Use Forgot password.",
            "status": "published",
            "visibility": "public",
        },
    )
    assert response.status_code == 302
    article = articles_for_customers().get(title="Resetting a password")
    assert article.published_at is not None
    assert article.slug == "resetting-a-password"
    with pytest.raises(Exception, match="title and a body"):
        article_save(actor=staff, title="", body="")
