"""Agreements and what belongs to them: parties, signatories, provisions, sources, relations.

The agreement's `status`, `expected_entry_into_force_on` and each participation's `progress` are
derived by the status engine (ratification.engine) and stored here, in the same transaction as the
step that changed them, so lists can filter and sort on them without recomputing.
"""

from collections.abc import Collection
from typing import Any

import jsonschema
import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from parties.models import Party

# Longest free text the forms and the API accept. The columns are TextFields with no limit of
# their own: these caps stop one request from storing megabytes that every page would then
# render, and give the editor a message saying how long is too long.
SUMMARY_MAX_LENGTH = 10_000
PROVISION_TEXT_MAX_LENGTH = 20_000
NOTE_MAX_LENGTH = 5_000
# For the editor's forms (web.richtext renders these texts on the pages)...
MARKDOWN_FORM_HELP = (
    "Markdown is accepted: *emphasis*, **bold**, lists, [links](https://example.org). "
    "HTML is shown as typed, not run."
)
# ...and for the API, which gives and takes the source text, never HTML.
MARKDOWN_API_HELP = (
    "Markdown source text as the editor typed it (not HTML); the pages show it rendered and "
    "sanitised. Clients that display it should escape it or render it with their own sanitiser."
)


class KeptJSONField(models.JSONField):
    """A JSONField that the list reads on every row: decoded by orjson, about three times as
    fast as the standard library's decoder (the kept rows of a page of fifty multilateral
    agreements, 96 KB, in 0.45 ms instead of 1.3). The same values: the field holds only
    what agreements.listing writes (objects, strings, small integers, null), which both
    decoders read alike (orjson would read an integer past 64 bits as a float, and no kept row
    has one). With a decoder of its own, or a value orjson cannot read, it reads as JSONField
    does."""

    def from_db_value(self, value, expression, connection):
        if self.decoder is None and isinstance(value, str):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)


class AgreementStatus(models.TextChoices):
    UNDER_NEGOTIATION = "under_negotiation", "Under negotiation"
    SIGNED = "signed", "Signed"
    RATIFIED = "ratified", "Ratified"
    IN_FORCE = "in_force", "In force"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


AGREEMENT_STATUS_EXPLANATIONS: dict[str, str] = {
    AgreementStatus.UNDER_NEGOTIATION: "Being negotiated; no party has signed the text yet.",
    AgreementStatus.SIGNED: (
        "Signed, but at least one party has not yet finished its domestic procedure to be bound."
    ),
    AgreementStatus.RATIFIED: (
        "Every party has consented to be bound; entry into force is still ahead."
    ),
    AgreementStatus.IN_FORCE: "Legally binding and operating between the parties.",
    AgreementStatus.SUSPENDED: "In force, but its operation is suspended for now.",
    AgreementStatus.TERMINATED: (
        "No longer in force: terminated, denounced (a notice took effect) or expired."
    ),
}


class PartyProgress(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    WITHDRAWN = "withdrawn", "Withdrawn"


PARTY_PROGRESS_EXPLANATIONS: dict[str, str] = {
    PartyProgress.NOT_STARTED: "No step of this party's procedure has been completed yet.",
    PartyProgress.IN_PROGRESS: "Some steps are done; the party has not yet consented to be bound.",
    PartyProgress.COMPLETED: (
        "The party has expressed its consent to be bound, or is bound because the (bilateral) "
        "agreement has entered into force."
    ),
    PartyProgress.FAILED: "A step failed, e.g. a chamber voted the agreement down.",
    PartyProgress.WITHDRAWN: "The party has left the agreement.",
}


class EntryIntoForceRule(models.TextChoices):
    UNKNOWN = "", "Not recorded"
    ON_SIGNATURE = "on_signature", "On signature"
    ON_DATE = "on_date", "On a fixed date"
    DAYS_AFTER_LAST_NOTIFICATION = (
        "days_after_last_notification",
        "N days after the last notification",
    )
    DAYS_AFTER_NTH_RATIFICATION = (
        "days_after_nth_ratification",
        "N days after the Nth ratification",
    )
    ON_NTH_INSTRUMENT = "on_nth_instrument", "On the deposit of the Nth instrument"
    DAYS_AFTER_GROUP_INSTRUMENTS = (
        "days_after_group_instruments",
        "N days after the instruments each group requires",
    )


class ConsentAct(models.TextChoices):
    """How a party consents to be bound (UN Treaty Collection, Glossary; Vienna Convention on the
    Law of Treaties, Arts. 11-16). Empty on a step that records no consent act."""

    NONE = "", "None"
    RATIFICATION = "ratification", "Ratification"
    ACCEPTANCE = "acceptance", "Acceptance"
    APPROVAL = "approval", "Approval"
    ACCESSION = "accession", "Accession"
    SUCCESSION = "succession", "Succession"
    DEFINITIVE_SIGNATURE = "definitive_signature", "Definitive signature"


# The JSON Schema of Agreement.eif_groups (the group rule's groups); checked in Agreement.clean,
# so every writer (forms, API, admin, import) gets the same field error.
EIF_GROUPS_SCHEMA = {
    "type": "array",
    "maxItems": 10,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "required", "parties"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40},
            "required": {"type": "integer", "minimum": 1},
            "parties": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "minLength": 1, "maxLength": 10},
            },
        },
    },
}


