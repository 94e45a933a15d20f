"""The agreement list's orders, named once for every reader that relies on them.

The API, the pages and the ready structures that walk a list in its order (the party order
table, agreements.listing.PartiesInCommon; the page-order indexes of migration 0008) must agree
on them: a walk that knew only a copy would quietly stop being taken when the list's order
changed."""

from __future__ import annotations

from django.db.models import F

# The API's default: newest signature first, then title and id. PostgreSQL sorts a descending
# NULL first, so unsigned agreements (still in negotiation) open the list.
NEWEST_SIGNED_UNSIGNED_FIRST = ("-signed_on", "title", "pk")

# The pages' "Newest signature first": the same, with unsigned agreements last.
NEWEST_SIGNED_UNSIGNED_LAST = (F("signed_on").desc(nulls_last=True), "title", "pk")
