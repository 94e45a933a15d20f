"""Parties to agreements (states and organisations) and their default ratification procedures."""

from django.db import models
from django.db.models import Q


class StepKind(models.TextChoices):
    """The kinds of domestic or international step on the way to being bound (DESIGN.md)."""

    NEGOTIATION_MANDATE = "negotiation_mandate", "Negotiation mandate"
    CABINET_APPROVAL = "cabinet_approval", "Cabinet approval"
    SIGNATURE = "signature", "Signature"
    SUBMISSION_TO_LEGISLATURE = "submission_to_legislature", "Submission to the legislature"
    COMMITTEE_REVIEW = "committee_review", "Committee review"
    LEGISLATIVE_APPROVAL = "legislative_approval", "Legislative approval"
    EXECUTIVE_RATIFICATION = "executive_ratification", "Executive ratification"
    EXCHANGE_OF_NOTES = "exchange_of_notes", "Exchange of notes"
    DEPOSIT_OF_INSTRUMENT = "deposit_of_instrument", "Deposit of instrument"
    PROMULGATION = "promulgation", "Promulgation"
    PROVISIONAL_APPLICATION = "provisional_application", "Provisional application"
    ENTRY_INTO_FORCE = "entry_into_force", "Entry into force"
    SUSPENSION = "suspension", "Suspension"
    TERMINATION_NOTICE = "termination_notice", "Termination notice given"
    NOTICE_SUSPENDED = "notice_suspended", "Termination notice suspended"
    NOTICE_RESUMED = "notice_resumed", "Termination notice resumed"
    NOTICE_WITHDRAWN = "notice_withdrawn", "Termination notice withdrawn"
    WITHDRAWAL = "withdrawal", "Withdrawal"


STEP_KIND_EXPLANATIONS: dict[str, str] = {
    StepKind.NEGOTIATION_MANDATE: "The government authorises its negotiators to negotiate.",
    StepKind.CABINET_APPROVAL: (
        "The cabinet, executive council or president authorises signing or concluding."
    ),
    StepKind.SIGNATURE: "The party signs the text; the signatory and role are recorded.",
    StepKind.SUBMISSION_TO_LEGISLATURE: "The text is laid before parliament or sent to the senate.",
    StepKind.COMMITTEE_REVIEW: "A committee of the legislature reports on or recommends the text.",
    StepKind.LEGISLATIVE_APPROVAL: (
        "A chamber approves or concurs; the body is named and the vote tally kept."
    ),
    StepKind.EXECUTIVE_RATIFICATION: "The head of state or government ratifies.",
    StepKind.EXCHANGE_OF_NOTES: (
        "Diplomatic notes tell the other party that domestic procedures are complete."
    ),
    StepKind.DEPOSIT_OF_INSTRUMENT: "The instrument of ratification is deposited with the depositary.",
    StepKind.PROMULGATION: "The agreement is published in the official gazette.",
    StepKind.PROVISIONAL_APPLICATION: "The party applies the agreement before it enters into force.",
    StepKind.ENTRY_INTO_FORCE: "The agreement is in force for this party.",
    StepKind.SUSPENSION: "The party suspends the operation of the agreement.",
    StepKind.TERMINATION_NOTICE: (
        "The party gives notice that it terminates (denounces) or withdraws from the agreement; "
        "it takes effect after the agreement's notice period, shown as the expected end."
    ),
    StepKind.NOTICE_SUSPENDED: (
        "The party suspends its termination notice: the notice period stops running (a second "
        "suspension extends it). Not a suspension of the agreement, which stays in force."
    ),
    StepKind.NOTICE_RESUMED: (
        "A suspended termination notice runs again, for the days that were left when it was "
        "suspended."
    ),
    StepKind.NOTICE_WITHDRAWN: (
        "The party takes back its termination notice: it never takes effect and the agreement "
        "stays in force."
    ),
    StepKind.WITHDRAWAL: "The party leaves the agreement (it has left, from this date).",
}


class Party(models.Model):
    class Kind(models.TextChoices):
        STATE = "state", "State"
        ORGANISATION = "organisation", "International organisation"

    code = models.CharField(
        max_length=10,
        unique=True,
        help_text="ISO 3166-1 alpha-2 code for a state (JP, PH); a short code for an "
        "organisation (EU, ASEAN). Upper case.",
    )
    name = models.CharField(max_length=200, help_text="Common name, e.g. 'Philippines'.")
    official_name = models.CharField(
        max_length=300, blank=True, help_text="Formal name, e.g. 'Republic of the Philippines'."
    )
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.STATE, help_text="State or organisation."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z][A-Z0-9]{1,9}$"),
                name="party_code_upper_alnum",
                violation_error_message="A party code is 2 to 10 upper-case letters or digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("pages:party_detail", args=[self.code])


