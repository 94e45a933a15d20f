"""The filter sets' form class is made once per class (apikit.filtering.FilterSet), and no
request sees another's values through it."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from agreements.api.filters import AgreementFilter
from agreements.models import Agreement
from ratification.api.filters import AgreementGapFilter

pytestmark = pytest.mark.django_db


def _filters(cls, query: str):
    return cls(QueryDict(query), queryset=Agreement.objects.all())


def test_the_form_class_is_made_once_per_filter_set_class():
    first, second = _filters(AgreementFilter, "status=signed"), _filters(AgreementFilter, "")
    assert type(first.form) is type(second.form)
    # A subclass declares more filters: its own form class, with them.
    gaps = _filters(AgreementGapFilter, "gap=step_undated")
    assert type(gaps.form) is not type(first.form)
    assert "gap" in gaps.form.fields and "gap" not in first.form.fields


def test_a_kept_form_class_shares_no_values_between_filter_sets(make_agreement):
    make_agreement(slug="jp-ph")
    bound = _filters(AgreementFilter, "party=JP&status=signed&q=logistics")
    assert bound.is_valid(), bound.errors
    other = _filters(AgreementFilter, "status=in_force")
    assert other.is_valid(), other.errors
    assert bound.form.cleaned_data["status"] == ["signed"]
    assert other.form.cleaned_data["status"] == ["in_force"]
    assert [party.code for party in bound.form.cleaned_data["party"]] == ["JP"]
    assert not other.form.cleaned_data["party"]
    assert other.form.cleaned_data["q"] == ""
    # Each form has fields of its own, copied from the kept class's.
    assert bound.form.fields["party"] is not other.form.fields["party"]
    refused = _filters(AgreementFilter, "party=ZZ")
    assert not refused.is_valid() and "party" in refused.errors
    assert _filters(AgreementFilter, "party=JP").is_valid()