class ProvisionCategory(models.TextChoices):
    """After the ATOP alliance codebook, extended (DESIGN.md)."""

    MUTUAL_DEFENCE = "mutual_defence", "Mutual defence"
    CONSULTATION = "consultation", "Consultation"
    NON_AGGRESSION = "non_aggression", "Non-aggression"
    NEUTRALITY = "neutrality", "Neutrality"
    LOGISTICS_SUPPORT = "logistics_support", "Logistics support"
    TAX_CUSTOMS_EXEMPTION = "tax_customs_exemption", "Tax and customs exemption"
    JOINT_EXERCISES = "joint_exercises", "Joint exercises"
    STATUS_OF_FORCES = "status_of_forces", "Status of forces / visiting forces"
    BASING_ACCESS = "basing_access", "Basing and access"
    DISASTER_RESPONSE = "disaster_response", "Disaster response"
    PEACEKEEPING = "peacekeeping", "Peacekeeping"
    INFORMATION_SECURITY = "information_security", "Information security"
    MILITARY_AID = "military_aid", "Military aid"
    ECONOMIC_COOPERATION = "economic_cooperation", "Economic cooperation"
    OTHER = "other", "Other"


PROVISION_CATEGORY_EXPLANATIONS: dict[str, str] = {
    ProvisionCategory.MUTUAL_DEFENCE: "Each party will come to the other's defence if attacked.",
    ProvisionCategory.CONSULTATION: "The parties will consult one another in a crisis or regularly.",
    ProvisionCategory.NON_AGGRESSION: "The parties will not attack one another.",
    ProvisionCategory.NEUTRALITY: "A party stays neutral if the other is at war.",
    ProvisionCategory.LOGISTICS_SUPPORT: (
        "Cross-servicing of fuel, ammunition, food, transport and other supplies and services."
    ),
    ProvisionCategory.TAX_CUSTOMS_EXEMPTION: "Exemption from taxes, duties or customs formalities.",
    ProvisionCategory.JOINT_EXERCISES: "Training and exercises carried out together.",
    ProvisionCategory.STATUS_OF_FORCES: (
        "Legal status of one party's forces while in the other's territory."
    ),
    ProvisionCategory.BASING_ACCESS: "Use of bases, facilities or territory by the other party.",
    ProvisionCategory.DISASTER_RESPONSE: "Cooperation in relief after natural or other disasters.",
    ProvisionCategory.PEACEKEEPING: "Cooperation in United Nations or other peace operations.",
    ProvisionCategory.INFORMATION_SECURITY: "Protection of classified information exchanged.",
    ProvisionCategory.MILITARY_AID: "Transfer of equipment, funds or training from one party.",
    ProvisionCategory.ECONOMIC_COOPERATION: "Trade, investment or economic assistance.",
    ProvisionCategory.OTHER: "A provision in none of the categories above.",
}


class RelationKind(models.TextChoices):
    AMENDS = "amends", "Amends"
    SUPERSEDES = "supersedes", "Supersedes"
    IMPLEMENTS = "implements", "Implements"
    RELATED_TO = "related_to", "Related to"


def subject_text_normalise(text: str) -> str:
    """A subject name or alias as stored and compared: lower case, single spaces."""
    return " ".join(text.split()).lower()