class ProcedureStep(models.Model):
    """One step of a party's usual domestic procedure for concluding an agreement.

    Rows with no party form the generic procedure used for any party without one of its own.
    """

    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # reference data owned by the party; steps of agreements are copies
        related_name="procedure_steps",
        help_text="The party whose procedure this is; empty for the generic default procedure.",
    )
    order = models.PositiveSmallIntegerField(help_text="Position in the procedure, from 1.")
    kind = models.CharField(max_length=40, choices=StepKind.choices, help_text="What happens.")
    body = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who does it, e.g. 'House of Councillors', 'Senate', 'Executive Council'.",
    )
    legislative = models.BooleanField(
        default=False,
        help_text="Only needed when the agreement requires the legislature's approval "
        "(a treaty rather than an executive agreement); otherwise created as not required.",
    )
    note = models.CharField(
        max_length=300, blank=True, help_text="E.g. 'two thirds of all senators must concur'."
    )

    class Meta:
        ordering = ["party__code", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "order"],
                condition=Q(party__isnull=False),
                name="procedure_step_unique_order",
            ),
            # NULL never equals NULL in a unique index, so the generic procedure needs its own.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(party__isnull=True),
                name="generic_procedure_step_unique_order",
            ),
        ]

    def __str__(self) -> str:
        owner = self.party.code if self.party_id else "generic"
        body = f" ({self.body})" if self.body else ""
        return f"{owner} {self.order}. {self.get_kind_display()}{body}"


# Legislatures and their calendars ---------------------------------------------------------------
#
# The clocks of issue 15 count days in session or sitting days of a chamber. These rows are the
# data they count on: sessions (and sitting days where a rule counts them), each with its source.
# A future period not yet published is generated from the legislature's usual pattern and marked
# `assumed` with the rule it follows, until an editor replaces it with the published dates.
# Writes go through parties.services (overlap checks under a row lock); reads through
# parties.selectors.

# A period longer than this is a typing error, not a session: the longest entered are whole
# Parliaments (Australia's House lasts at most three years from its first meeting, Constitution
# s. 28); a US session, a UK session or a Diet session is far shorter.
SESSION_MAX_DAYS = 1100


