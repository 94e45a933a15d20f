"""Ratification steps (each party's domestic procedure for one agreement) and status changes."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agreements.models import Agreement, ConsentAct, Participation, Source
from parties.models import Party, StepKind


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    NOT_REQUIRED = "not_required", "Not required"


STEP_STATUS_EXPLANATIONS: dict[str, str] = {
    StepStatus.PENDING: "Still to happen; no date is set.",
    StepStatus.SCHEDULED: "Set for the date shown, which is still ahead (or just passed).",
    StepStatus.COMPLETED: "Done on the date shown.",
    StepStatus.FAILED: "Attempted and failed, e.g. the chamber voted against.",
    StepStatus.NOT_REQUIRED: "This agreement does not need the step for this party.",
}


# How the pages and the API read a step beyond its stored status. Not statuses (nothing stores
# them): the engine derives "not recorded" (ratification.engine), the date is simply absent.
STEP_READINGS: dict[str, tuple[str, str]] = {
    "not_recorded": (
        "Not recorded",
        "Still open in the record but passed by: a later step of the party happened, or the "
        "agreement is in force and binds the party. The sources consulted do not record this "
        "step, so it is neither next nor overdue.",
    ),
    "date_unknown": (
        "Date not recorded",
        "The step happened (or failed), as its cited source says, on a date the sources do not "
        "give. Nothing guesses it: arithmetic that needs the date says so.",
    ),
}


# The steps on which a consent act other than a definitive signature is recorded (the one that
# hands over or effects the instrument); a definitive signature goes on the signature.
INSTRUMENT_STEP_KINDS = frozenset(
    {StepKind.DEPOSIT_OF_INSTRUMENT, StepKind.EXCHANGE_OF_NOTES, StepKind.EXECUTIVE_RATIFICATION}
)


# A step loaded without its note (.only(), .defer()): whether a save changes it is not known.
_NOTE_NOT_LOADED = object()


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n")


def steps_bound_by_entry_into_force(today) -> Q:
    """Steps the engine reads as "not recorded" because a bilateral agreement in force binds
    their party (ratification.engine.evaluate_party, `in_force`): those of a party that has
    not failed or withdrawn, before the end events. Sweep and pages leave them out of
    "overdue"."""
    from .engine import END_KINDS  # pure, imports no model

    # With no date on the agreement, a party's completed entry-into-force step says it is in
    # force (the engine's `in_force_by_step`).
    eif_step = RatificationStep.objects.filter(
        participation__agreement_id=OuterRef("participation__agreement_id"),
        kind="entry_into_force",
        status="completed",
    ).filter(Q(date__isnull=True) | Q(date__lte=today))
    return (
        Q(participation__agreement__kind="bilateral")
        & (
            Q(participation__agreement__entered_into_force_on__lte=today)
            # In force by its rule (the stored, derived status) or by a party's step.
            | Q(participation__agreement__status="in_force")
            | Q(participation__agreement__entered_into_force_on__isnull=True) & Exists(eif_step)
        )
        & ~Q(participation__progress__in=["failed", "withdrawn"])
        & ~Q(kind__in=sorted(END_KINDS))
    )


class RatificationStep(models.Model):
    participation = models.ForeignKey(
        Participation,
        on_delete=models.CASCADE,  # steps are part of the party's participation
        related_name="steps",
        help_text="The agreement and party this step belongs to.",
    )
    order = models.PositiveSmallIntegerField(
        help_text="Position in the party's procedure for this agreement, from 1."
    )
    kind = models.CharField(max_length=40, choices=StepKind.choices, help_text="What happens.")
    body = models.CharField(
        max_length=200, blank=True, help_text="Who acts, e.g. 'House of Councillors'."
    )
    instrument_kind = models.CharField(
        max_length=30,
        choices=ConsentAct.choices,
        blank=True,
        help_text="The consent act this step records: ratification, acceptance, approval, "
        "accession or succession on a deposit, exchange of notes or executive ratification; "
        "'definitive signature' on a signature that binds without ratification. Empty on a "
        "signature subject to ratification and on every other step.",
    )
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    date = models.DateField(
        null=True,
        blank=True,
        help_text="When it happened (completed, failed) or is set to happen (scheduled). A "
        "completed or failed step without one happened on a date the sources do not give.",
    )
    votes_for = models.PositiveIntegerField(null=True, blank=True, help_text="Votes in favour.")
    votes_against = models.PositiveIntegerField(null=True, blank=True, help_text="Votes against.")
    votes_abstaining = models.PositiveIntegerField(null=True, blank=True, help_text="Abstentions.")
    note = models.TextField(blank=True, help_text="Context, e.g. 'two thirds of all senators'.")
    note_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the note was last written (save() keeps it); empty when there is no note, "
        "or when it was written before this was kept and the history does not say.",
    )
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # the evidence for a recorded step must not disappear
        related_name="steps",
        help_text="Where the step's status and date are confirmed.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="Who last recorded this step.",
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # note_updated_at is a history row's own history_date: no need to keep it twice.
    history = HistoricalRecords(excluded_fields=["updated_at", "note_updated_at"])

    class Meta:
        ordering = ["participation", "order", "id"]
        constraints = [
            # A completed or failed step may lack its date (the sources say that it happened,
            # not when: services require a source then); a scheduled one is nothing without it.
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(date__isnull=False),
                name="step_scheduled_has_date",
                violation_error_message="A scheduled step needs the date it is set for.",
            ),
        ]
        indexes = [
            # The calendar sweep: scheduled steps whose date has passed.
            models.Index(
                fields=["date"],
                condition=Q(status="scheduled"),
                name="step_scheduled_date_idx",
            ),
            # "Bound by entry into force" (steps_bound_by_entry_into_force) asks whether any
            # party's entry-into-force step is completed: without this index that question
            # reads every step, on the home page and in the sweep.
            models.Index(
                fields=["participation"],
                condition=Q(kind="entry_into_force", status="completed"),
                name="step_eif_completed_idx",
            ),
            # Constitutional clocks (ratification.clocks._STARTED, when a rule's started clocks
            # are recomputed): the completed start steps of a kind.
            models.Index(
                fields=["kind", "date"],
                condition=Q(status="completed"),
                name="step_completed_kind_date_idx",
            ),
        ]

    def __str__(self) -> str:
        body = f" ({self.body})" if self.body else ""
        return f"{self.order}. {self.get_kind_display()}{body}: {self.get_status_display()}"

    # When the note was written is a rule about this row alone, so it is kept here rather than in
    # each writer (step_record, step_add, the admin, imports, reverts): whatever saves a changed
    # note moves note_updated_at with it. QuerySet.update() bypasses it; nothing writes notes so.

    def save(self, *args, **kwargs) -> None:
        loaded = getattr(self, "_loaded_note", "")  # a new row: no note before
        # A browser posts a textarea's line ends as CRLF: the same note typed back is no change.
        if loaded is not _NOTE_NOT_LOADED and _lines(self.note) != _lines(loaded):
            self.note_updated_at = timezone.now() if self.note else None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "note" in update_fields:
                kwargs["update_fields"] = {*update_fields, "note_updated_at"}
        super().save(*args, **kwargs)
        self._loaded_note = self.note

    @classmethod
    def from_db(cls, db, field_names, values):
        step = super().from_db(db, field_names, values)
        step._loaded_note = step.__dict__.get("note", _NOTE_NOT_LOADED)
        return step

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "note" in fields:
            self._loaded_note = self.note

    @property
    def date_unknown(self) -> bool:
        """Completed or failed on a date the sources do not give."""
        return self.date is None and self.status in (StepStatus.COMPLETED, StepStatus.FAILED)


class StatusChange(models.Model):
    """A flagged change: what changed, when it took effect and when we noticed.

    Rows are append-only. `dedupe_key` is unique so that a change is recorded exactly once even
    when two workers or two sweeps detect it at the same moment.

    A recorded step outcome that turns out wrong is never edited or deleted: a newer row
    (step corrected / step retracted) says what changed and points at it with `corrects`, and
    readers see the older row as superseded through the reverse accessor `corrected_by`.
    """

    class Kind(models.TextChoices):
        STATUS_CHANGED = "status_changed", "Agreement status changed"
        STEP_COMPLETED = "step_completed", "Step completed"
        STEP_FAILED = "step_failed", "Step failed"
        STEP_CORRECTED = "step_corrected", "Step record corrected"
        STEP_RETRACTED = "step_retracted", "Step record retracted"
        STEP_OVERDUE = "step_overdue", "Step overdue"
        PARTY_COMPLETED = "party_completed", "Party consented to be bound"
        PARTY_PROGRESS = "party_progress", "Party progress changed"
        PARTY_ENTERED_INTO_FORCE = "party_entered_into_force", "In force for a party"
        PARTY_SUSPENDED = "party_suspended", "Party suspended its participation"
        PARTY_WITHDREW = "party_withdrew", "Party withdrew"
        ENTRY_INTO_FORCE_DUE = "entry_into_force_due", "Entry into force date set"
        EXPECTED_END_SET = "expected_end_set", "Expected end date set"
        EXPECTED_END_MOVED = "expected_end_moved", "Expected end date moved"
        EXPECTED_END_CANCELLED = "expected_end_cancelled", "Expected end cancelled"
        STALE = "stale", "Data not reviewed"
        CLOCK_STARTED = "clock_started", "Constitutional clock started"
        CLOCK_EXTENDED = "clock_extended", "Constitutional clock extended"
        CLOCK_RAN_OUT = "clock_ran_out", "Constitutional clock ran out"

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="status_changes"
    )
    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="status_changes",
        help_text="The party concerned, for party and step changes.",
    )
    step = models.ForeignKey(
        RatificationStep,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # the change stays in the history if the step is removed
        related_name="status_changes",
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    from_value = models.CharField(max_length=40, blank=True)
    to_value = models.CharField(max_length=40, blank=True)
    effective_on = models.DateField(
        null=True, blank=True, help_text="When the change took effect in the real world."
    )
    detected_at = models.DateTimeField(
        auto_now_add=True, help_text="When Pact Tracker recorded the change."
    )
    message = models.CharField(max_length=500)
    corrects = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        # History is append-only: a corrected row goes only with its agreement (whose deletion
        # cascades to both rows, which RESTRICT allows), never on its own.
        on_delete=models.RESTRICT,
        related_name="corrected_by",
        editable=False,
        help_text="The earlier change this one corrects or retracts. One-to-one: the unique "
        "index lets a row be superseded once only, even by two workers at the same moment.",
    )
    dedupe_key = models.CharField(
        max_length=200,
        unique=True,
        editable=False,
        help_text="Identifies the real-world change; the unique index makes recording idempotent.",
    )
    fanned_out_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When deliveries to webhook subscribers were created. Rows still empty here are "
        "the outbox: the worker (or, failing it, the sweep) picks them up.",
    )
    followers_notified_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When emails to the people following the agreement, a party or a search were "
        "queued. The second outbox, relayed by the `accounts` app (accounts.notify_followers), "
        "which sits above this one and reads this field; nothing here imports it.",
    )

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [
            # The change feed (?since=) and the Atom feed read newest first.
            models.Index(fields=["detected_at", "id"], name="statuschange_feed_idx"),
            models.Index(fields=["agreement", "-detected_at"], name="statuschange_agreement_idx"),
            # A party page's recent changes (web.selectors.party_profile), uncached.
            models.Index(fields=["party", "-detected_at"], name="statuschange_party_idx"),
            models.Index(
                fields=["id"],
                condition=Q(fanned_out_at__isnull=True),
                name="statuschange_outbox_idx",
            ),
            models.Index(
                fields=["id"],
                condition=Q(followers_notified_at__isnull=True),
                name="statuschange_follow_outbox_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def superseded_as(self) -> str:
        """'retracted' or 'corrected' when a later change supersedes this one, else ''.
        Reads the reverse one-to-one: select it with the row (select_related("corrected_by"))."""
        later = getattr(self, "corrected_by", None)  # absent: the accessor raises, so None
        if later is None:
            return ""
        return "retracted" if later.kind == self.Kind.STEP_RETRACTED else "corrected"


STATUS_CHANGE_KIND_EXPLANATIONS: dict[str, str] = {
    StatusChange.Kind.STATUS_CHANGED: "The agreement's status changed (from → to).",
    StatusChange.Kind.STEP_COMPLETED: "A party completed a step of its procedure.",
    StatusChange.Kind.STEP_FAILED: "A step failed, e.g. a chamber voted against.",
    StatusChange.Kind.STEP_CORRECTED: "A step's recorded outcome, date, vote or body was "
    "corrected; `corrects` names the change it supersedes.",
    StatusChange.Kind.STEP_RETRACTED: "A step's recorded outcome no longer stands (set back "
    "to pending, or the step removed); `corrects` names the change it retracts.",
    StatusChange.Kind.STEP_OVERDUE: "A scheduled step's date passed with no result recorded.",
    StatusChange.Kind.PARTY_COMPLETED: "A party consented to be bound.",
    StatusChange.Kind.PARTY_PROGRESS: "A party's progress changed.",
    StatusChange.Kind.PARTY_ENTERED_INTO_FORCE: "Multilateral: the date the agreement enters "
    "into force for a party was set or moved (the party's own date, with its working).",
    StatusChange.Kind.PARTY_SUSPENDED: "Multilateral: a party suspended its participation (or "
    "the suspension was taken back); the others' status is unchanged.",
    StatusChange.Kind.PARTY_WITHDREW: "Multilateral: a party gave notice of withdrawal, or its "
    "withdrawal took effect (or a correction took it back).",
    StatusChange.Kind.ENTRY_INTO_FORCE_DUE: "The expected entry-into-force date was set or moved.",
    StatusChange.Kind.EXPECTED_END_SET: "A termination notice now gives the date the agreement "
    "is expected to end: it was given, or resumed after a suspension.",
    StatusChange.Kind.EXPECTED_END_MOVED: "The expected end date moved, e.g. the notice's date "
    "or the notice period was corrected.",
    StatusChange.Kind.EXPECTED_END_CANCELLED: "The expected end no longer stands: the notice was "
    "suspended or withdrawn, or its record corrected.",
    StatusChange.Kind.STALE: "Nobody has checked the agreement against its sources for a while.",
    StatusChange.Kind.CLOCK_STARTED: "A step started a constitutional clock (e.g. a treaty laid "
    "before Parliament for 21 sitting days); the effective date is the step's.",
    StatusChange.Kind.CLOCK_EXTENDED: "A constitutional clock was extended (e.g. by 21 sitting "
    "days); the effective date is the extension's.",
    StatusChange.Kind.CLOCK_RAN_OUT: "A constitutional clock ran out before the step it waits for "
    "happened; what follows is in the message. The effective date is the day it ran out.",
}


class Forecast(models.Model):
    """A forecast of when a pending step, or the agreement's entry into force, will happen.

    Derived data, kept ready by forecasting.forecasts (recomputed after writes and once a day):
    never a status, never a fact; pages, the API and feeds label it "forecast". A row with no
    dates says why there is no forecast (`reason`), e.g. too little evidence.
    """

    class Basis(models.TextChoices):
        PARTY = "party", "The same party's record"
        SUBJECT = "subject", "Agreements of the same subject"
        LEGISLATURE = "legislature", "Parties with the same kind of legislature"
        ALL = "all", "Every agreement"
        SCHEDULED = "scheduled", "The date the step is scheduled for"
        RULE = "rule", "The entry-into-force rule applied to the parties' forecasts"
        NONE = "none", "No forecast"

    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.CASCADE,  # derived from the agreement's steps
        related_name="forecasts",
        help_text="The agreement forecast.",
    )
    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # derived data: goes with what it was derived from
        related_name="forecasts",
        help_text="The party whose step is forecast; empty for the agreement's entry into force.",
    )
    step = models.ForeignKey(
        RatificationStep,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="forecasts",
        help_text="The pending step forecast; empty for the agreement's entry into force.",
    )
    likely_on = models.DateField(null=True, blank=True, help_text="Most likely date (median).")
    low_on = models.DateField(null=True, blank=True, help_text="Start of the 80 % range.")
    high_on = models.DateField(null=True, blank=True, help_text="End of the 80 % range.")
    basis = models.CharField(
        max_length=20,
        choices=Basis.choices,
        help_text="Which records the forecast rests on (the fallback level reached).",
    )
    sample_size = models.PositiveIntegerField(
        default=0, help_text="How many recorded durations the forecast rests on."
    )
    evidence = models.JSONField(
        default=dict,
        blank=True,
        help_text="The working: from which step, the durations (agreement, dates, days), the "
        "median, the method, and any calendar adjustment.",
    )
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why there is no forecast, when there is none."
    )
    computed_at = models.DateTimeField(help_text="When the forecast was computed.")

    class Meta:
        ordering = ["agreement", "party", "step__order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["step"], name="forecast_one_per_step"),
            models.UniqueConstraint(
                fields=["agreement"],
                condition=Q(step__isnull=True),
                name="forecast_one_entry_into_force",
            ),
            models.CheckConstraint(
                condition=Q(likely_on__isnull=True)
                | Q(low_on__lte=models.F("likely_on"), high_on__gte=models.F("likely_on")),
                name="forecast_range_holds_likely",
                violation_error_message="The range must hold the most likely date.",
            ),
        ]
        indexes = [
            # A party page's next forecast steps, soonest first (forecasts_for_party).
            models.Index(
                fields=["party", "likely_on"],
                condition=Q(likely_on__isnull=False),
                name="forecast_party_likely_idx",
            ),
        ]

    def __str__(self) -> str:
        what = self.step or "entry into force"
        if self.likely_on is None:
            return f"Forecast for {what}: none ({self.reason})"
        return f"Forecast for {what}: likely {self.likely_on.isoformat()}"

    @property
    def what(self) -> str:
        """What is forecast, in words: "Legislative approval (House of Councillors)", "Entry
        into force"."""
        if self.step_id is None:
            return "Entry into force"
        body = f" ({self.step.body})" if self.step.body else ""
        return f"{self.step.get_kind_display()}{body}"

    @property
    def event_key(self) -> str:
        """Names what is forecast for good (the step, or the agreement's entry into force), not
        this row: a recomputed forecast replaces its calendar event instead of adding one."""
        return f"step-{self.step_id}" if self.step_id else f"eif-{self.agreement_id}"


