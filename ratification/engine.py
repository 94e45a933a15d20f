"""The status engine: a pure function from an agreement's facts and steps (and today) to its status.

Nothing here touches the database, so it can be tested exhaustively. `services.py` loads the
facts, calls `evaluate()` and stores what it returns.

Rules, in the order they are applied:

* A party's steps are split into *consent* steps (everything up to and including ratification,
  exchange of notes, deposit), *in-force* steps (provisional application, promulgation, entry into
  force) and *end* events (suspension, termination notice, withdrawal). Promulgation is not
  consent: a party is bound from its notification, and publication often comes after.
* A consent step that failed makes the party `failed`, unless a later step of the same kind (a
  second vote) exists that has not failed. `not_required` steps are ignored.
* A party is `completed` when every remaining consent step is completed (at least one of them),
  or once a completed step records its consent act (`instrument_kind`: an acceding party never
  signed, so its open signature step is passed by),
  `in_progress` when some are, `not_started` otherwise, and `withdrawn` after a completed withdrawal.
* A completed or failed step may have no date: the sources say it happened, not when. It counts as
  happened; arithmetic that needs its date says that the date is not recorded instead of guessing.
* An open step earlier in the procedure than one that happened was passed by: it is "not
  recorded", never "next" (an agreement created as signed has its cabinet approval pending).
* In force means bound: once a bilateral agreement's recorded entry-into-force date has come (or,
  with no date recorded, a party's entry-into-force step is completed), both parties are bound (`completed`), whatever steps were recorded; the open ones are "not
  recorded", not next, not overdue. (A multilateral agreement binds only the parties that
  consented, so nothing is inferred there.)
* The agreement is `terminated` once its end date has passed, or (bilateral) after a party's
  completed withdrawal, or (bilateral, no end date recorded) once the expected end a party's
  termination notice gives has come. A notice takes effect after the agreement's notice period
  and can be suspended, resumed or withdrawn (`notices.py` holds those rules and the working);
  a withdrawn or suspended notice ends nothing. A recorded end date takes precedence.
* It is `suspended` after a completed suspension; `in_force` once its recorded or expected
  entry-into-force date has been reached with enough parties bound; `ratified` when enough parties
  are bound but that date is ahead or unknown; `signed` once signed; else `under_negotiation`.
* Enough parties: every party that has not withdrawn, or for the "Nth" rules, N; for the group
  rule, the number each group requires.

Multilateral agreements (each party has its own dates; `_party_dates` adds them):

* Entry into force for a party: its own completed entry-into-force step when one is dated (the
  text gave that party its own date); otherwise an *original* party (consented by the instrument
  that brought the agreement into force, or by the agreement's date when that was recorded
  rather than derived) has the agreement's date, and a *later* party its own deposit plus
  `eif_late_days` (or the rule's N days when no separate number is recorded), never before the
  agreement's date. A party whose consent is undated gets no date.
* Suspension and withdrawal are the party's own: a completed suspension suspends that party's
  participation only, and the agreement is `suspended` only when every party still in it has
  suspended. A withdrawal takes effect on its completed step's date, or when the party's
  termination notice takes effect (notices.party_notice); the party is then `withdrawn`, and the
  agreement ends only when every party has withdrawn.
* Provisional application: a party's completed provisional-application step is shown with its
  date; it changes no status.
* The consent act (ratification, acceptance, approval, accession, succession, definitive
  signature) is the instrument kind on the party's completed consent step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import NamedTuple

from . import notices

CONSENT = "consent"
IN_FORCE = "in_force"
END = "end"

END_KINDS = frozenset({"suspension", "withdrawal"}) | notices.NOTICE_KINDS
# Promulgation (publication in the official gazette) gives the agreement domestic effect; the
# party consented when it notified or deposited, which publication often follows by weeks.
IN_FORCE_KINDS = frozenset({"provisional_application", "promulgation", "entry_into_force"})

# Progress of an agreement's status, for "never goes backwards" checks; suspended and terminated
# are outside the ladder because only an end event leads there.
STATUS_RANK = {"under_negotiation": 0, "signed": 1, "ratified": 2, "in_force": 3}


def step_phase(kind: str) -> str:
    if kind in END_KINDS:
        return END
    if kind in IN_FORCE_KINDS:
        return IN_FORCE
    return CONSENT


@dataclass(frozen=True)
class StepFacts:
    order: int
    kind: str
    status: str
    date: date | None = None
    body: str = ""
    id: int | None = None
    # The consent act this step records (CONSENT_ACTS), on the deposit, exchange or ratification
    # step, or "definitive_signature" on a signature; empty for every other step.
    instrument_kind: str = ""


@dataclass(frozen=True)
class PartyFacts:
    code: str
    steps: tuple[StepFacts, ...] = ()
    name: str = ""  # for explanations; the code when empty


@dataclass(frozen=True)
class AgreementFacts:
    kind: str = "bilateral"
    signed_on: date | None = None
    eif_rule: str = ""
    eif_days: int | None = None
    eif_fixed_on: date | None = None
    eif_ratifications_required: int | None = None
    entered_into_force_on: date | None = None
    ended_on: date | None = None
    parties: tuple[PartyFacts, ...] = ()
    notice_period_days: int | None = None
    notice_period_months: int | None = None
    # For a party that consents after the agreement entered into force: in force for it this
    # many days after its own instrument; None falls back to the rule's eif_days.
    eif_late_days: int | None = None
    # The group rule: (group name, instruments required, member codes) for each group.
    eif_groups: tuple[tuple[str, int, tuple[str, ...]], ...] = ()


# The acts by which a party consents to be bound (UN Treaty Collection's vocabulary), and which of
# them presuppose the party's signature (Vienna Convention on the Law of Treaties, Art. 14-15).
CONSENT_ACTS = (
    "ratification",
    "acceptance",
    "approval",
    "accession",
    "succession",
    "definitive_signature",
)
ACTS_AFTER_SIGNATURE = frozenset({"ratification", "acceptance", "approval"})


@dataclass(frozen=True)
class PartyResult:
    code: str
    progress: str
    consented_on: date | None
    next_step: StepFacts | None
    overdue_steps: tuple[StepFacts, ...] = ()
    steps_done: int = 0
    steps_required: int = 0
    # Open steps that are not next: passed by a later step that happened, or (bound_by_entry_
    # into_force) never recorded for a party the agreement binds.
    unrecorded_steps: tuple[StepFacts, ...] = ()
    # Completed, but the date of the step that completed it is not recorded (consented_on None).
    consent_date_unknown: bool = False
    # Bound because the agreement entered into force, not because its steps were recorded.
    bound_by_entry_into_force: bool = False
    # The party's own dates (_party_dates): entry into force for it and how it follows, its
    # consent act, provisional application, suspension and withdrawal.
    entry_into_force_on: date | None = None
    entry_into_force_working: str = ""
    consent_act: str = ""
    consent_act_on: date | None = None
    provisionally_applied_on: date | None = None
    suspended: bool = False
    suspended_on: date | None = None
    withdrawal_notified_on: date | None = None
    withdrawn_on: date | None = None  # when the withdrawal takes (or took) effect
    withdrawal_working: str = ""


@dataclass(frozen=True)
class Result:
    status: str
    status_since: date | None
    expected_entry_into_force_on: date | None
    entry_into_force_explanation: str
    parties: dict[str, PartyResult] = field(default_factory=dict)
    # When the parties' termination notices end the agreement (bilateral), and how.
    expected_end_on: date | None = None
    end_explanation: str = ""


def _happened(step: StepFacts, today: date) -> bool:
    """A completed step counts from its date; one the sources do not date counts at once."""
    return step.status == "completed" and (step.date is None or step.date <= today)


def _live_consent_steps(steps: tuple[StepFacts, ...]) -> list[StepFacts]:
    """Consent steps that matter: not `not_required`, and not a failure later retried."""
    consent = [s for s in steps if step_phase(s.kind) == CONSENT and s.status != "not_required"]
    live = []
    for step in consent:
        retried = step.status == "failed" and any(
            later.kind == step.kind and later.order > step.order and later.status != "failed"
            for later in consent
        )
        if not retried:
            live.append(step)
    return live


def evaluate_party(party: PartyFacts, today: date, in_force: bool = False) -> PartyResult:
    """One party's progress. `in_force`: a bilateral agreement it belongs to has entered into
    force (recorded date reached), so the party is bound whatever its steps say."""
    steps = tuple(sorted(party.steps, key=lambda s: s.order))
    live = _live_consent_steps(steps)
    done = [s for s in live if _happened(s, today)]
    overdue = tuple(
        s for s in steps if s.status == "scheduled" and s.date is not None and s.date < today
    )
    # A pending step before the last one that happened was passed by: not recorded, not next.
    last_happened = max((s.order for s in steps if _happened(s, today)), default=0)
    unrecorded = tuple(s for s in steps if s.status == "pending" and s.order < last_happened)
    next_step = next(
        (s for s in steps if s.status in ("pending", "scheduled") and s not in unrecorded), None
    )
    consented_on = None
    consent_date_unknown = False

    # A consent act recorded (an instrument deposited, a definitive signature) is the consent:
    # steps of the party still open are passed by (an acceding party never signed).
    act = next((s for s in reversed(done) if s.instrument_kind), None)

    if any(s.kind == "withdrawal" and _happened(s, today) for s in steps):
        progress = "withdrawn"
    elif act is not None:
        progress = "completed"
        consented_on, consent_date_unknown = act.date, act.date is None
        unrecorded = tuple(
            s
            for s in steps
            if s.status in ("pending", "scheduled")
            and step_phase(s.kind) == CONSENT
            and s.order < act.order
        )
        next_step = next(
            (s for s in steps if s.status in ("pending", "scheduled") and s not in unrecorded),
            None,
        )
    elif any(s.status == "failed" for s in live):
        progress = "failed"
    elif live and len(done) == len(live):
        progress = "completed"
        # The party consented when its last consent step happened; if the sources do not date
        # that one, the day is unknown (an earlier step's date would be a guess).
        if done[-1].date is None:
            consent_date_unknown = True
        else:
            consented_on = max(s.date for s in done if s.date is not None)
    elif done:
        progress = "in_progress"
    else:
        progress = "not_started"

    bound_by_entry_into_force = in_force and progress in ("not_started", "in_progress")
    if bound_by_entry_into_force:
        progress, consent_date_unknown = "completed", True
    if in_force and progress == "completed":
        # The agreement is in force and binds the party: whatever is still open before the end
        # events was not recorded, and is neither next nor overdue.
        unrecorded = tuple(
            s for s in steps if s.status in ("pending", "scheduled") and step_phase(s.kind) != END
        )
        next_step = next(
            (s for s in steps if s.status in ("pending", "scheduled") and s not in unrecorded),
            None,
        )
        overdue = tuple(s for s in overdue if s not in unrecorded)

    return PartyResult(
        code=party.code,
        progress=progress,
        consented_on=consented_on,
        next_step=next_step,
        overdue_steps=overdue,
        steps_done=len(done),
        # With a consent act recorded, what was done is what was required.
        steps_required=len(done) if act is not None and progress == "completed" else len(live),
        unrecorded_steps=unrecorded,
        consent_date_unknown=consent_date_unknown,
        bound_by_entry_into_force=bound_by_entry_into_force,
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _days_after(start: date, days: int) -> date | None:
    """`days` after `start`, or None when that is past the last date a calendar can hold
    (9999-12-31): an absurd delay is data to show, not a reason to fail."""
    try:
        return start + timedelta(days=days)
    except OverflowError:
        return None


BEYOND_THE_CALENDAR = "after 9999-12-31, so no date is expected"


def _names(codes: list[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(code) or code for code in codes)


class _Expected(NamedTuple):
    """The date the rule gives, how it got there in words an analyst can check, the date of the
    instrument that brought it about (None when not a count of instruments, or unknown), and,
    when the date is unknown only because a bound party's consent is undated, the date by which
    the dated instruments alone bring it about (a count of N, already reached without them)."""

    on: date | None
    working: str
    trigger_on: date | None = None
    latest: date | None = None


def _expected_entry_into_force(facts: AgreementFacts, parties: dict[str, PartyResult]) -> _Expected:
    if facts.entered_into_force_on:
        return _Expected(
            facts.entered_into_force_on,
            f"Entered into force on {facts.entered_into_force_on.isoformat()} (recorded).",
        )
    return _expected_by_rule(facts, parties)


def _expected_by_rule(facts: AgreementFacts, parties: dict[str, PartyResult]) -> _Expected:
    rule, days = facts.eif_rule, facts.eif_days
    names = {p.code: p.name for p in facts.parties}
    active = {code: p for code, p in parties.items() if p.progress != "withdrawn"}
    bound = sorted(
        (p for p in active.values() if p.progress == "completed" and p.consented_on),
        key=lambda p: (p.consented_on, p.code),
    )
    # Bound, but the sources do not date the step that bound them: no arithmetic on a guess.
    undated = sorted(
        code for code, p in active.items() if p.progress == "completed" and not p.consented_on
    )
    waiting = sorted(code for code, p in active.items() if p.progress != "completed")

    def shown(expected: date | None) -> str:
        return expected.isoformat() if expected else BEYOND_THE_CALENDAR

    if rule == "on_signature":
        if facts.signed_on:
            return _Expected(facts.signed_on, f"On signature, {facts.signed_on.isoformat()}.")
        return _Expected(None, "On signature; not yet signed.")
    if rule == "on_date":
        if facts.eif_fixed_on:
            return _Expected(
                facts.eif_fixed_on,
                f"On the fixed date {facts.eif_fixed_on.isoformat()}.",
            )
        return _Expected(None, "On a fixed date that is not recorded.")
    if rule == "days_after_last_notification" and days is not None:
        if waiting or not (bound or undated):
            who = ", ".join(waiting) if waiting else "every party"
            return _Expected(None, f"{days} days after the last notification; waiting for {who}.")
        if undated:
            return _Expected(
                None,
                f"{days} days after the last notification; the date is not recorded for "
                f"{_names(undated, names)}, so no date can be given.",
            )
        last_on = bound[-1].consented_on
        last_codes = ", ".join(p.code for p in bound if p.consented_on == last_on)
        expected = _days_after(last_on, days)
        return _Expected(
            expected,
            f"{days} days after the last notification, {last_on.isoformat()} ({last_codes}) → "
            f"{shown(expected)}.",
            last_on,
        )
    nth_rules = {"days_after_nth_ratification": days, "on_nth_instrument": 0}
    if rule in nth_rules and nth_rules[rule] is not None:
        delay = nth_rules[rule]
        needed = facts.eif_ratifications_required or len(active)
        lead = (
            f"{delay} days after the {_ordinal(needed)} ratification"
            if rule == "days_after_nth_ratification"
            else f"On the {_ordinal(needed)} instrument"
        )
        so_far = len(bound) + len(undated)
        if so_far < needed:
            return _Expected(None, f"{lead}; {so_far} of {needed} so far.")
        if undated:
            # Which ratification was the Nth depends on dates the sources do not give; when the
            # dated ones alone are enough, the Nth came on the Nth of them at the latest.
            working = (
                f"{lead}; {so_far} of {needed} so far, but the date is not recorded "
                f"for {_names(undated, names)}, so no date can be given"
            )
            if len(bound) < needed:
                return _Expected(None, f"{working}.")
            latest = _days_after(bound[needed - 1].consented_on, delay)
            return _Expected(
                None,
                f"{working} exactly; by the dated ones alone, {shown(latest)} at the latest.",
                latest=latest,
            )
        nth = bound[needed - 1]
        expected = _days_after(nth.consented_on, delay)
        if rule == "on_nth_instrument":
            return _Expected(
                expected, f"{lead}, {nth.consented_on.isoformat()} ({nth.code}).", expected
            )
        return _Expected(
            expected,
            f"{lead}, {nth.consented_on.isoformat()} ({nth.code}) → {shown(expected)}.",
            nth.consented_on,
        )
    if rule == "days_after_group_instruments" and days is not None and facts.eif_groups:
        return _expected_by_groups(facts, active, days, names)
    return _Expected(None, "No entry-into-force rule recorded.")


def _expected_by_groups(
    facts: AgreementFacts, active: dict[str, PartyResult], days: int, names: dict[str, str]
) -> _Expected:
    """The group rule: `days` after the last of the deposits each group requires."""
    wanted = " and ".join(f"{required} group-{name}" for name, required, _ in facts.eif_groups)
    lead = f"{days} days after the last of {wanted} deposits"
    counts, undated_codes, nths = [], [], []
    for name, required, members in facts.eif_groups:
        in_group = [active[code] for code in members if code in active]
        bound = sorted(
            (p for p in in_group if p.progress == "completed" and p.consented_on),
            key=lambda p: (p.consented_on, p.code),
        )
        undated = sorted(
            p.code for p in in_group if p.progress == "completed" and not p.consented_on
        )
        counts.append(f"group {name} {len(bound) + len(undated)} of {required}")
        if len(bound) + len(undated) < required:
            continue
        undated_codes.extend(undated)
        if len(bound) >= required:
            nths.append(bound[required - 1])
    if not _groups_satisfied(facts, active):
        return _Expected(None, f"{lead}; {', '.join(counts)} so far.")
    last = max(nths, key=lambda p: (p.consented_on, p.code)) if nths else None
    if undated_codes:
        # As for the Nth ratification: the dated deposits alone may already be enough.
        working = (
            f"{lead}; {', '.join(counts)} so far, but the date is not recorded for "
            f"{_names(sorted(set(undated_codes)), names)}, so no date can be given"
        )
        if len(nths) < len(facts.eif_groups):  # a group reaches its count only undated
            return _Expected(None, f"{working}.")
        latest = _days_after(last.consented_on, days)
        return _Expected(
            None,
            f"{working} exactly; by the dated ones alone, "
            f"{latest.isoformat() if latest else BEYOND_THE_CALENDAR} at the latest.",
            latest=latest,
        )
    expected = _days_after(last.consented_on, days)
    return _Expected(
        expected,
        f"{lead}, {last.consented_on.isoformat()} ({last.code}) → "
        f"{expected.isoformat() if expected else BEYOND_THE_CALENDAR}.",
        last.consented_on,
    )


def _groups_satisfied(facts: AgreementFacts, active: dict[str, PartyResult]) -> bool:
    """Each group has as many bound members as the group rule requires of it."""
    return all(
        sum(1 for code in members if code in active and active[code].progress == "completed")
        >= required
        for _, required, members in facts.eif_groups
    )


def _expected_end(facts: AgreementFacts, today: date) -> tuple[date | None, str]:
    """The end date the termination notices give (notices.expected_end), and its working.

    A recorded end date takes precedence: then no date is expected, and the working says so.
    """
    period = notices.NoticePeriod(days=facts.notice_period_days, months=facts.notice_period_months)
    expected, working = notices.expected_end(
        kind=facts.kind,
        parties=[(p.code, p.steps) for p in facts.parties],
        period=period,
        today=today,
    )
    if facts.ended_on:
        return None, f"Ended on {facts.ended_on.isoformat()} (recorded). {working}"
    return expected, working


def _enough_parties_bound(facts: AgreementFacts, parties: dict[str, PartyResult]) -> bool:
    active = [p for p in parties.values() if p.progress != "withdrawn"]
    if not active:
        return False
    completed = sum(1 for p in active if p.progress == "completed")
    nth_rules = ("days_after_nth_ratification", "on_nth_instrument")
    if facts.eif_rule in nth_rules and facts.eif_ratifications_required:
        return completed >= facts.eif_ratifications_required
    if facts.eif_rule == "days_after_group_instruments" and facts.eif_groups:
        return _groups_satisfied(facts, {p.code: p for p in active})
    return completed == len(active)


def evaluate(facts: AgreementFacts, today: date) -> Result:
    """Derive the agreement's status, each party's progress, the expected entry into force and
    the expected end (from termination notices)."""
    end_on, end_explanation = _expected_end(facts, today)
    result = _evaluate_status(facts, today, end_on)
    return replace(
        result,
        parties=_party_dates(facts, result, today),
        expected_end_on=end_on,
        end_explanation=end_explanation,
    )


# Each party's own dates --------------------------------------------------------------------------


def _notice_period(facts: AgreementFacts) -> notices.NoticePeriod:
    return notices.NoticePeriod(days=facts.notice_period_days, months=facts.notice_period_months)


@dataclass(frozen=True)
class _Exit:
    notified_on: date | None = None
    effective_on: date | None = None
    working: str = ""
    took_effect: bool = False


def _withdrawal(party: PartyFacts, period: notices.NoticePeriod, today: date) -> _Exit:
    """A party's withdrawal: its completed withdrawal step, or its termination notice (and when
    that takes effect: notices.party_notice). Nothing when it gave neither."""
    done = sorted(
        (s for s in party.steps if s.kind == "withdrawal" and _happened(s, today)),
        key=lambda s: s.order,
    )
    notice = notices.party_notice(party.code, party.steps, period, today)
    notified_on = next(
        (
            s.date
            for s in sorted(party.steps, key=lambda s: -s.order)
            if s.kind == notices.NOTICE_GIVEN and _happened(s, today)
        ),
        None,
    )
    if done:
        when = done[0].date
        working = f"Withdrew on {when.isoformat() if when else 'a date the sources do not give'}."
        return _Exit(notified_on, when, working, took_effect=True)
    if notice is None:
        return _Exit()
    effective = notice.takes_effect_on if notice.state == notices.RUNNING else None
    return _Exit(
        notified_on,
        effective,
        notice.working[0].upper() + notice.working[1:],
        took_effect=effective is not None and effective <= today,
    )


def _first_suspension(party: PartyFacts, today: date) -> tuple[bool, date | None]:
    happened = [s for s in party.steps if s.kind == "suspension" and _happened(s, today)]
    dates = [s.date for s in happened if s.date]
    return bool(happened), min(dates) if dates else None


def _all_suspended(
    facts: AgreementFacts, parties: dict[str, PartyResult], today: date
) -> tuple[bool, date | None]:
    """Whether every party still in the agreement has suspended its participation, and when the
    last of them did (None when one of those dates is not recorded)."""
    staying = [p for p in facts.parties if parties[p.code].progress != "withdrawn"]
    if not staying:
        return False, None
    suspensions = [_first_suspension(p, today) for p in staying]
    if not all(happened for happened, _ in suspensions):
        return False, None
    dates = [on for _, on in suspensions]
    return True, (max(dates) if all(dates) else None)  # type: ignore[type-var]


def _consent(party: PartyFacts, result: PartyResult, today: date) -> tuple[bool, date | None]:
    """Whether the party consented to be bound, and on which day (None: not recorded). A party
    that withdrew had consented if its consent steps say so."""
    if result.progress == "completed":
        return True, result.consented_on
    if result.progress != "withdrawn":
        return False, None
    before_exit = evaluate_party(
        replace(party, steps=tuple(s for s in party.steps if step_phase(s.kind) != END)), today
    )
    return before_exit.progress == "completed", before_exit.consented_on


def _party_entry_into_force(
    facts: AgreementFacts,
    party: PartyFacts,
    consented: bool,
    consented_on: date | None,
    agreement_on: date | None,
    trigger_on: date | None,
    today: date,
    in_force: bool = False,
) -> tuple[date | None, str]:
    """When the agreement enters into force for this party, and the working; `in_force`: the
    agreement is, whether or not its date is known."""
    own = sorted(
        (s for s in party.steps if s.kind == "entry_into_force" and _happened(s, today) and s.date),
        key=lambda s: s.order,
    )
    if own:
        return own[0].date, f"{own[0].date.isoformat()} (the party's own entry-into-force step)."
    if not consented:
        return None, "Not yet: the party has not consented to be bound."
    if agreement_on is None and in_force:
        return (
            None,
            "The day the agreement entered into force is not known, so no date can be given.",
        )
    if agreement_on is None:
        return None, "Not yet: the agreement has not entered into force."
    if facts.kind == "bilateral":
        return agreement_on, f"The agreement's date, {agreement_on.isoformat()}."
    if consented_on is None:
        return None, "The date of the party's consent is not recorded, so no date can be given."
    original = consented_on <= (trigger_on or agreement_on)
    if original:
        return agreement_on, (
            f"An original party (consented on {consented_on.isoformat()}): the agreement's "
            f"date, {agreement_on.isoformat()}."
        )
    late_days = facts.eif_late_days if facts.eif_late_days is not None else facts.eif_days
    if late_days is None:
        return None, (
            f"Consented on {consented_on.isoformat()}, after the instruments that brought the "
            "agreement into force; no rule for later parties is recorded."
        )
    own_on = _days_after(consented_on, late_days)
    if own_on is None:
        return None, f"{late_days} days after its own instrument, {BEYOND_THE_CALENDAR}."
    working = f"{late_days} days after its own instrument, {consented_on.isoformat()} → "
    if own_on < agreement_on:
        return agreement_on, (
            f"{working}{own_on.isoformat()}, which is before the agreement's date, so "
            f"{agreement_on.isoformat()}."
        )
    return own_on, f"{working}{own_on.isoformat()}."


def _counted_for_the_rule(
    facts: AgreementFacts, parties: dict[str, PartyResult], today: date
) -> dict[str, PartyResult]:
    """The parties as the entry-into-force rule counts them. Multilateral: a party that
    consented and later withdrew still counts for the instruments that brought the agreement
    into force (a withdrawal does not undo an entry into force), unless its withdrawal took
    effect by the date the rule gives with it counted; then it is left out. Bilateral: as
    they are."""
    if facts.kind == "bilateral":
        return parties
    period = _notice_period(facts)
    exits: dict[str, date | None] = {}
    counted = dict(parties)
    for party in facts.parties:
        current = parties[party.code]
        if current.progress != "withdrawn":
            continue
        consented, consented_on = _consent(party, current, today)
        if consented:
            exits[party.code] = _withdrawal(party, period, today).effective_on
            counted[party.code] = replace(
                current,
                progress="completed",
                consented_on=consented_on,
                consent_date_unknown=consented_on is None,
            )
    if not exits:
        return parties
    expected = _expected_entry_into_force(facts, counted).on
    left_before = [
        code for code, on in exits.items() if expected is None or on is None or on <= expected
    ]
    for code in left_before:
        counted[code] = parties[code]
    return counted


def _party_dates(facts: AgreementFacts, result: Result, today: date) -> dict[str, PartyResult]:
    """Each party's result with its own dates added. Linear in the number of steps."""
    period = _notice_period(facts)
    counted = _counted_for_the_rule(facts, result.parties, today)
    trigger_on = _expected_entry_into_force(facts, counted).trigger_on
    agreement_on = result.expected_entry_into_force_on
    dated: dict[str, PartyResult] = {}
    for party in facts.parties:
        current = result.parties[party.code]
        steps = sorted(party.steps, key=lambda s: s.order)
        happened = [s for s in steps if _happened(s, today)]
        act = next(
            (s for s in reversed(happened) if s.instrument_kind and step_phase(s.kind) == CONSENT),
            None,
        )
        provisional = next((s for s in happened if s.kind == "provisional_application"), None)
        suspended, suspended_on = _first_suspension(party, today)
        exit_ = _withdrawal(party, period, today)
        consented, consented_on = _consent(party, current, today)
        eif_on, eif_working = _party_entry_into_force(
            facts,
            party,
            consented,
            consented_on,
            agreement_on,
            trigger_on,
            today,
            in_force=result.status == "in_force",
        )
        dated[party.code] = replace(
            current,
            entry_into_force_on=eif_on,
            entry_into_force_working=eif_working,
            consent_act=act.instrument_kind if act else "",
            consent_act_on=act.date if act else None,
            provisionally_applied_on=provisional.date if provisional else None,
            suspended=suspended and current.progress != "withdrawn",
            suspended_on=suspended_on,
            withdrawal_notified_on=exit_.notified_on,
            withdrawn_on=exit_.effective_on,
            withdrawal_working=exit_.working,
        )
    return dated


