"""How figures read in a report's tables: grouped thousands, whole money amounts, "—" for none."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat

from analytics.reports.base import Cell
from analytics.templatetags.reports import report_row, report_value


@pytest.mark.parametrize(
    "value", [Decimal("1234567.5"), Decimal("2.5"), Decimal("-1234.49"), Decimal("-0.4"), Decimal("0"), 1234567]
)
def test_money_reads_as_whole_grouped_amounts(value):
    assert report_value(value, "money") == floatformat(value, "0g")


@pytest.mark.parametrize("value", [0, 12, 1234, 12345678, -4321])
def test_counts_read_with_grouped_thousands(value):
    assert report_value(value, "int") == intcomma(value)


def test_a_row_escapes_text_and_links_only_cells_with_a_value():
    html = report_row(
        [
            Cell("<b>Acme</b>", "text"),
            Cell(1200, "int", href="/reports/x/records/?a=1&b=2"),
            Cell(0, "int", href="/reports/x/records/?a=0"),
            Cell(None, "percent"),
        ]
    )
    assert html.startswith("<td>&lt;b&gt;Acme&lt;/b&gt;</td>")
    assert '<a href="/reports/x/records/?a=1&amp;b=2">1,200</a>' in html
    assert "?a=0" not in html
    assert "—" in html
