"""The three-way merge behind the conflict page: web.merge, on plain values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from web.merge import (
    Outcome,
    PicksMissing,
    Side,
    field_outcome,
    merge,
    merged_values,
    sides,
)

# (base, theirs, mine) -> outcome, with the base known
CASES = [
    pytest.param("a", "a", "a", Outcome.SAME, id="nobody-changed"),
    pytest.param("a", "b", "a", Outcome.THEIRS, id="only-they-changed"),
    pytest.param("a", "a", "b", Outcome.MINE, id="only-i-changed"),
    pytest.param("a", "b", "b", Outcome.SAME, id="both-changed-alike"),
    pytest.param("a", "b", "c", Outcome.CHOOSE, id="both-changed-differently"),
    pytest.param(None, "x", None, Outcome.THEIRS, id="they-filled-an-empty-field"),
    pytest.param("x", None, "x", Outcome.THEIRS, id="they-cleared-a-field"),
    pytest.param("x", "x", None, Outcome.MINE, id="i-cleared-a-field"),
    pytest.param("x", None, "y", Outcome.CHOOSE, id="they-cleared-i-changed"),
]


@pytest.mark.parametrize(("base", "theirs", "mine", "expected"), CASES)
def test_field_outcome(base, theirs, mine, expected):
    assert field_outcome(base=base, theirs=theirs, mine=mine) == expected


@pytest.mark.parametrize(
    ("theirs", "mine", "expected"),
    [
        pytest.param("a", "a", Outcome.SAME, id="equal"),
        pytest.param("a", "b", Outcome.CHOOSE, id="different"),
        pytest.param(None, "b", Outcome.CHOOSE, id="mine-filled"),
    ],
)
def test_without_a_base_every_difference_is_a_choice(theirs, mine, expected):
    assert field_outcome(base=None, theirs=theirs, mine=mine, base_known=False) == expected
    [m] = merge(names=["f"], base=None, theirs={"f": theirs}, mine={"f": mine})
    assert m.outcome == expected and not m.base_known


def test_the_reported_scenario_keeps_both_edits():
    """Editor 1 changed only the body; editor 2, from the older copy, only the note."""
    base = {"body": "National Diet", "note": ""}
    theirs = {"body": "House of Councillors", "note": ""}
    mine = {"body": "National Diet", "note": "By a show of hands"}
    merges = merge(names=["body", "note"], base=base, theirs=theirs, mine=mine)
    assert [m.outcome for m in merges] == [Outcome.THEIRS, Outcome.MINE]
    assert merged_values(merges, {}) == {
        "body": "House of Councillors",
        "note": "By a show of hands",
    }


def test_a_clash_needs_a_pick():
    merges = merge(names=["body"], base={"body": "a"}, theirs={"body": "b"}, mine={"body": "c"})
    with pytest.raises(PicksMissing) as missing:
        merged_values(merges, {})
    assert missing.value.names == ["body"]
    assert merged_values(merges, {"body": Side.THEIRS}) == {"body": "b"}
    assert merged_values(merges, {"body": Side.MINE}) == {"body": "c"}
    assert merged_values(merges, {"body": "mine"}) == {"body": "c"}  # as posted


def test_picks_for_fields_without_a_clash_are_ignored():
    """A pick cannot override the merge: here it would undo their change."""
    merges = merge(
        names=["body", "note"],
        base={"body": "a", "note": "n"},
        theirs={"body": "b", "note": "n"},
        mine={"body": "a", "note": "m"},
    )
    values = merged_values(merges, {"body": Side.MINE, "note": Side.THEIRS})
    assert values == {"body": "b", "note": "m"}
    assert sides(merges, {}) == {"body": Side.THEIRS, "note": Side.MINE}


def test_fields_keep_their_order():
    names = ["z", "a", "m"]
    row = dict.fromkeys(names, 1)
    assert [m.name for m in merge(names=names, base=row, theirs=row, mine=row)] == names


# Properties ---------------------------------------------------------------------------------

NAMES = ["f1", "f2", "f3", "f4"]
VALUES = st.one_of(st.none(), st.sampled_from(["", "a", "b", "c"]), st.integers(0, 2))


@st.composite
def three_versions(draw):
    base = {n: draw(VALUES) for n in NAMES}
    # Each side keeps a field or changes it, independently.
    theirs = {n: draw(st.one_of(st.just(base[n]), VALUES)) for n in NAMES}
    mine = {n: draw(st.one_of(st.just(base[n]), VALUES)) for n in NAMES}
    picks = {n: draw(st.sampled_from(list(Side))) for n in NAMES}
    return base, theirs, mine, picks


@given(three_versions())
def test_merge_never_undoes_their_change_nor_drops_mine(versions):
    base, theirs, mine, picks = versions
    result = merged_values(merge(names=NAMES, base=base, theirs=theirs, mine=mine), picks)
    for n in NAMES:
        if mine[n] == base[n]:  # I did not change it
            assert result[n] == theirs[n]
        elif theirs[n] == base[n]:  # only I changed it
            assert result[n] == mine[n]
        else:  # both changed it: one of the two, never the base
            assert result[n] in (theirs[n], mine[n])


@given(three_versions())
def test_without_a_base_nothing_of_mine_is_applied_unasked(versions):
    _base, theirs, mine, picks = versions
    merges = merge(names=NAMES, base=None, theirs=theirs, mine=mine)
    for m in merges:
        assert (m.outcome == Outcome.CHOOSE) == (mine[m.name] != theirs[m.name])
    all_theirs = dict.fromkeys(NAMES, Side.THEIRS)
    assert merged_values(merges, all_theirs) == theirs
    result = merged_values(merges, picks)
    assert all(result[n] in (theirs[n], mine[n]) for n in NAMES)
