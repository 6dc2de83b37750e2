"""The funnel report in Chromium: the chart draws, a click on a bar opens the records behind it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from iam.models import User
from tests.factories import LeadFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_opens_the_funnel_and_clicks_through_to_the_leads(signed_in_page, tmp_path):
    manager = StaffFactory(staff_role=User.StaffRole.SALES_MANAGER)
    came_in = timezone.now() - dt.timedelta(days=3)
    for source in ("web", "web", "web", "referral"):
        LeadFactory(source=source, created_at=came_in)
    LeadFactory(source="web", status="qualified", created_at=came_in)

    page = signed_in_page(manager)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/reports/funnel/")
    page.wait_for_function("document.querySelector('canvas[data-report-chart]').chart !== undefined")
    page.screenshot(path=str(tmp_path / "funnel.png"), full_page=True)
    assert page.locator(".stat-card .stat-value").first.inner_text() == "5"

    # The "Leads" bar of the funnel chart is its first bar: click its middle.
    box = page.evaluate(
        """() => {
          const chart = document.querySelector('canvas[data-report-chart]').chart;
          const bar = chart.getDatasetMeta(0).data[0];
          return {x: bar.x, y: (bar.y + bar.base) / 2};
        }"""
    )
    with page.expect_navigation():
        page.locator("canvas[data-report-chart]").first.click(position=box)
    assert "/reports/funnel/records/" in page.url
    assert page.get_by_test_id("records-count").inner_text() == "5"

    page.go_back()
    # The table below the chart has the same figures, linked the same way: Website's 4 leads.
    with page.expect_navigation():
        page.locator("#table-by_source tbody a").first.click()
    assert page.get_by_test_id("records-count").inner_text() == "4"
