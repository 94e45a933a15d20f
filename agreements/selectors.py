"""Reads about agreements that more than one caller needs (the API and the pages)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from parties.models import Party

from .listing import party_facet_counts
from .models import Participation


@dataclass(frozen=True)
class PartyAgreementCounts:
    by_status: dict[str, int]
    partners: dict[str, int]  # party code: how many agreements the two share
    total: int


def party_agreement_counts(*, party: Party) -> PartyAgreementCounts:
    """How many agreements the party is in, by status and by partner: read from the kept counts
    (agreements.listing.party_facet_counts), a few dozen rows whatever the number of agreements."""
    by_status: dict[str, int] = {}
    partners: dict[str, int] = {}
    for key, n in party_facet_counts(party.code).items():
        facet, _, value = key.partition(":")
        if facet == "status":
            by_status[value] = n
        elif facet == "party":
            partners[value] = n
    return PartyAgreementCounts(
        by_status=by_status, partners=partners, total=sum(by_status.values())
    )


def party_recent_participations(*, party: Party, limit: int) -> list[Participation]:
    """The party's `limit` most recently signed agreements (unsigned ones last), newest first.

    Two queries: the first picks the rows by the signature date alone, which PostgreSQL reads
    from a narrow covering index (agreements migration 0004) instead of the whole agreement
    table; the second loads just those rows."""
    ids = list(
        Participation.objects.filter(party=party)
        .order_by(F("agreement__signed_on").desc(nulls_last=True), "-agreement_id")
        .values_list("pk", flat=True)[:limit]
    )
    rows = Participation.objects.select_related("agreement").in_bulk(ids)
    return [rows[pk] for pk in ids]
