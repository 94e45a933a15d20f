"""Reads about agreements that more than one caller needs (the API and the pages)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db.models import F
from django.http import QueryDict

from parties.models import Party

from .listing import party_facet_counts
from .models import AgreementStatus, Participation, ProvisionCategory
from .subjects import subject_slug_of_each

# Bounds on what a list's query string may ask for (a search's words, a filter's values).
MAX_SEARCH_LENGTH = 200
MAX_FILTER_VALUES = 10


def is_year(value: str) -> bool:
    """Four ASCII digits (str.isdigit also takes superscripts, which int() refuses)."""
    return len(value) == 4 and value.isascii() and value.isdigit()


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


def list_filter_errors(
    params: QueryDict, *, party_codes: Collection[str] | None = None
) -> dict[str, list[str]]:
    """What an agreement list's filters (ratification.selectors.AgreementFilters.from_query)
    would drop or match nothing with, by parameter, in words: an unknown status, category,
    party or subject, a year that is not one, too many values, too long a search. Empty when
    every value given can be used. `party_codes`: every party's code, where the caller has
    them (the list's agreements.listing.Names), or else they are looked up."""
    errors: dict[str, list[str]] = {}

    def values(name: str) -> list[str]:
        found = list(dict.fromkeys(v.strip() for v in params.getlist(name) if v.strip()))
        if len(found) > MAX_FILTER_VALUES:
            errors.setdefault(name, []).append(f"At most {MAX_FILTER_VALUES} values.")
        return found

    def check(name: str, allowed: Iterable[str], what: str) -> None:
        allowed = set(allowed)
        if bad := [v for v in values(name) if v not in allowed]:
            errors.setdefault(name, []).append(
                f"Unknown {what} {', '.join(repr(v) for v in bad)}; one of "
                f"{', '.join(sorted(allowed))}."
            )

    check("status", AgreementStatus.values, "status")
    check("category", ProvisionCategory.values, "provision category")
    if bad_years := [y for y in values("year") if not is_year(y)]:
        errors.setdefault("year", []).append(
            f"A year is four digits, e.g. 2024; not {', '.join(repr(y) for y in bad_years)}."
        )
    if codes := list(dict.fromkeys(c.upper() for c in values("party"))):
        known = (
            party_codes
            if party_codes is not None
            else set(Party.objects.filter(code__in=codes).values_list("code", flat=True))
        )
        if unknown := [c for c in codes if c not in known]:
            errors.setdefault("party", []).append(
                f"No party with code {', '.join(repr(c) for c in unknown)}."
            )
    if subjects := values("subject"):
        slugs = subject_slug_of_each(subjects)
        if unknown := [v for v in subjects if slugs.get(v) is None]:
            errors.setdefault("subject", []).append(
                f"No subject {', '.join(repr(v) for v in unknown)}."
            )
    if len(" ".join(params.get("q", "").split())) > MAX_SEARCH_LENGTH:
        errors.setdefault("q", []).append(f"At most {MAX_SEARCH_LENGTH} characters.")
    return errors
