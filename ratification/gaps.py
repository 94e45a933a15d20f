"""Data gaps: what the record is missing, for editors to fill (issue 14, item 7).

Each kind of gap is a query, not a stored flag, so a gap closes the moment the write that fills
it commits. A kind says what it is about (a step, an agreement or a party of one agreement),
counts its rows, lists them oldest problem first, and gives the agreement filter the API's
`?gap=` uses (an `EXISTS`, so an agreement never appears twice). Where each row is fixed is the
pages' business (web.gaps), since this layer knows no URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.models import Agreement, AgreementStatus, Participation

from .models import RatificationStep, StepStatus

OUTCOMES = (StepStatus.COMPLETED, StepStatus.FAILED)
RECORDED = (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SCHEDULED)


@dataclass(frozen=True)
class GapKind:
    code: str
    title: str
    explanation: str
    about: str  # "step", "agreement" or "party"
    rows: Callable[[date], QuerySet]
    agreements: Callable[[date], Q]  # a filter on Agreement: has a gap of this kind


def _undated_steps(today: date) -> QuerySet:
    return RatificationStep.objects.filter(status__in=OUTCOMES, date__isnull=True)


def _unsourced_steps(today: date) -> QuerySet:
    return RatificationStep.objects.filter(status__in=OUTCOMES, source__isnull=True)


def _steps_in(rows: Callable[[date], QuerySet]) -> Callable[[date], Q]:
    def agreements(today: date) -> Q:
        return Q(Exists(rows(today).filter(participation__agreement=OuterRef("pk"))))

    return agreements


def _unsourced_agreements_q(today: date) -> Q:
    return ~Q(Exists(Agreement.sources.through.objects.filter(agreement=OuterRef("pk"))))


def _in_force_undated_q(today: date) -> Q:
    return Q(status=AgreementStatus.IN_FORCE, entered_into_force_on__isnull=True)


def _stale_q(today: date) -> Q:
    before = today - settings.STALE_AFTER
    return Q(reviewed_on__lt=before) | Q(reviewed_on__isnull=True, created_at__date__lt=before)


def _silent_parties(today: date) -> QuerySet:
    """Parties with nothing recorded: no step completed, failed or scheduled, in an agreement
    past negotiation (before signature there is nothing to record yet)."""
    recorded = RatificationStep.objects.filter(participation=OuterRef("pk"), status__in=RECORDED)
    return Participation.objects.exclude(
        agreement__status=AgreementStatus.UNDER_NEGOTIATION
    ).filter(~Q(Exists(recorded)))


def _same_parties_and_date_q(today: date) -> Q:
    """Another agreement has the same signature date and exactly the same parties: the strong
    sign of a probable duplicate (agreements.duplicates; the title comparison runs on create,
    in Python, and is not repeated over the whole table here). Read from the `other`
    agreement's subquery: neither has a party the other lacks."""
    this_lacks = Participation.objects.filter(agreement=OuterRef(OuterRef("pk"))).exclude(
        party_id__in=Participation.objects.filter(agreement=OuterRef(OuterRef("pk"))).values(
            "party_id"
        )
    )
    other_lacks = Participation.objects.filter(agreement=OuterRef("pk")).exclude(
        party_id__in=Participation.objects.filter(
            agreement=OuterRef(OuterRef(OuterRef("pk")))
        ).values("party_id")
    )
    other = (
        Agreement.objects.filter(signed_on=OuterRef("signed_on"))
        .exclude(pk=OuterRef("pk"))
        .filter(~Exists(this_lacks), ~Exists(other_lacks))
    )
    return Q(signed_on__isnull=False) & Q(Exists(other))


def _agreement_rows(q: Callable[[date], Q]) -> Callable[[date], QuerySet]:
    return lambda today: Agreement.objects.filter(q(today))


GAP_KINDS: dict[str, GapKind] = {
    kind.code: kind
    for kind in (
        GapKind(
            "step_undated",
            "Steps recorded without their date",
            "Completed or failed, as their source says, on a day no source gives. Fill the date "
            "when a source gives it.",
            "step",
            _undated_steps,
            _steps_in(_undated_steps),
        ),
        GapKind(
            "step_unsourced",
            "Steps recorded without a source",
            "An outcome nobody can check: cite the source that confirms it.",
            "step",
            _unsourced_steps,
            _steps_in(_unsourced_steps),
        ),
        GapKind(
            "agreement_unsourced",
            "Agreements without a source",
            "Nothing on the agreement itself says where its facts come from.",
            "agreement",
            _agreement_rows(_unsourced_agreements_q),
            _unsourced_agreements_q,
        ),
        GapKind(
            "in_force_undated",
            "In force without an entry-into-force date",
            "In force by its rule, but the date it entered into force is not recorded.",
            "agreement",
            _agreement_rows(_in_force_undated_q),
            _in_force_undated_q,
        ),
        GapKind(
            "party_unrecorded",
            "Parties with no step recorded",
            "A party to a signed (or later) agreement none of whose steps is recorded.",
            "party",
            _silent_parties,
            lambda today: Q(Exists(_silent_parties(today).filter(agreement=OuterRef("pk")))),
        ),
        GapKind(
            "probable_duplicate",
            "Probable duplicates",
            "Another agreement has exactly the same parties and the same signature date. Merge "
            "them if they are one agreement.",
            "agreement",
            _agreement_rows(_same_parties_and_date_q),
            _same_parties_and_date_q,
        ),
        GapKind(
            "review_stale",
            "Not reviewed recently",
            "Nobody has checked these against their sources within the stale limit "
            "(STALE_AFTER_DAYS).",
            "agreement",
            _agreement_rows(_stale_q),
            _stale_q,
        ),
    )
}

# The order each kind's rows are listed in: the oldest problem first, then a stable tie-break.
_ORDER = {
    "step": ("participation__agreement__title", "participation__party__code", "order", "pk"),
    "agreement": ("title", "pk"),
    "party": ("agreement__title", "party__code", "pk"),
}
_RELATED = {
    "step": ("participation__agreement", "participation__party", "source"),
    "agreement": (),
    "party": ("agreement", "party"),
}


def gap_rows(*, code: str, today: date) -> QuerySet:
    """The rows with this gap, ready to list (related rows selected, ordered)."""
    kind = GAP_KINDS[code]
    rows = kind.rows(today).order_by(*_ORDER[kind.about])
    return rows.select_related(*_RELATED[kind.about]) if _RELATED[kind.about] else rows


def gap_counts(*, today: date) -> dict[str, int]:
    """How many rows have each gap: one COUNT per kind."""
    return {code: kind.rows(today).count() for code, kind in GAP_KINDS.items()}


def agreements_with_gaps(queryset: QuerySet, *, codes: list[str], today: date) -> QuerySet:
    """`queryset` (of Agreement) narrowed to those with any of these gaps."""
    condition = Q()
    for code in codes:
        condition |= GAP_KINDS[code].agreements(today)
    return queryset.filter(condition)
