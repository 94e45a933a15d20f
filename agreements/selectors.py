"""Reads about agreements that more than one caller needs (the API and the pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max

from parties.models import Party

from .models import Participation


@dataclass(frozen=True)
class PartyAgreementCounts:
    by_status: dict[str, int]
    total: int
    last_updated_at: datetime | None  # the latest change to any of them (for the ETag)


def party_agreement_counts(*, party: Party) -> PartyAgreementCounts:
    """How many agreements the party is in, by status: one grouped query, whatever the number."""
    rows = (
        Participation.objects.filter(party=party)
        .values_list("agreement__status")
        .annotate(n=Count("pk"), latest=Max("agreement__updated_at"))
        .order_by()
    )
    by_status = {status: n for status, n, _ in rows}
    latest = [when for _, _, when in rows if when is not None]
    return PartyAgreementCounts(
        by_status=by_status,
        total=sum(by_status.values()),
        last_updated_at=max(latest, default=None),
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
