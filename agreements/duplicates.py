"""Probable duplicates: finding them before an agreement is created, and the addresses of the
ones merged away.

An agreement is a probable duplicate of a new one when both have exactly the same parties and
either the same signature date, or a very similar title (`titles_similar`). The lookup narrows
by parties first (participation_party_idx: the agreements the first party is in, grouped to
those holding every party and no other), then compares the few titles in Python, so it costs
the same on SQLite and PostgreSQL and never scans every agreement.

Every create path calls `duplicates_check` (through ratification.services.agreement_create, and
the admin's add form): it raises DuplicateSuspected, a ValidationError on the
`confirm_not_duplicate` field carrying the candidates, unless the caller confirmed. Each path
answers in its own way: the API with a 409 and the candidates, the pages with a warning and a
confirm button, the import with a row error, the admin with a form error and a checkbox.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.db.models import Count

from parties.models import Party

from .models import Agreement, AgreementRedirect, Participation

# Words every treaty title is made of: they say nothing about which agreement it is. The
# parties' own names are left out too (titles_similar gets them), so that "Japan and the
# Philippines" against "the Republic of the Philippines and Japan" is no difference.
TITLE_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "between",
        "by",
        "concerning",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "regarding",
        "relating",
        "respecting",
        "the",
        "to",
        "with",
        "agreement",
        "agreements",
        "treaty",
        "convention",
        "protocol",
        "arrangement",
        "exchange",
        "notes",
        "note",
        "memorandum",
        "understanding",
        "government",
        "governments",
        "republic",
        "kingdom",
        "federal",
        "state",
        "states",
        "people's",
        "peoples",
        "democratic",
        "socialist",
        "united",
        "commonwealth",
    ]
)
# Two titles are "very similar" when their distinctive words overlap this much (Jaccard index:
# shared words over all words) ...
SIMILAR_WORDS = 0.8
# ... or when the distinctive words, in order, read almost the same (difflib's ratio, which
# catches a typo or a plural the word sets miss).
SIMILAR_TEXT = 0.9


def title_words(title: str, *, ignore: Iterable[str] = ()) -> list[str]:
    """The distinctive words of a title, in order: case and accents folded, punctuation
    dropped, treaty boilerplate (TITLE_STOPWORDS) and the words in `ignore` left out."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    skip = TITLE_STOPWORDS | set(ignore)
    return [w for w in re.findall(r"[a-z0-9]+", folded) if w not in skip]


def titles_similar(first: str, second: str, *, ignore: Iterable[str] = ()) -> bool:
    """Whether two titles name the same agreement, as far as words can tell.

    Compared on their distinctive words (title_words): similar when the word sets overlap by
    SIMILAR_WORDS or more (Jaccard), or the words in order match by SIMILAR_TEXT or more
    (difflib). Numbers must be the same: "Protocol 2" is not "Protocol 3", nor the 1998
    agreement the 2014 one. Two titles of nothing but boilerplate and party names are similar."""
    ignore = set(ignore)
    a, b = title_words(first, ignore=ignore), title_words(second, ignore=ignore)
    if {w for w in a if w.isdigit()} != {w for w in b if w.isdigit()}:
        return False
    if not a or not b:
        return not a and not b
    set_a, set_b = set(a), set(b)
    if len(set_a & set_b) / len(set_a | set_b) >= SIMILAR_WORDS:
        return True
    return SequenceMatcher(None, " ".join(a), " ".join(b), autojunk=False).ratio() >= SIMILAR_TEXT


def _party_words(parties: Iterable[Party]) -> set[str]:
    words: set[str] = set()
    for party in parties:
        words |= set(title_words(f"{party.name} {party.code}"))
    return words