# Constitutional clocks on one agreement ----------------------------------------------------------


class ClockExtension(models.Model):
    """An extension of a running clock for one party in one agreement (UK: a Minister's
    statement extends the 21 sitting days by 21, CRaG s. 21), with its date and source."""

    participation = models.ForeignKey(
        Participation,
        on_delete=models.CASCADE,  # part of the party's record in the agreement
        related_name="clock_extensions",
        help_text="The agreement and party whose clock is extended.",
    )
    rule = models.ForeignKey(
        "parties.ClockRule",
        on_delete=models.PROTECT,  # the extension means nothing without its rule
        related_name="extensions",
        help_text="The clock rule extended.",
    )
    extended_on = models.DateField(help_text="When the extension was made (e.g. laid).")
    length = models.PositiveSmallIntegerField(
        help_text="How many units it adds (the rule's extension length unless the source says "
        "otherwise)."
    )
    source_title = models.CharField(max_length=300, help_text="Where the extension is recorded.")
    source_url = models.URLField(max_length=500, blank=True, help_text="Its address.")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["participation", "extended_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["participation", "rule", "extended_on"], name="clock_extension_unique"
            ),
            models.CheckConstraint(
                condition=Q(length__gte=1, length__lte=365),
                name="clock_extension_length_plausible",
                violation_error_message="An extension adds 1 to 365 units.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} extended by {self.length} on {self.extended_on.isoformat()}"


class ClockRuleChoice(models.Model):
    """An editor's record that a conditional clock rule (ClockRule.applies_when, e.g. Australia's
    20 sitting days for a major treaty action) applies to this party in this agreement; it then
    counts instead of the rule it replaces."""

    participation = models.ForeignKey(
        Participation,
        on_delete=models.CASCADE,
        related_name="clock_rule_choices",
        help_text="The agreement and party.",
    )
    rule = models.ForeignKey(
        "parties.ClockRule",
        on_delete=models.PROTECT,
        related_name="choices",
        help_text="The conditional rule that applies.",
    )
    source_title = models.CharField(
        max_length=300, help_text="Where it says so (e.g. the National Interest Analysis)."
    )
    source_url = models.URLField(max_length=500, blank=True, help_text="Its address.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participation", "rule"], name="clock_choice_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rule} applies"


class StartedClock(models.Model):
    """A clock rule's start step, completed and dated, whose awaited step has not happened: the
    clocks a party's page and a calendar feed read, without walking all of the party's
    participations for them (tens of thousands for a busy party).

    Kept by ratification.clocks.started_clocks_refresh in every write that recomputes an
    agreement (the services, under its lock) and, for a rule that is added or changed, by
    started_clocks_refresh_rule (ratification.receivers); started_clocks_rebuild recomputes all.
    A step removed, or a rule deleted, takes its rows with it."""

    rule = models.ForeignKey("parties.ClockRule", on_delete=models.CASCADE, related_name="+")
    step = models.ForeignKey(RatificationStep, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "step"], name="started_clock_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} started by step {self.step_id}"
