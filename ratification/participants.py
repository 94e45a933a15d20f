"""The participants table of a multilateral agreement, in the form of the UN Treaty Collection's
status pages: one row per party with its signature, its consent act and the date of deposit, the
agreement's entry into force for it, and how many reservations, declarations and understandings
it made. One builder (`participants_list`) serves the agreement page, its CSV export and the API.

Sorting and filtering are plain data (PARTICIPANT_SORTS, PARTICIPANT_FILTERS): the page's form
and the API's query serializer offer these keys and refuse any other, field by field.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Min

from agreements.models import Agreement, ConsentAct, Participation, StatementKind

from .selectors import PartyStatus, party_statuses_list

# Short markers for the table, as the UN Treaty Collection writes them after a date.
CONSENT_MARKERS = {
    "ratification": "r",
    "acceptance": "A",
    "approval": "AA",
    "accession": "a",
    "succession": "d",
    "definitive_signature": "s",
}


@dataclass(frozen=True)
class Participant:
    """One row of the participants table: the party's status as the depositary records it, and
    its statements (all of them, withdrawn ones included, as the depositary keeps listing them)."""

    status: PartyStatus
    reservations: int
    declarations: int
    understandings: int
    # The first of its statements on the agreement page (the anchor `statement-<id>`), or None.
    first_statement_id: int | None
    # Whether the agreement is in force for the party on the day asked about.
    in_force: bool
    withdrawn: bool

    @property
    def statements(self) -> int:
        return self.reservations + self.declarations + self.understandings

    @property
    def consented(self) -> bool:
        return bool(self.status.consent_act_on or self.status.consent_act) or (
            self.status.progress == "completed"
        )

    @property
    def consent_act_label(self) -> str:
        return ConsentAct(self.status.consent_act).label if self.status.consent_act else ""

    @property
    def consent_marker(self) -> str:
        return CONSENT_MARKERS.get(self.status.consent_act, "")


def _date_key(
    value: Callable[[Participant], date | None],
) -> Callable[[Participant], tuple]:
    # Rows without the date come last whichever way the column is sorted (see _sorted).
    return lambda row: (value(row) is None, value(row) or date.min, row.status.party_name)


# key: (column label, sort key). "-key" sorts the same column the other way.
PARTICIPANT_SORTS: dict[str, tuple[str, Callable[[Participant], tuple]]] = {
    "party": ("Party", lambda row: (False, row.status.party_name, row.status.party_code)),
    "signature": ("Signature", _date_key(lambda row: row.status.signed_on)),
    "consent": ("Consent to be bound", _date_key(lambda row: row.status.consent_act_on)),
    "entry_into_force": ("In force for it", _date_key(lambda row: row.status.entry_into_force_on)),
}
PARTICIPANT_SORT_CHOICES = [
    (f"{sign}{key}", f"{label}, {'descending' if sign else 'ascending'}")
    for key, (label, _) in PARTICIPANT_SORTS.items()
    for sign in ("", "-")
]

# key: (label, test)
PARTICIPANT_FILTERS: dict[str, tuple[str, Callable[[Participant], bool]]] = {
    "consented": ("Consented to be bound", lambda row: row.consented),
    "not_consented": ("Not yet consented", lambda row: not row.consented),
    "in_force": ("In force for the party", lambda row: row.in_force),
    "statements": ("With reservations or declarations", lambda row: row.statements > 0),
    "withdrawn_or_suspended": (
        "Withdrawn or suspended",
        lambda row: row.withdrawn or row.status.suspended,
    ),
}
PARTICIPANT_FILTER_CHOICES = [(key, label) for key, (label, _) in PARTICIPANT_FILTERS.items()]


def _sorted(rows: list[Participant], sort: str) -> list[Participant]:
    descending = sort.startswith("-")
    key = PARTICIPANT_SORTS[sort.removeprefix("-")][1]
    if not descending:
        return sorted(rows, key=key)
    # Reversed on the column only: the rows without a date stay last, and ties stay in the
    # order of the parties' names (sort is stable).
    ordered = sorted(rows, key=key)
    dated = sorted((r for r in ordered if not key(r)[0]), key=lambda r: key(r)[1], reverse=True)
    return dated + [r for r in ordered if key(r)[0]]


def participants_list(
    *,
    agreement: Agreement,
    today: date,
    sort: str = "party",
    only: str = "",
    participations: Iterable[Participation] | None = None,
) -> list[Participant]:
    """The participants table of `agreement` as of `today`, sorted by `sort` (a key of
    PARTICIPANT_SORTS, "-" first for descending) and kept to the rows `only` (a key of
    PARTICIPANT_FILTERS; "" for all). An unknown key raises KeyError: callers validate first.

    Three queries however many parties: the two of party_statuses_list and one that counts the
    statements by party and kind; one when the caller passes the agreement's `participations`
    with their parties and steps fetched (see party_statuses_list)."""
    if sort.removeprefix("-") not in PARTICIPANT_SORTS:
        raise KeyError(sort)
    if only and only not in PARTICIPANT_FILTERS:
        raise KeyError(only)
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[str, int] = {}
    for row in (
        agreement.statements.values("party__code", "kind")
        .annotate(n=Count("pk"), first=Min("pk"))
        .order_by()
    ):
        counts[row["party__code"], row["kind"]] = row["n"]
        code = row["party__code"]
        first[code] = min(first.get(code, row["first"]), row["first"])
    rows = []
    for status in party_statuses_list(agreement=agreement, participations=participations):
        withdrawn = status.withdrawn_on is not None and status.withdrawn_on <= today
        rows.append(
            Participant(
                status=status,
                reservations=counts[status.party_code, StatementKind.RESERVATION],
                declarations=counts[status.party_code, StatementKind.DECLARATION],
                understandings=counts[status.party_code, StatementKind.UNDERSTANDING],
                first_statement_id=first.get(status.party_code),
                in_force=(
                    status.entry_into_force_on is not None
                    and status.entry_into_force_on <= today
                    and not withdrawn
                ),
                withdrawn=withdrawn,
            )
        )
    if only:
        rows = [row for row in rows if PARTICIPANT_FILTERS[only][1](row)]
    return _sorted(rows, sort)


# The CSV export's columns (the page's and the API's): (header, value of a row).
PARTICIPANT_CSV_COLUMNS: list[tuple[str, Callable[[Participant], object]]] = [
    ("party_code", lambda r: r.status.party_code),
    ("party_name", lambda r: r.status.party_name),
    ("signed_on", lambda r: r.status.signed_on),
    ("signature", lambda r: r.status.signature),
    ("consent_act", lambda r: r.status.consent_act),
    ("consent_act_on", lambda r: r.status.consent_act_on),
    ("depositary", lambda r: r.status.depositary),
    ("entry_into_force_on", lambda r: r.status.entry_into_force_on),
    ("entry_into_force_working", lambda r: r.status.entry_into_force_working),
    ("provisionally_applied_on", lambda r: r.status.provisionally_applied_on),
    ("suspended", lambda r: r.status.suspended),
    ("suspended_on", lambda r: r.status.suspended_on),
    ("withdrawal_notified_on", lambda r: r.status.withdrawal_notified_on),
    ("withdrawn_on", lambda r: r.status.withdrawn_on),
    ("in_force", lambda r: r.in_force),
    ("reservations", lambda r: r.reservations),
    ("declarations", lambda r: r.declarations),
    ("understandings", lambda r: r.understandings),
]
