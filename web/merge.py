"""Three-way merge of one record's fields: what an editor loaded (base), what is stored now
(theirs) and what the editor posted (mine).

Pure functions over plain values, so that the rule that matters (never undo someone else's
change in a field the editor did not touch) is tested on its own, without a database. The
conflict page (web/conflicts.py) turns rows and forms into these values and back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What happens to one field."""

    SAME = "same"  # theirs and mine agree: nothing to decide
    THEIRS = "theirs"  # only they changed it: theirs is kept
    MINE = "mine"  # only I changed it: mine is applied
    CHOOSE = "choose"  # both changed it differently (or the base is unknown): the editor picks


class Side(StrEnum):
    THEIRS = "theirs"
    MINE = "mine"


@dataclass(frozen=True)
class FieldMerge:
    name: str
    base: Any  # None when `base_known` is False
    theirs: Any
    mine: Any
    outcome: Outcome
    base_known: bool = True


class PicksMissing(ValueError):
    """Fields that need the editor's pick and have none."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"Pick theirs or mine for: {', '.join(names)}")
        self.names = names


def field_outcome(*, base: Any, theirs: Any, mine: Any, base_known: bool = True) -> Outcome:
    """The outcome for one field. Values are compared with ==, so callers pass values that are
    equal exactly when they mean the same (see conflicts.comparable)."""
    if mine == theirs:
        return Outcome.SAME
    if not base_known:
        # Without the version the editor started from, a difference cannot be attributed to
        # either side; asking is the only safe answer.
        return Outcome.CHOOSE
    if mine == base:
        return Outcome.THEIRS
    if theirs == base:
        return Outcome.MINE
    return Outcome.CHOOSE


def merge(
    *,
    names: Sequence[str],
    base: Mapping[str, Any] | None,
    theirs: Mapping[str, Any],
    mine: Mapping[str, Any],
) -> list[FieldMerge]:
    """Merge `names` field by field, in that order. `base` None: the version the editor loaded
    is unknown, and every field where mine differs from theirs becomes CHOOSE."""
    known = base is not None
    return [
        FieldMerge(
            name=name,
            base=base[name] if base is not None else None,
            theirs=theirs[name],
            mine=mine[name],
            outcome=field_outcome(
                base=base[name] if base is not None else None,
                theirs=theirs[name],
                mine=mine[name],
                base_known=known,
            ),
            base_known=known,
        )
        for name in names
    ]


def sides(merges: Sequence[FieldMerge], picks: Mapping[str, Side]) -> dict[str, Side]:
    """Which side each field takes. `picks` is read only for CHOOSE fields (a pick sent for any
    other field is ignored, so it cannot override the merge); a CHOOSE field without a pick
    raises PicksMissing naming all of them."""
    missing = [m.name for m in merges if m.outcome == Outcome.CHOOSE and m.name not in picks]
    if missing:
        raise PicksMissing(missing)
    out: dict[str, Side] = {}
    for m in merges:
        if m.outcome == Outcome.MINE:
            out[m.name] = Side.MINE
        elif m.outcome == Outcome.CHOOSE:
            out[m.name] = Side(picks[m.name])
        else:  # SAME and THEIRS: theirs (equal to mine when SAME)
            out[m.name] = Side.THEIRS
    return out


def merged_values(merges: Sequence[FieldMerge], picks: Mapping[str, Side]) -> dict[str, Any]:
    """The merged value of every field (see `sides`)."""
    chosen = sides(merges, picks)
    return {m.name: m.mine if chosen[m.name] == Side.MINE else m.theirs for m in merges}
