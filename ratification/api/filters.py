"""The agreement list's filters as this app serves them: agreements.api's, plus the data gaps
(ratification.gaps), which read steps and so cannot live in the agreements app."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from agreements.api.filters import AgreementFilter

from ..gaps import GAP_KINDS, agreements_with_gaps


class AgreementGapFilter(AgreementFilter):
    gap = django_filters.MultipleChoiceFilter(
        choices=[(code, kind.title) for code, kind in GAP_KINDS.items()],
        method="filter_gap",
        help_text="Has this data gap: what the record is missing, as the editors' page "
        "`/gaps/` lists it; repeat for any of several.",
    )

    def filter_gap(self, queryset: QuerySet, name: str, codes: list[str]) -> QuerySet:
        return agreements_with_gaps(queryset, codes=codes, today=timezone.localdate())