class Legislature(models.Model):
    """A party's legislature (the National Diet, the Congress of the Philippines, …)."""

    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,  # a party with a calendar keeps it: delete the calendar first
        related_name="legislatures",
        help_text="The state whose legislature this is.",
    )
    name = models.CharField(max_length=200, help_text="E.g. 'National Diet', 'Parliament'.")
    calendar_starts_on = models.DateField(
        help_text="First day the calendar covers. Sessions, sitting days and questions such as "
        "'was it in session on …?' must fall between this and the last day covered.",
    )
    calendar_ends_on = models.DateField(
        help_text="Last day the calendar covers (published or assumed); extend it when adding "
        "later periods."
    )
    note = models.TextField(blank=True, help_text="How this legislature's calendar works.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["party__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["party", "name"], name="legislature_unique_name"),
            models.CheckConstraint(
                condition=Q(calendar_ends_on__gte=models.F("calendar_starts_on")),
                name="legislature_calendar_dates_ordered",
                violation_error_message="The calendar cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party.code} {self.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("pages:party_calendar", args=[self.party.code])

    def covers(self, day) -> bool:
        return self.calendar_starts_on <= day <= self.calendar_ends_on


class Chamber(models.Model):
    """One house of a legislature (House of Councillors, Senate, House of Commons, …)."""

    legislature = models.ForeignKey(
        Legislature,
        on_delete=models.CASCADE,  # a chamber means nothing without its legislature
        related_name="chambers",
        help_text="The legislature this chamber belongs to.",
    )
    name = models.CharField(max_length=200, help_text="E.g. 'House of Councillors', 'Senate'.")
    order = models.PositiveSmallIntegerField(default=1, help_text="Position in listings, from 1.")
    counts_sitting_days = models.BooleanField(
        default=False,
        help_text="A rule that applies to this chamber counts sitting days (UK CRaG 21 sitting "
        "days, Australian tabling periods), so its sitting days are recorded.",
    )
    sitting_days_from = models.DateField(
        null=True,
        blank=True,
        help_text="First day of the period whose sitting days are recorded (set by "
        "parties.services.sitting_days_set); empty while none are.",
    )
    sitting_days_until = models.DateField(
        null=True,
        blank=True,
        help_text="Last day of the period whose sitting days are recorded.",
    )

    class Meta:
        ordering = ["legislature", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["legislature", "name"], name="chamber_unique_name"),
            models.CheckConstraint(
                condition=(Q(sitting_days_from__isnull=True) & Q(sitting_days_until__isnull=True))
                | Q(sitting_days_until__gte=models.F("sitting_days_from")),
                name="chamber_sitting_days_range_ordered",
                violation_error_message="The recorded sitting days cannot end before they start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legislature.party.code} {self.name}"


class Session(models.Model):
    """A period when a legislature (or one chamber) is in session, with its source.

    Sessions of the same chamber never overlap, and a session of the whole legislature overlaps
    none of its chambers' (parties.services checks this under a lock on the legislature).
    """

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", "Ordinary session"
        EXTRAORDINARY = "extraordinary", "Extraordinary session"
        SPECIAL = "special", "Special session"
        REGULAR = "regular", "Regular session"
        SITTING_PERIOD = "sitting_period", "Sitting period (between recesses)"
        PARLIAMENTARY = "parliamentary", "Parliamentary session"

    legislature = models.ForeignKey(
        Legislature,
        on_delete=models.CASCADE,  # a calendar's periods go with it
        related_name="sessions",
        help_text="The legislature in session.",
    )
    chamber = models.ForeignKey(
        Chamber,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sessions",
        help_text="Only this chamber is in session; empty when the session is common to the "
        "whole legislature (as the Diet's are).",
    )
    name = models.CharField(max_length=200, help_text="E.g. '217th ordinary session'.")
    kind = models.CharField(max_length=20, choices=Kind.choices, help_text="What kind of session.")
    opens_on = models.DateField(help_text="First day (convened, opened).")
    closes_on = models.DateField(
        null=True,
        blank=True,
        help_text="Last day (closed, adjourned sine die, prorogued, dissolved); empty while no "
        "end is set.",
    )
    source_title = models.CharField(
        max_length=300,
        help_text="Who published these dates, e.g. 'House of Representatives: "
        "sessions of the Diet'.",
    )
    source_url = models.URLField(max_length=500, blank=True, help_text="Where they are published.")
    assumed = models.BooleanField(
        default=False,
        help_text="Not published yet: generated from the legislature's usual pattern. An editor "
        "replaces it with the published dates.",
    )
    assumed_rule = models.CharField(
        max_length=300,
        blank=True,
        help_text="The pattern an assumed period follows, e.g. 'convened in January for 150 days "
        "(Diet Law arts. 2, 10)'.",
    )
    note = models.TextField(blank=True, help_text="E.g. 'extended by 12 days', 'dissolved'.")
    version = models.PositiveIntegerField(
        default=1, help_text="Raised by each change; a form carries it to catch concurrent edits."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["legislature", "opens_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__isnull=True) | Q(closes_on__gte=models.F("opens_on")),
                name="session_dates_ordered",
                violation_error_message="A session cannot close before it opens.",
            ),
            models.CheckConstraint(
                condition=Q(assumed=False) | ~Q(assumed_rule=""),
                name="session_assumed_has_rule",
                violation_error_message="An assumed period says which pattern it follows.",
            ),
        ]
        indexes = [
            # in_session() and the overlap check: a legislature's sessions around a date.
            models.Index(fields=["legislature", "opens_on"], name="session_legislature_opens"),
        ]

    def __str__(self) -> str:
        return f"{self.legislature} {self.name}"

    def overlaps(self, opens_on, closes_on) -> bool:
        """Does this session overlap the period from opens_on to closes_on (None: no end)?

        A session may open on the day the one before it closed: a US Congress's session ends
        at noon on 3 January and the next begins then. Sharing any other day is an overlap.
        """
        if closes_on is not None and self.opens_on > closes_on:
            return False
        if self.closes_on is not None and opens_on > self.closes_on:
            return False
        handover = (self.closes_on == opens_on and self.opens_on < opens_on) or (
            closes_on == self.opens_on and opens_on < self.opens_on
        )
        return not handover


class SittingDay(models.Model):
    """A day a chamber sat, or is planned (or assumed) to sit, where a rule counts them."""

    chamber = models.ForeignKey(
        Chamber,
        on_delete=models.CASCADE,
        related_name="sitting_days",
        help_text="The chamber that sits.",
    )
    date = models.DateField(help_text="The sitting day.")
    source_title = models.CharField(max_length=300, help_text="The published sitting calendar.")
    source_url = models.URLField(max_length=500, blank=True, help_text="Where it is published.")
    assumed = models.BooleanField(
        default=False, help_text="Not published yet: generated from the usual pattern."
    )
    assumed_rule = models.CharField(
        max_length=300, blank=True, help_text="The pattern an assumed day follows."
    )

    class Meta:
        ordering = ["chamber", "date"]
        constraints = [
            models.UniqueConstraint(fields=["chamber", "date"], name="sitting_day_unique"),
            models.CheckConstraint(
                condition=Q(assumed=False) | ~Q(assumed_rule=""),
                name="sitting_day_assumed_has_rule",
                violation_error_message="An assumed sitting day says which pattern it follows.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chamber} {self.date.isoformat()}"


# Constitutional clocks ----------------------------------------------------------------------------
#
# A rule of a party's constitution or law that sets a period running when a step of its procedure
# happens (a treaty laid before Parliament, approved by one House) and says what follows when the
# period runs out. Counted by ratification.clocks over the calendars above.

# Longer than this is a typing error: the rules shipped are 15 to 30 units (plus an extension of
# 21); a year of sitting days would already run for several years of calendar time.
CLOCK_MAX_LENGTH = 365


class ClockUnit(models.TextChoices):
    CALENDAR_DAYS = "calendar_days", "calendar days"
    DAYS_EXCLUDING_RECESS = "days_excluding_recess", "days excluding recess"
    SITTING_DAYS = "sitting_days", "sitting days"


class ClockRule(models.Model):
    """A constitutional or statutory clock on a party's procedure.

    It starts when the party's step `starts_kind`/`starts_body` is completed, and stops when the
    step it waits for (`stops_kind`/`stops_body`, the first such step after the start) happens.
    """

    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,  # a party with clock rules keeps them: delete the rules first
        related_name="clock_rules",
        help_text="The party whose procedure the clock belongs to.",
    )
    label = models.CharField(
        max_length=200,
        help_text="Short name shown with the clock, e.g. 'Constitution Art. 61 with Art. 60(2)'.",
    )
    starts_kind = models.CharField(
        max_length=40,
        choices=StepKind.choices,
        help_text="The kind of step whose completion starts the clock.",
    )
    starts_body = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who acts in that step, as in the procedure, e.g. 'House of Representatives'.",
    )
    stops_kind = models.CharField(
        max_length=40,
        choices=StepKind.choices,
        help_text="The kind of step the clock waits for: once it happens the clock stops.",
    )
    stops_body = models.CharField(
        max_length=200, blank=True, help_text="Who acts in that step, e.g. 'House of Councillors'."
    )
    unit = models.CharField(
        max_length=30, choices=ClockUnit.choices, help_text="What the clock counts."
    )
    legislature = models.ForeignKey(
        Legislature,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # a clock counts on this calendar: remove the rule first
        related_name="clock_rules",
        help_text="Whose calendar counts days excluding recess or sitting days; empty for "
        "calendar days.",
    )
    chamber = models.ForeignKey(
        Chamber,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clock_rules",
        help_text="For sitting days: the chamber whose sitting days count. Empty: days on which "
        "every chamber of the legislature that records sitting days sits (UK CRaG s. 20(9), "
        "Australia's 'joint sitting days'). For days excluding recess: the chamber whose "
        "sessions count (empty: the legislature's).",
    )
    length = models.PositiveSmallIntegerField(help_text="How many units the clock runs.")
    extension_length = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="How many units an extension adds (UK: 21); empty when the rule has none.",
    )
    outcome = models.SlugField(
        max_length=40,
        help_text="A code for what follows when the clock runs out, e.g. "
        "'lower_house_decision_prevails', 'may_ratify', 'binding_action_may_be_taken'.",
    )
    outcome_text = models.CharField(
        max_length=300,
        help_text="The same in plain words, e.g. 'the Government may ratify the treaty'.",
    )
    applies_when = models.CharField(
        max_length=200,
        blank=True,
        help_text="Empty when the rule always applies. Otherwise the condition (e.g. 'a major "
        "treaty action (category 1)'): the rule applies to an agreement only where an editor "
        "records that it does, and then instead of the rule it replaces.",
    )
    replaces = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alternatives",
        help_text="The rule this one applies instead of, where it applies (same start step).",
    )
    source_title = models.CharField(
        max_length=300, help_text="The legal source, e.g. 'Constitution of Japan, Art. 61'."
    )
    source_url = models.URLField(max_length=500, blank=True, help_text="Where it is published.")
    note = models.TextField(blank=True, help_text="How the period is counted, exceptions.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["party__code", "label"]
        constraints = [
            models.UniqueConstraint(fields=["party", "label"], name="clock_rule_unique_label"),
            models.CheckConstraint(
                condition=Q(length__gte=1, length__lte=CLOCK_MAX_LENGTH),
                name="clock_rule_length_plausible",
                violation_error_message=f"A clock runs 1 to {CLOCK_MAX_LENGTH} units.",
            ),
            models.CheckConstraint(
                condition=Q(extension_length__isnull=True)
                | Q(extension_length__gte=1, extension_length__lte=CLOCK_MAX_LENGTH),
                name="clock_rule_extension_plausible",
                violation_error_message=f"An extension adds 1 to {CLOCK_MAX_LENGTH} units.",
            ),
            models.CheckConstraint(
                condition=Q(unit="calendar_days") | Q(legislature__isnull=False),
                name="clock_rule_calendar_named",
                violation_error_message="Days excluding recess and sitting days are counted on "
                "a legislature's calendar: name it.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party.code} {self.label}"