class Subject(models.Model):
    """What agreements are about, e.g. 'defence logistics'. One row per subject, whatever its
    spellings: the others are its aliases (SubjectAlias), and input by an alias maps here
    (agreements.services.subjects_resolve)."""

    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="e.g. 'defence-logistics'. Facet keys and list filters use it, so it is fixed "
        "once the subject exists; merge the subject into a new one to change it.",
    )
    name = models.CharField(max_length=120, unique=True, help_text="e.g. 'defence logistics'.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubjectAlias(models.Model):
    """Another name for a subject: a spelling ('defense logistics') or a synonym.

    Names and slugs are unique among aliases here and, checked by the services under the
    vocabulary lock (agreements.services.subject_alias_add), against every subject's name and
    slug too, so an alias never shadows another subject.
    """

    subject = models.ForeignKey(
        Subject,
        on_delete=models.CASCADE,  # an alias means nothing without its subject
        related_name="aliases",
    )
    name = models.CharField(
        max_length=120,
        unique=True,
        help_text="Lower case, single spaces, e.g. 'defense logistics'.",
    )
    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="The name as a slug; input is matched by it, so case, spaces and hyphens "
        "do not matter, and `?subject=defense-logistics` finds the subject.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["subject__name", "name"]
        verbose_name_plural = "subject aliases"

    def __str__(self) -> str:
        return f"{self.name} → {self.subject.name}"


class Source(models.Model):
    """Where a fact comes from. Cited by agreements, signatories, provisions and steps."""

    title = models.CharField(max_length=400, help_text="Title of the document or page.")
    url = models.URLField(max_length=600, blank=True, help_text="Address, if it is online.")
    publisher = models.CharField(
        max_length=200, blank=True, help_text="e.g. 'Ministry of Foreign Affairs of Japan'."
    )
    published_on = models.DateField(null=True, blank=True, help_text="Publication date, if known.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_on", "title"]
        constraints = [
            # Imports upsert sources by address; two rows for one address would split citations.
            models.UniqueConstraint(fields=["url"], condition=~Q(url=""), name="source_unique_url"),
        ]

    def __str__(self) -> str:
        bits = [self.title]
        if self.publisher:
            bits.append(self.publisher)
        if self.published_on:
            bits.append(self.published_on.isoformat())
        return ", ".join(bits)


class Agreement(models.Model):
    class Kind(models.TextChoices):
        BILATERAL = "bilateral", "Bilateral"
        MULTILATERAL = "multilateral", "Multilateral"

    slug = models.SlugField(
        max_length=120, unique=True, help_text="Stable identifier used in addresses and the API."
    )
    title = models.CharField(max_length=500, help_text="Full title of the agreement.")
    short_name = models.CharField(max_length=80, blank=True, help_text="e.g. 'ACSA', 'RAA'.")
    kind = models.CharField(
        max_length=20,
        choices=Kind.choices,
        default=Kind.BILATERAL,
        help_text="Bilateral agreements have exactly two parties.",
    )
    subjects = models.ManyToManyField(
        Subject, blank=True, related_name="agreements", help_text="What the agreement is about."
    )
    summary = models.TextField(blank=True, help_text="A few sentences in plain language.")
    signed_on = models.DateField(
        null=True, blank=True, help_text="Date of signature (the last signature if apart)."
    )
    signed_at = models.CharField(max_length=200, blank=True, help_text="Place of signature.")
    eif_rule = models.CharField(
        "entry-into-force rule",
        max_length=40,
        choices=EntryIntoForceRule.choices,
        blank=True,
        default=EntryIntoForceRule.UNKNOWN,
        help_text="How the entry-into-force date follows from the parties' steps.",
    )
    eif_days = models.PositiveIntegerField(
        "entry-into-force delay (days)",
        null=True,
        blank=True,
        help_text="For the 'N days after …' rules: N.",
    )
    eif_fixed_on = models.DateField(
        "fixed entry-into-force date",
        null=True,
        blank=True,
        help_text="For the 'on a fixed date' rule.",
    )
    eif_ratifications_required = models.PositiveIntegerField(
        "ratifications required",
        null=True,
        blank=True,
        help_text="For multilateral agreements: how many parties must consent before it enters "
        "into force.",
    )
    eif_late_days = models.PositiveIntegerField(
        "entry into force for a later party (days)",
        null=True,
        blank=True,
        help_text="Multilateral: for a party whose instrument comes after the ones that brought "
        "the agreement into force, it enters into force for that party this many days after "
        "its own instrument. Empty: the rule's N days.",
    )
    eif_groups = models.JSONField(
        "groups of parties (group rule)",
        default=list,
        blank=True,
        help_text='For the group rule: [{"name": "A", "required": 6, "parties": ["JP", …]}, …]: '
        "how many instruments each group of parties must deposit.",
    )
    depositary = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who receives the instruments, e.g. 'Secretary-General of the United Nations'.",
    )
    entered_into_force_on = models.DateField(
        null=True, blank=True, help_text="Recorded date of entry into force, once it happened."
    )
    ended_on = models.DateField(
        null=True, blank=True, help_text="Date it was terminated or expired, if it has ended."
    )
    # Treaties say "180 days after notice" or "one year after notice": a count of days, or of
    # calendar months (a year is 12), never both (constraint below).
    notice_period_days = models.PositiveIntegerField(
        "notice period (days)",
        null=True,
        validators=[MinValueValidator(1)],
        blank=True,
        help_text="A termination notice takes effect this many days after it is given, e.g. 180. "
        "Leave empty when the period is in months or not known.",
    )
    notice_period_months = models.PositiveIntegerField(
        "notice period (months)",
        null=True,
        validators=[MinValueValidator(1)],
        blank=True,
        help_text="A termination notice takes effect this many calendar months after it is "
        "given, e.g. 12 for one year. Leave empty when the period is in days or not known.",
    )
    status = models.CharField(
        max_length=20,
        choices=AgreementStatus.choices,
        default=AgreementStatus.UNDER_NEGOTIATION,
        editable=False,
        help_text="Derived by the status engine from the steps and dates; never edited by hand.",
    )
    expected_entry_into_force_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: the date the rule gives, once it can be computed.",
    )
    expected_end_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: the date a termination notice takes effect (bilateral), while one is "
        "running; empty when none is, or when an end date is recorded.",
    )
    reviewed_on = models.DateField(
        null=True,
        blank=True,
        help_text="When an editor last checked the data against the sources; the sweep flags "
        "agreements not reviewed for STALE_AFTER_DAYS.",
    )
    status_since = models.DateField(
        null=True, blank=True, editable=False, help_text="Derived: when the status took effect."
    )
    derived_revision = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Incremented whenever a derived value (status, progress, expected entry into "
        "force) changes; part of each status change's unique key, so a change is recorded once.",
    )
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Incremented on every edit; guards against overwriting a concurrent edit.",
    )
    sources = models.ManyToManyField(
        Source, blank=True, related_name="agreements", help_text="Sources for the agreement."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)  # `updated_since` syncing
    listing = KeptJSONField(
        default=dict,
        editable=False,
        help_text="Kept: what a list row shows beyond the columns (each party's code, progress "
        "and consent date; the subjects' slugs), so a page of rows is one query. Written by "
        "agreements.listing in the writer's transaction.",
    )
    facet_keys = models.JSONField(
        default=list,
        editable=False,
        help_text="Kept: the facet values the agreement counts under ('status:signed', "
        "'party:JP', 'subject:…', 'category:…', 'year:2025'), for facet counts in one pass "
        "and, on PostgreSQL, GIN-indexed filters. Written with `listing`.",
    )

    cache_stamp = models.BigIntegerField(
        default=0,
        editable=False,
        help_text="Moves on whenever anything the agreement's API detail shows changes (on "
        "PostgreSQL, by triggers: ratification migration 0007), so a cached detail is keyed "
        "by it and a write to one agreement leaves the others' cached.",
    )

    history = HistoricalRecords(
        excluded_fields=["updated_at", "listing", "facet_keys", "cache_stamp"]
    )

    class Meta:
        ordering = ["-signed_on", "title"]
        indexes = [
            models.Index(fields=["status", "-signed_on"], name="agreement_status_signed_idx"),
            models.Index(fields=["-signed_on", "title"], name="agreement_default_order_idx"),
            # The pages' newest-signature-first order (unsigned last) within a status: a party's
            # page lists each status's newest (its party filter is a condition on the walk).
            models.Index(
                F("status"),
                F("signed_on").desc(nulls_last=True),
                F("title"),
                name="agreement_status_signed_nl_idx",
            ),
            # The home page's "entering into force", soonest first: the ratified ones still
            # waiting, and the others whose date is ahead (web.selectors, one query each).
            models.Index(
                fields=["expected_entry_into_force_on", "title"],
                name="agreement_eif_ratified_idx",
                condition=Q(entered_into_force_on__isnull=True, status=AgreementStatus.RATIFIED),
            ),
            models.Index(
                fields=["expected_entry_into_force_on", "title"],
                name="agreement_eif_expected_idx",
                condition=Q(entered_into_force_on__isnull=True)
                & ~Q(
                    status__in=[
                        AgreementStatus.RATIFIED,
                        AgreementStatus.SUSPENDED,
                        AgreementStatus.TERMINATED,
                    ]
                ),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(entered_into_force_on__isnull=True)
                | Q(signed_on__isnull=True)
                | Q(entered_into_force_on__gte=F("signed_on")),
                name="agreement_eif_not_before_signature",
                violation_error_message="Entry into force cannot be before signature.",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True)
                | Q(signed_on__isnull=True)
                | Q(ended_on__gte=F("signed_on")),
                name="agreement_end_not_before_signature",
                violation_error_message="The end date cannot be before signature.",
            ),
            models.CheckConstraint(
                condition=~Q(
                    eif_rule__in=[
                        EntryIntoForceRule.DAYS_AFTER_LAST_NOTIFICATION,
                        EntryIntoForceRule.DAYS_AFTER_NTH_RATIFICATION,
                    ]
                )
                | Q(eif_days__isnull=False),
                name="agreement_eif_days_rule_has_days",
                violation_error_message="This entry-into-force rule needs a number of days.",
            ),
            models.CheckConstraint(
                condition=~Q(eif_rule=EntryIntoForceRule.ON_DATE) | Q(eif_fixed_on__isnull=False),
                name="agreement_eif_date_rule_has_date",
                violation_error_message="The 'fixed date' rule needs the date.",
            ),
            models.CheckConstraint(
                condition=Q(notice_period_days__isnull=True) | Q(notice_period_months__isnull=True),
                name="agreement_notice_period_one_unit",
                violation_error_message="Give the notice period in days or in months, not both.",
            ),
            models.CheckConstraint(
                condition=(Q(notice_period_days__isnull=True) | Q(notice_period_days__gte=1))
                & (Q(notice_period_months__isnull=True) | Q(notice_period_months__gte=1)),
                name="agreement_notice_period_positive",
                violation_error_message="A notice period is at least one day or one month.",
            ),
            models.CheckConstraint(
                condition=~Q(eif_rule=EntryIntoForceRule.DAYS_AFTER_NTH_RATIFICATION)
                | Q(eif_ratifications_required__gte=1),
                name="agreement_nth_rule_has_count",
                violation_error_message="The 'Nth ratification' rule needs the number required.",
            ),
            # Added on PostgreSQL only (migration 0013 says why), kept by clean() everywhere.
            models.CheckConstraint(
                condition=~Q(eif_rule=EntryIntoForceRule.ON_NTH_INSTRUMENT)
                | Q(eif_ratifications_required__gte=1),
                name="agreement_nth_instrument_has_count",
                violation_error_message="The 'Nth instrument' rule needs the number required.",
            ),
            models.CheckConstraint(
                condition=~Q(eif_rule=EntryIntoForceRule.DAYS_AFTER_GROUP_INSTRUMENTS)
                | Q(eif_days__isnull=False),
                name="agreement_group_rule_has_days",
                violation_error_message="The group rule needs a number of days.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.short_name})" if self.short_name else self.title

    def get_absolute_url(self) -> str:
        return reverse("pages:agreement_detail", args=[self.slug])

    def clean(self) -> None:
        # The same rule as the constraint agreement_notice_period_one_unit, said on a field (a
        # form shows it next to the input); full_clean then skips the constraint for that field.
        if self.notice_period_days is not None and self.notice_period_months is not None:
            raise ValidationError(
                {"notice_period_months": "Give the notice period in days or in months, not both."}
            )
        errors = eif_rule_errors(
            rule=self.eif_rule,
            days=self.eif_days,
            required=self.eif_ratifications_required,
            groups=self.eif_groups,
        )
        if errors:
            raise ValidationError(errors)

    @property
    def status_explanation(self) -> str:
        return AGREEMENT_STATUS_EXPLANATIONS[self.status]


def eif_rule_errors(
    *,
    rule: str,
    days: int | None,
    required: int | None,
    groups: Any,
    party_codes: Collection[str] | None = None,
) -> dict[str, str]:
    """What is wrong with an entry-into-force rule, field by field (empty when nothing).

    Without `party_codes` only the rule's own shape is checked (Agreement.clean); with them, also
    that it names no more instruments than there are parties and groups only parties
    (agreements.services.agreement_rule_check, which knows the parties)."""
    errors: dict[str, str] = {}
    nth_rules = (
        EntryIntoForceRule.DAYS_AFTER_NTH_RATIFICATION,
        EntryIntoForceRule.ON_NTH_INSTRUMENT,
    )
    # (The Nth-ratification rule's own constraint says the same for that rule.)
    if rule == EntryIntoForceRule.ON_NTH_INSTRUMENT and not required:
        errors["eif_ratifications_required"] = "This rule needs the number of instruments required."
    if rule == EntryIntoForceRule.DAYS_AFTER_GROUP_INSTRUMENTS and days is None:
        errors["eif_days"] = "This entry-into-force rule needs a number of days."
    if groups in (None, ""):
        groups = []
    schema_error = next(
        iter(jsonschema.Draft202012Validator(EIF_GROUPS_SCHEMA).iter_errors(groups)), None
    )
    if schema_error is not None:
        where = "/".join(str(p) for p in schema_error.absolute_path)
        errors["eif_groups"] = f"{where + ': ' if where else ''}{schema_error.message}"
        return errors
    if rule == EntryIntoForceRule.DAYS_AFTER_GROUP_INSTRUMENTS and not groups:
        errors["eif_groups"] = "The group rule needs its groups."
    elif groups and rule != EntryIntoForceRule.DAYS_AFTER_GROUP_INSTRUMENTS:
        errors["eif_groups"] = "Groups are only for the group rule; leave them empty."
    names = [g["name"] for g in groups]
    if len(set(names)) != len(names):
        errors["eif_groups"] = "Each group needs its own name."
    for group in groups:
        if group["required"] > len(group["parties"]):
            errors.setdefault(
                "eif_groups",
                f"Group {group['name']} requires {group['required']} instruments but has "
                f"{len(group['parties'])} parties.",
            )
    if party_codes is None:
        return errors
    codes = set(party_codes)
    if rule in nth_rules and required and required > len(codes):
        errors.setdefault(
            "eif_ratifications_required",
            f"The rule names {required} instruments, but the agreement has {len(codes)} parties.",
        )
    strangers = sorted({c for g in groups for c in g["parties"]} - codes)
    if strangers:
        errors.setdefault(
            "eif_groups", f"{', '.join(strangers)}: named in a group but not a party here."
        )
    return errors


class Participation(models.Model):
    """A party's membership of an agreement, with its own dates and progress."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="participations"
    )
    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,  # a party with agreements cannot vanish from under them
        related_name="participations",
    )
    needs_legislative_approval = models.BooleanField(
        default=True,
        help_text="Whether this party's legislature must approve (a treaty) or not (an executive "
        "agreement). Decides whether its legislative procedure steps are required.",
    )
    progress = models.CharField(
        max_length=20,
        choices=PartyProgress.choices,
        default=PartyProgress.NOT_STARTED,
        editable=False,
        help_text="Derived by the status engine from this party's steps.",
    )
    consented_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: the date of the step that completed the party's consent to be bound.",
    )
    note = models.TextField(blank=True, help_text="Anything an analyst should know.")
    # The party's own dates, derived by the status engine (ratification.engine._party_dates)
    # and stored with `progress`, so the party page and the participants table read columns.
    entered_into_force_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: when the agreement enters (entered) into force for this party.",
    )
    entry_into_force_working = models.CharField(
        max_length=500, blank=True, editable=False, help_text="Derived: how that date follows."
    )
    consent_act = models.CharField(
        max_length=30,
        choices=ConsentAct.choices,
        blank=True,
        editable=False,
        help_text="Derived: the act by which the party consented (its consent step's kind of "
        "instrument).",
    )
    consent_act_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: the date of that act (of deposit, for an instrument deposited).",
    )
    provisionally_applied_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: since when the party applies the agreement provisionally.",
    )
    suspended_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: when the party suspended its participation (empty if not known).",
    )
    suspended = models.BooleanField(
        default=False, editable=False, help_text="Derived: the party's participation is suspended."
    )
    withdrawal_notified_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: when the party gave notice of withdrawal (termination).",
    )
    withdrawn_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="Derived: when its withdrawal takes (took) effect.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "party__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "party"],
                name="participation_party_once",
                violation_error_message="This party is already a party to the agreement.",
            ),
        ]
        indexes = [
            # "agreements of party X": the party filter and the party page start here.
            models.Index(fields=["party", "agreement"], name="participation_party_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.party.code} in {self.agreement.slug}"


class Signatory(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="signatories")
    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        related_name="signatories",
        help_text="Who they signed for.",
    )
    name = models.CharField(max_length=200, help_text="e.g. 'Toshimitsu Motegi'.")
    role = models.CharField(max_length=200, help_text="e.g. 'Minister for Foreign Affairs'.")
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # deleting a source would leave the fact unsupported
        related_name="signatories",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "party__name", "name"]
        verbose_name_plural = "signatories"
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "party", "name"], name="signatory_once_per_party"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.role} ({self.party.code})"


class Provision(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="provisions")
    label = models.CharField(max_length=80, blank=True, help_text="e.g. 'Article 7'.")
    category = models.CharField(
        max_length=40, choices=ProvisionCategory.choices, help_text="What kind of commitment."
    )
    text = models.TextField(help_text="The provision's text or a summary of it.")
    order = models.PositiveSmallIntegerField(default=0, help_text="Position within the agreement.")
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="provisions"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "order", "id"]
        indexes = [
            # The provision_category filter: agreements having a provision of category X.
            models.Index(fields=["category", "agreement"], name="provision_category_idx"),
        ]

    def __str__(self) -> str:
        label = f"{self.label}: " if self.label else ""
        return f"{label}{self.get_category_display()} ({self.agreement.slug})"


class StatementKind(models.TextChoices):
    """What a party said when it signed or consented (UN Treaty Collection's vocabulary)."""

    RESERVATION = "reservation", "Reservation"
    DECLARATION = "declaration", "Declaration"
    UNDERSTANDING = "understanding", "Understanding"


STATEMENT_KIND_EXPLANATIONS: dict[str, str] = {
    StatementKind.RESERVATION: (
        "Excludes or modifies the legal effect of a provision for this party; other parties may "
        "object to it."
    ),
    StatementKind.DECLARATION: (
        "States how the party reads the agreement or applies it (an interpretative or other "
        "declaration), without excluding a provision."
    ),
    StatementKind.UNDERSTANDING: (
        "The party's understanding of what a provision means, recorded with its consent."
    ),
}


NAMED_WITH_ARTICLE = {
    StatementKind.RESERVATION: "a reservation",
    StatementKind.DECLARATION: "a declaration",
    StatementKind.UNDERSTANDING: "an understanding",
}


class StatementMoment(models.TextChoices):
    UNKNOWN = "", "Not recorded"
    AT_SIGNATURE = "at_signature", "At signature"
    AT_CONSENT = "at_consent", "With the instrument of consent"
    LATER = "later", "Later"


class Statement(models.Model):
    """A reservation, declaration or understanding made by one party to an agreement, as the
    depositary records it, and its withdrawal (a partial withdrawal is a note: the text that
    remains in force is what the depositary records). Objections by other parties hang on it.

    The rules that span rows (the party is a party to the agreement, the provision is one of the
    agreement's) are in `clean()`, which every writer runs (agreements.statements, the admin)."""

    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.CASCADE,  # a statement means nothing without its agreement
        related_name="statements",
    )
    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,  # a party with statements cannot vanish from under them
        related_name="statements",
        help_text="The party that made it; a party to the agreement.",
    )
    kind = models.CharField(max_length=20, choices=StatementKind.choices)
    made_at = models.CharField(
        "made",
        max_length=20,
        choices=StatementMoment.choices,
        blank=True,
        default=StatementMoment.UNKNOWN,
        help_text="When in the party's procedure it was made.",
    )
    made_on = models.DateField(
        null=True,
        blank=True,
        help_text="Date it was made (signature, deposit or notification); empty when no source "
        "gives it.",
    )
    provision = models.ForeignKey(
        Provision,
        null=True,
        blank=True,
        # Removing the provision keeps the statement; `article` still says what it concerned.
        on_delete=models.SET_NULL,
        related_name="statements",
        help_text="The provision it concerns, if the agreement's provisions list it.",
    )
    article = models.CharField(
        max_length=80,
        blank=True,
        help_text="The article it concerns as the depositary names it, e.g. 'Article 9(1)'.",
    )
    text = models.TextField(help_text="The text as the depositary records it, or a summary.")
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # deleting a source would leave the fact unsupported
        related_name="statements",
    )
    withdrawn_on = models.DateField(
        null=True, blank=True, help_text="Date the party withdrew it, in whole or in part."
    )
    withdrawal_note = models.TextField(
        blank=True,
        help_text="For a partial withdrawal, what was withdrawn and what remains.",
    )
    withdrawal_source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_withdrawals",
        help_text="Where the withdrawal is recorded.",
    )
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Moves on with every change (the API's ETag)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["agreement", "party__name", "made_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True)
                | Q(made_on__isnull=True)
                | Q(withdrawn_on__gte=F("made_on")),
                name="statement_withdrawn_not_before_made",
                violation_error_message="A statement cannot be withdrawn before it was made.",
            ),
        ]
        indexes = [
            # A party's page and the per-party section: statements of party X.
            models.Index(fields=["party", "agreement"], name="statement_party_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.party.code} ({self.agreement.slug})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (
            self.agreement_id
            and self.party_id
            and not Participation.objects.filter(
                agreement_id=self.agreement_id, party_id=self.party_id
            ).exists()
        ):
            errors["party"] = (
                f"{self.party.code} is not a party to this agreement; add the party first."
            )
        if (
            self.provision_id
            and self.agreement_id
            and self.provision.agreement_id != self.agreement_id
        ):
            errors["provision"] = "This provision belongs to another agreement."
        if self.withdrawn_on and self.made_on and self.withdrawn_on < self.made_on:
            errors["withdrawn_on"] = (
                f"A statement cannot be withdrawn before it was made ({self.made_on})."
            )
        if not self.withdrawn_on and (self.withdrawal_note or self.withdrawal_source_id):
            errors["withdrawn_on"] = "Give the date of the withdrawal."
        if errors:
            raise ValidationError(errors)

    @property
    def kind_explanation(self) -> str:
        return STATEMENT_KIND_EXPLANATIONS[self.kind]


class Objection(models.Model):
    """Another party's objection to a reservation. Under the Vienna Convention (art. 20(4)(b),
    21(3)) an objection may or may not oppose the agreement's entry into force between the
    objecting and the reserving party: `opposes_entry_into_force` says which, as the objection
    states it."""

    statement = models.ForeignKey(
        Statement,
        on_delete=models.CASCADE,  # an objection means nothing without its reservation
        related_name="objections",
        help_text="The reservation objected to.",
    )
    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        related_name="objections",
        help_text="The objecting party: another party to the same agreement.",
    )
    made_on = models.DateField(
        null=True, blank=True, help_text="Date of the objection; empty when no source gives it."
    )
    text = models.TextField(blank=True, help_text="The objection's text, or a summary.")
    opposes_entry_into_force = models.BooleanField(
        "opposes entry into force",
        default=False,
        help_text="The objection says the agreement does not enter into force between the "
        "objecting and the reserving party.",
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="objections"
    )
    withdrawn_on = models.DateField(
        null=True, blank=True, help_text="Date the objecting party withdrew it."
    )
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Moves on with every change (the API's ETag)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["statement", "made_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True)
                | Q(made_on__isnull=True)
                | Q(withdrawn_on__gte=F("made_on")),
                name="objection_withdrawn_not_before_made",
                violation_error_message="An objection cannot be withdrawn before it was made.",
            ),
        ]

    def __str__(self) -> str:
        return f"Objection by {self.party.code} to {self.statement}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        statement = self.statement if self.statement_id else None
        if statement is not None and statement.kind != StatementKind.RESERVATION:
            errors["statement"] = (
                "Only a reservation can be objected to; this statement is "
                f"{NAMED_WITH_ARTICLE[statement.kind]}."
            )
        if statement is not None and self.party_id:
            if self.party_id == statement.party_id:
                errors["party"] = "A party cannot object to its own reservation."
            elif not Participation.objects.filter(
                agreement_id=statement.agreement_id, party_id=self.party_id
            ).exists():
                errors["party"] = (
                    f"{self.party.code} is not a party to this agreement; only its parties object."
                )
        if (
            statement is not None
            and statement.made_on
            and self.made_on
            and self.made_on < statement.made_on
        ):
            errors["made_on"] = (
                f"An objection cannot precede the reservation ({statement.made_on})."
            )
        if self.withdrawn_on and self.made_on and self.withdrawn_on < self.made_on:
            errors["withdrawn_on"] = (
                f"An objection cannot be withdrawn before it was made ({self.made_on})."
            )
        if errors:
            raise ValidationError(errors)


