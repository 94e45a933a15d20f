"""The filter sets' form class is made once per class and their filters and fields are not
deep-copied per request (apikit.filtering.FilterSet), and no request sees another's values
through them."""

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
    # Each form has a field dict of its own, holding the kept class's field objects.
    assert bound.form.fields is not other.form.fields
    assert bound.form.fields["party"] is other.form.fields["party"]
    del bound.form.fields["party"]
    assert "party" in other.form.fields and "party" in type(other.form).base_fields
    refused = _filters(AgreementFilter, "party=ZZ")
    assert not refused.is_valid() and "party" in refused.errors
    assert _filters(AgreementFilter, "party=JP").is_valid()


def test_each_filter_set_has_filters_of_its_own(make_agreement):
    make_agreement(slug="jp-ph")
    make_agreement(slug="us-au", party_codes=["US", "AU"])
    declared = AgreementFilter.base_filters["party"]
    first = _filters(AgreementFilter, "party=JP")
    second = _filters(AgreementFilter, "party=US")
    for filter_set in (first, second):
        own = filter_set.filters["party"]
        assert own is not declared and own.parent is filter_set
        assert own.model is Agreement
        assert own.extra is not declared.extra
        # A `method` filter calls the method of its own filter set.
        assert own.filter.f is own
    assert "parent" not in declared.__dict__ and "model" not in declared.__dict__
    # Interleaved, each filters by its own values.
    assert list(second.qs.values_list("slug", flat=True)) == ["us-au"]
    assert list(first.qs.values_list("slug", flat=True)) == ["jp-ph"]
