"""Each type's validation, through the one entry point every write path uses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from customfields.values import clean_values
from tests.factories import CustomFieldFactory, StaffFactory, choices

pytestmark = pytest.mark.django_db

CASES = [
    # (type, extra definition, good input, stored, bad input, message fragment)
    ("text", {"max_length": 5, "regex": r"[A-Z]+"}, " ABC ", "ABC", "abc", "format"),
    ("text", {"max_length": 3}, "ABC", "ABC", "ABCD", "At most 3"),
    ("long_text", {}, "line 1\nline 2", "line 1\nline 2", ["x"], "Enter text"),
    ("number", {"min_value": 1, "max_value": 10}, "7", 7, "11", "at most 10"),
    ("number", {}, 2.5, 2.5, "seven", "Enter a number"),
    ("money", {"min_value": 0}, "12.5", "12.50", "-1", "at least 0"),
    ("date", {}, "2026-12-06", "2026-12-06", "06.12.2026", "YYYY-MM-DD"),
    ("boolean", {}, "yes", True, "maybe", "yes or no"),
    ("choice", {"choices": choices("gold", "silver")}, "gold", "gold", "bronze", "not one of the choices"),
    ("multi_choice", {"choices": choices("a", "b", "c")}, ["a", "c", "a"], ["a", "c"], ["a", "z"], "not one of"),
    ("url", {}, "https://erp.example/c/1", "https://erp.example/c/1", "not a url", "valid URL"),
    ("email", {}, "billing@acme.example", "billing@acme.example", "billing@", "valid email"),
]


@pytest.mark.parametrize(("kind", "extra", "good", "stored", "bad", "message"), CASES)
def test_each_type_stores_its_form_and_refuses_bad_input(kind, extra, good, stored, bad, message):
    CustomFieldFactory(key="f", type=kind, **extra)
    assert clean_values("crm.contact", {"f": good}, partial=True, existing={}) == {"f": stored}
    with pytest.raises(ValidationError) as exc:
        clean_values("crm.contact", {"f": bad}, partial=True, existing={})
    assert message in " ".join(exc.value.message_dict["f"])


def test_a_staff_user_field_takes_an_active_staff_users_id():
    CustomFieldFactory(key="csm", type="user")
    staff = StaffFactory()
    assert clean_values("crm.contact", {"csm": staff.pk}, partial=True) == {"csm": staff.pk}
    staff.is_active = False
    staff.save()
    with pytest.raises(ValidationError, match="Not an active staff user"):
        clean_values("crm.contact", {"csm": staff.pk}, partial=True)


def test_required_default_unknown_and_clearing():
    CustomFieldFactory(key="region", required=True)
    CustomFieldFactory(key="lang", default="EN")
    with pytest.raises(ValidationError) as exc:
        clean_values("crm.contact", {"nope": 1}, partial=False)
    assert exc.value.message_dict == {"nope": ["Unknown custom field."], "region": ["This field is required."]}
    # A new record starts with the default; a PATCH changes only what it sends; null clears.
    assert clean_values("crm.contact", {"region": "North"}, partial=False) == {"region": "North", "lang": "EN"}
    existing = {"region": "North", "lang": "EN", "archived_key": 1}
    assert clean_values("crm.contact", {"lang": None}, partial=True, existing=existing) == {
        "region": "North",
        "archived_key": 1,
    }


def test_a_retired_choice_stays_on_records_that_have_it_but_is_not_offered():
    CustomFieldFactory(key="tier", type="choice", choices=choices("gold", "old", retired=("old",)))
    assert clean_values("crm.contact", {"tier": "old"}, partial=True, existing={"tier": "old"}) == {"tier": "old"}
    with pytest.raises(ValidationError, match="no longer offered"):
        clean_values("crm.contact", {"tier": "old"}, partial=True, existing={"tier": "gold"})
