"""The reports: one module each (``build`` the figures, ``records`` behind a figure), listed here in menu order."""

from __future__ import annotations

from types import ModuleType

from analytics.reports import activities, contracts, data_health, funnel, invitations, pipeline, portal

REPORTS: dict[str, ModuleType] = {
    module.SLUG: module for module in (pipeline, funnel, contracts, invitations, portal, activities, data_health)
}
