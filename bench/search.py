"""Wide and short searches (issue 15): a common surname, a 3-letter term, an email domain, the top bar.

The tuned cases in ``run.build_operations`` ('Jovanovic', a person's email, 'Globex') match a
few thousand contacts. These are the ones people type too: a surname shared by thousands, three
letters found in 66,000 names ('son'), everyone at one company's domain, and the same terms in
the search for everything, which answers while the person types. And the opportunity board at
100,000 deals.
"""

from __future__ import annotations

from typing import Any


def search_operations() -> list[Any]:
    from django.db.models import Count, Value
    from django.db.models.functions import Lower, StrIndex, Substr
    from django.urls import reverse

    from bench.run import Operation
    from crm.models import Contact

    contacts = reverse("crm:contact_list")
    search = reverse("search:search")
    ops = [
        Operation("search: surname 'Smith'", f"{contacts}?q=smith", 100),
        Operation("search: 3 letters 'son' (wide)", f"{contacts}?q=son", 100),
        Operation("search: 3 letters 'son', sort -updated", f"{contacts}?q=son&sort=-updated", 100),
    ]
    domain = (
        Contact.objects.exclude(email="")
        .annotate(domain=Lower(Substr("email", StrIndex("email", Value("@")) + 1)))  # type: ignore[operator]
        .values("domain")
        .annotate(n=Count("id"))
        .order_by("-n", "domain")
        .first()
    )
    if domain:
        ops.append(Operation(f"search: email domain '@{domain['domain']}'", f"{contacts}?q=@{domain['domain']}", 100))
    for term in ("smith", "son", "globex"):
        ops.append(Operation(f"search everything: '{term}'", f"{search}?q={term}", 100, htmx=True))
    ops.append(Operation("opportunity board", reverse("crm:opportunity_board"), 150))
    return ops