class Relation(models.Model):
    """A directed link: `from_agreement` amends / supersedes / implements / relates to `to_agreement`."""

    from_agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="relations_from"
    )
    to_agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="relations_to"
    )
    kind = models.CharField(max_length=20, choices=RelationKind.choices)
    note = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["from_agreement", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_agreement", "to_agreement", "kind"], name="relation_once"
            ),
            models.CheckConstraint(
                condition=~Q(from_agreement=F("to_agreement")),
                name="relation_not_to_itself",
                violation_error_message="An agreement cannot be related to itself.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.from_agreement.slug} {self.get_kind_display().lower()} {self.to_agreement.slug}"
        )


class FacetCount(models.Model):
    """How many agreements count under a facet key, as of the last compaction
    (agreements.listing.facet_counts_compact); FacetDelta rows hold the changes since."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class FacetDelta(models.Model):
    """One +1 or -1 to a facet key's count, appended by the writer that changed an agreement's
    facet keys. Appending instead of updating a shared counter row means writers never wait for
    (or deadlock on) each other's counters; compaction folds these into FacetCount."""

    key = models.CharField(max_length=200)
    delta = models.SmallIntegerField()

    def __str__(self) -> str:
        return f"{self.key} {self.delta:+d}"


class PartyFacetCount(models.Model):
    """Within one party's agreements, how many count under a facet key: `status:<status>` and,
    for each partner, `party:<code>`. What a party's page and API summary show, kept like
    FacetCount (agreements.listing): as of the last compaction, plus PartyFacetDelta since."""

    party_code = models.CharField(max_length=10)
    key = models.CharField(max_length=200)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["party_code", "key"], name="partyfacetcount_once")
        ]

    def __str__(self) -> str:
        return f"{self.party_code} {self.key}: {self.count}"