@dataclass(frozen=True)
class DuplicateCandidate:
    """An existing agreement a new one may duplicate, and why it was picked."""

    slug: str
    title: str
    signed_on: date | None
    same_signature_date: bool
    similar_title: bool

    @property
    def reasons(self) -> list[str]:
        out = []
        if self.same_signature_date:
            out.append("same_parties_and_signature_date")
        if self.similar_title:
            out.append("same_parties_and_similar_title")
        return out

    def describe(self) -> str:
        why = " and ".join(
            text
            for text, applies in (
                ("the same signature date", self.same_signature_date),
                ("a very similar title", self.similar_title),
            )
            if applies
        )
        return f"{self.title} ({self.slug}): the same parties, {why}"


class DuplicateSuspected(ValidationError):
    """Creating this agreement would probably duplicate `candidates`. A ValidationError on the
    `confirm_not_duplicate` field, so that a path that knows nothing of it still answers with a
    field error (never a 500); the paths that know it show the candidates."""

    def __init__(self, candidates: list[DuplicateCandidate]) -> None:
        self.candidates = candidates
        listed = "; ".join(c.describe() for c in candidates)
        super().__init__(
            {
                "confirm_not_duplicate": [
                    f"Probably a duplicate of {listed}. Check it; if it is another agreement, "
                    "confirm that it is not a duplicate."
                ]
            }
        )


def agreements_with_parties(*, parties: list[Party]) -> list[int]:
    """Ids of the agreements whose parties are exactly `parties` (one query, starting from the
    participation_party_idx rows of those parties)."""
    party_ids = sorted({p.pk for p in parties})
    if not party_ids:
        return []
    sharing = (
        Participation.objects.filter(party_id__in=party_ids)
        .values("agreement_id")
        .annotate(shared=Count("pk"))
        .filter(shared=len(party_ids))
        .values("agreement_id")
    )
    return list(
        Agreement.objects.filter(pk__in=sharing)
        .annotate(all_parties=Count("participations"))
        .filter(all_parties=len(party_ids))
        .values_list("pk", flat=True)
    )


def duplicates_find(
    *,
    parties: list[Party],
    title: str,
    signed_on: date | None,
    exclude_ids: Iterable[int] = (),
) -> list[DuplicateCandidate]:
    """Existing agreements that are probably the agreement described: the same parties, and
    the same signature date or a very similar title. Pure: reads only. Oldest first."""
    ids = set(agreements_with_parties(parties=parties)) - set(exclude_ids)
    if not ids:
        return []
    ignore = _party_words(parties)
    found = []
    for slug, other_title, other_signed in (
        Agreement.objects.filter(pk__in=ids)
        .order_by("created_at", "pk")
        .values_list("slug", "title", "signed_on")
    ):
        same_date = signed_on is not None and other_signed == signed_on
        similar = titles_similar(title, other_title, ignore=ignore)
        if same_date or similar:
            found.append(
                DuplicateCandidate(
                    slug=slug,
                    title=other_title,
                    signed_on=other_signed,
                    same_signature_date=same_date,
                    similar_title=similar,
                )
            )
    return found


def duplicates_check(
    *,
    parties: list[Party],
    title: str,
    signed_on: date | None,
    confirm_not_duplicate: bool = False,
) -> None:
    """Raise DuplicateSuspected when the agreement described probably exists already, unless
    the caller confirmed that it does not (`confirm_not_duplicate`)."""
    if confirm_not_duplicate:
        return
    candidates = duplicates_find(parties=parties, title=title, signed_on=signed_on)
    if candidates:
        raise DuplicateSuspected(candidates)


def redirect_target(*, slug: str) -> str | None:
    """The slug of the agreement a merged-away slug now leads to, or None."""
    return (
        AgreementRedirect.objects.filter(slug=slug)
        .values_list("agreement__slug", flat=True)
        .first()
    )


def slug_check_free(*, slug: str) -> None:
    """A merged agreement's slug stays a redirect: a new agreement may not take it."""
    target = redirect_target(slug=slug)
    if target is not None:
        raise ValidationError(
            {
                "slug": f"'{slug}' was the address of an agreement merged into '{target}', and "
                "still leads there; choose another."
            }
        )