def _evaluate_status(facts: AgreementFacts, today: date, end_on: date | None) -> Result:
    """evaluate()'s status, progress and entry into force; `end_on` is the expected end."""
    all_steps = [s for p in facts.parties for s in p.steps]

    def first_happened(kinds: set[str]) -> tuple[bool, date | None]:
        """Whether a step of these kinds happened, and the first date recorded for one."""
        happened = [s for s in all_steps if s.kind in kinds and _happened(s, today)]
        dates = [s.date for s in happened if s.date]
        return bool(happened), min(dates) if dates else None

    in_force_recorded = bool(facts.entered_into_force_on and facts.entered_into_force_on <= today)
    # A bilateral agreement enters into force for both parties at once: a party's completed
    # entry-into-force step says it did, dated or not, when the agreement's own date is missing.
    eif_step, eif_step_on = (
        first_happened({"entry_into_force"}) if facts.kind == "bilateral" else (False, None)
    )
    in_force_by_step = eif_step and not facts.entered_into_force_on
    binds_all = (in_force_recorded or in_force_by_step) and facts.kind == "bilateral"
    parties = {p.code: evaluate_party(p, today, in_force=binds_all) for p in facts.parties}
    if facts.kind != "bilateral":
        # A party's termination notice that has taken effect takes that party out (bilateral:
        # it ends the agreement, below).
        period = _notice_period(facts)
        for p in facts.parties:
            exit_ = _withdrawal(p, period, today)
            if exit_.took_effect and parties[p.code].progress != "withdrawn":
                parties[p.code] = replace(parties[p.code], progress="withdrawn")
    counted = _counted_for_the_rule(facts, parties, today)
    expected, explanation, _, latest = _expected_entry_into_force(facts, counted)
    if in_force_by_step:
        expected, explanation = (
            eif_step_on,
            (
                f"Entered into force on {eif_step_on.isoformat()} (a party's entry-into-force step)."
                if eif_step_on
                else "Entered into force on a date the sources do not give (a party's "
                "entry-into-force step is recorded without its date)."
            ),
        )

    # Termination: the recorded end date, or in a bilateral agreement one party's exit or its
    # notice taking effect.
    if facts.ended_on and facts.ended_on <= today:
        return Result("terminated", facts.ended_on, expected, explanation, parties)
    if end_on and end_on <= today:
        # A party's withdrawal may have ended it earlier still.
        _, exit_on = first_happened({"withdrawal"}) if facts.kind == "bilateral" else (False, None)
        since = min(end_on, exit_on) if exit_on else end_on
        return Result("terminated", since, expected, explanation, parties)
    if facts.kind == "bilateral":
        exited, exit_on = first_happened({"withdrawal"})
        if exited:
            return Result("terminated", exit_on, expected, explanation, parties)
    elif facts.parties and all(p.progress == "withdrawn" for p in parties.values()):
        _, exit_on = first_happened({"withdrawal"})
        return Result("terminated", exit_on, expected, explanation, parties)

    if facts.kind == "bilateral":
        suspended, suspended_on = first_happened({"suspension"})
    else:
        # One party suspending its participation suspends only that party (_party_dates): the
        # agreement is suspended when every party still in it has suspended.
        suspended, suspended_on = _all_suspended(facts, parties, today)
    if suspended:
        return Result("suspended", suspended_on, expected, explanation, parties)

    if in_force_recorded:
        return Result("in_force", facts.entered_into_force_on, expected, explanation, parties)
    if in_force_by_step:
        return Result("in_force", eif_step_on, expected, explanation, parties)

    bound = _enough_parties_bound(facts, counted)
    # In force by its rule; or, when an undated instrument keeps the day unknown, by the dated
    # instruments alone (status_since unknown).
    by = expected or latest
    if bound and by and by <= today:
        if facts.kind == "bilateral":
            # In force by its rule: in force means bound, as for a recorded date.
            parties = {p.code: evaluate_party(p, today, in_force=True) for p in facts.parties}
        return Result("in_force", expected, expected, explanation, parties)
    if bound:
        consent_dates = [p.consented_on for p in counted.values() if p.consented_on]
        undated = any(p.consent_date_unknown for p in counted.values())
        return Result(
            "ratified",
            # The last party's consent is when it became ratified: unknown if any is undated.
            max(consent_dates) if consent_dates and not undated else None,
            expected,
            explanation,
            parties,
        )

    signed_on = facts.signed_on if facts.signed_on and facts.signed_on <= today else None
    signature_happened, signature_on = first_happened({"signature"})
    if signed_on or signature_happened:
        dates = [d for d in (signed_on, signature_on) if d]
        return Result("signed", min(dates) if dates else None, expected, explanation, parties)
    return Result("under_negotiation", None, expected, explanation, parties)