class PartyFacetDelta(models.Model):
    """One +1 or -1 to a party's facet count, appended like FacetDelta."""

    party_code = models.CharField(max_length=10)
    key = models.CharField(max_length=200)
    delta = models.SmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["party_code"], name="partyfacetdelta_party_idx")]

    def __str__(self) -> str:
        return f"{self.party_code} {self.key} {self.delta:+d}"


class AgreementMerge(models.Model):
    """One agreement merged into another (ratification.merging.agreement_merge): who, when, why,
    and what the merged one was called, so that the survivor's page and history can explain it.

    The merged agreement's own row is gone; its historical rows stay under `merged_id`, which the
    history page reads beside the survivor's. A later merge of the survivor into a third
    agreement moves these records on to that one, with everything else."""

    survivor = models.ForeignKey(
        Agreement,
        on_delete=models.CASCADE,
        related_name="merges",
        help_text="The agreement that holds what the merged one had.",
    )
    merged_id = models.PositiveBigIntegerField(
        help_text="The merged agreement's id, under which its history rows are kept."
    )
    merged_slug = models.SlugField(max_length=120, help_text="Its address, now a redirect.")
    merged_title = models.CharField(max_length=500, help_text="Its title when it was merged.")
    into_slug = models.SlugField(
        max_length=120, help_text="The survivor's address when the merge was made."
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who merged them.",
    )
    merged_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(help_text="Why the editor merged them.")
    summary = models.JSONField(
        default=dict,
        help_text="What moved and what was left behind as the same fact recorded twice "
        "(ratification.merging.MergePlan.summary).",
    )

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_slug} merged into {self.into_slug}"


