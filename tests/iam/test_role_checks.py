"""Who sees which part of the staff UI is decided by iam.permissions alone, also in templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

# (staff role, superuser) -> (registrations queue, integrations, admin)
EXPECTED = {
    ("sales_rep", False): (False, False, False),
    ("sales_manager", False): (True, False, False),
    ("service_desk", False): (True, False, False),
    ("operations", False): (True, True, True),
    ("sales_rep", True): (True, True, True),
}


@pytest.mark.parametrize(("role", "superuser"), list(EXPECTED))
def test_sidebar_and_admin_follow_the_role_checks(client, role, superuser):
    user = StaffFactory(staff_role=role, is_superuser=superuser)
    client.force_login(user)
    registrations, integrations, admin = EXPECTED[(role, superuser)]

    page = client.get("/").content.decode()

    assert ('href="/registrations/' in page) is registrations
    assert ('href="/api-keys/"' in page) is integrations
    assert ('href="/admin/"' in page) is admin
    admin_index = client.get("/admin/")
    assert admin_index.status_code == (200 if admin else 302)


def test_a_departed_operations_user_loses_the_admin(client):
    ops = StaffFactory(staff_role="operations")
    client.force_login(ops)
    assert client.get("/admin/").status_code == 200
    ops.is_active = False
    ops.save()
    assert client.get("/admin/").status_code == 302


def test_no_template_decides_by_staff_role_itself():
    # Role checks live in iam.permissions and reach templates as ``can``; a template comparing
    # roles itself would drift from them.
    pattern = re.compile(r"staff_role\s*(==|!=| in )|is_superuser")
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        if pattern.search(path.read_text())
    ]
    assert offenders == []
