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