class AgreementRedirect(models.Model):
    """An address that used to be an agreement's (a merged duplicate's slug) and where it now
    leads: pages answer 301 to the survivor's page, the API 301 to its URL. Kept pointing at
    the agreement that holds the content, through later merges too."""

    slug = models.SlugField(max_length=120, unique=True, help_text="The old address.")
    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.CASCADE,  # the redirect leads nowhere once its target is deleted
        related_name="redirects",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.slug} → {self.agreement_id}"


class KeptDetail(models.Model):
    """An agreement's API detail (GET /api/v1/agreements/{slug}/ as JSON), rendered once and
    served as it is until what it was built from changes: ratification.api.detail builds,
    checks and serves it. `scope` names the stamps it was built from (the agreement's, which
    triggers move with every row the detail shows, its related agreements' and the reference
    rows'), and the detail reads relative to today (overdue steps, expected dates, clocks), so
    it holds from `built_on` until the day before `valid_until`."""

    agreement = models.OneToOneField(
        Agreement, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    scope = models.CharField(max_length=200)
    built_on = models.DateField()
    valid_until = models.DateField(help_text="The first day it may read differently.")
    etag = models.CharField(max_length=64)
    origin = models.CharField(
        max_length=64, help_text="The placeholder its own links were built under, drawn anew."
    )
    body = models.BinaryField(help_text="The JSON, its own links under `origin`.")

    def __str__(self) -> str:
        return f"detail of {self.agreement_id} ({self.scope}, {self.built_on}–{self.valid_until})"
