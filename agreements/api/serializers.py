"""Agreements and their parts, as the API shows them and accepts them.

Input serializers check shapes and types only (and refuse unknown fields); the rules between
fields and rows are the services' (agreements.services, ratification.services), whose
ValidationErrors come back to the client as 400s with the same field names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apikit.bodies import StrictFieldsMixin
from parties.api.serializers import PartyProcedureSerializer
from parties.models import Party

from ..listing import Names
from ..models import (
    MARKDOWN_API_HELP,
    PROVISION_TEXT_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    Agreement,
    EntryIntoForceRule,
    Participation,
    PartyProgress,
    Provision,
    ProvisionCategory,
    Relation,
    RelationKind,
    Signatory,
    Source,
    Subject,
)
from ..services import AGREEMENT_FACT_FIELDS

# Explanations for vocabularies whose models carry none yet (they could move into models.py).
RELATION_KIND_EXPLANATIONS: dict[str, str] = {
    RelationKind.AMENDS: "Changes some provisions of the other agreement, which stays in force.",
    RelationKind.SUPERSEDES: "Replaces the other agreement, which ceases to apply.",
    RelationKind.IMPLEMENTS: "Carries out or details the other agreement (e.g. an arrangement "
    "under a framework).",
    RelationKind.RELATED_TO: "Connected in subject or negotiation, without a legal link.",
}
ENTRY_INTO_FORCE_RULE_EXPLANATIONS: dict[str, str] = {
    EntryIntoForceRule.UNKNOWN: "The agreement's entry-into-force clause is not recorded.",
    EntryIntoForceRule.ON_SIGNATURE: "Enters into force when it is signed.",
    EntryIntoForceRule.ON_DATE: "Enters into force on a date the agreement fixes.",
    EntryIntoForceRule.DAYS_AFTER_LAST_NOTIFICATION: "Enters into force N days after the last "
    "party notifies that its domestic procedures are complete.",
    EntryIntoForceRule.DAYS_AFTER_NTH_RATIFICATION: "Enters into force N days after the Nth "
    "party ratifies (multilateral agreements).",
    EntryIntoForceRule.ON_NTH_INSTRUMENT: "Enters into force on the day the Nth instrument is "
    "deposited (multilateral agreements).",
    EntryIntoForceRule.DAYS_AFTER_GROUP_INSTRUMENTS: "Enters into force N days after the last "
    "of the instruments each group of parties must deposit, e.g. six of group A and three of "
    "group B (`eif_groups`).",
}

# Bounds on list sizes in one body: generous for real agreements, small enough to refuse abuse.
MAX_ITEMS = 500


# Output --------------------------------------------------------------------------------------


class SubjectSerializer(serializers.ModelSerializer):
    """A subject with its other names. Input by any of them (`subjects` on create, the
    `subject` filter) means this subject."""

    aliases = serializers.SerializerMethodField(
        help_text="Other spellings and synonyms that mean this subject, e.g. "
        "['defense logistics'], alphabetically."
    )
    agreements = serializers.SerializerMethodField(
        help_text="The agreement list filtered by this subject."
    )

    class Meta:
        model = Subject
        fields = ["slug", "name", "aliases", "agreements"]

    def get_aliases(self, obj: Subject) -> list[str]:
        return sorted(alias.name for alias in obj.aliases.all())  # prefetched by the view

    def get_agreements(self, obj: Subject) -> str:
        path = f"{reverse('api:agreement-list')}?{urlencode({'subject': obj.slug})}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "title", "url", "publisher", "published_on"]


class SignatorySerializer(serializers.ModelSerializer):
    party = serializers.CharField(source="party.code", read_only=True, help_text="Party code.")
    source = SourceSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Signatory
        fields = ["party", "name", "role", "source"]


class ProvisionSerializer(serializers.ModelSerializer):
    source = SourceSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Provision
        fields = ["id", "label", "category", "text", "order", "source"]
        extra_kwargs = {"text": {"help_text": MARKDOWN_API_HELP}}


class ProvisionListSerializer(ProvisionSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:provision-detail")
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta(ProvisionSerializer.Meta):
        fields = ["url", "agreement", *ProvisionSerializer.Meta.fields]


class RelationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:relation-detail")
    from_agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    to_agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Relation
        fields = ["url", "id", "from_agreement", "kind", "to_agreement", "note"]


class AgreementRefSerializer(serializers.ModelSerializer):
    """Just enough to name and link an agreement from another one."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api:agreement-detail", lookup_field="slug"
    )

    class Meta:
        model = Agreement
        fields = ["url", "slug", "title", "short_name", "status"]


class RelatedSerializer(serializers.Serializer):
    """A relation seen from one agreement: `direction` says which end this agreement is."""

    kind = serializers.ChoiceField(choices=RelationKind.choices)
    direction = serializers.ChoiceField(
        choices=[("outgoing", "outgoing"), ("incoming", "incoming")],
        help_text="outgoing: this agreement <kind> the other; incoming: the other <kind> this one.",
    )
    agreement = AgreementRefSerializer()
    note = serializers.CharField()


class ParticipationSummarySerializer(serializers.Serializer):
    """A party in a list row, as the agreement's kept listing holds it (agreements.listing)."""

    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    progress = serializers.ChoiceField(choices=PartyProgress.choices, read_only=True)
    consented_on = serializers.DateField(read_only=True, allow_null=True)


class ListedMixin:
    """Parties and subjects from the agreement's kept listing, named from one read of the names
    per response (kept in the root serializer's context), so a page of rows costs no query per
    row and no prefetch."""

    @classmethod
    def read_fields(cls) -> list[str]:
        """The agreement columns a page of these rows reads: the model fields among its own
        plus the kept listing, so the list's query loads none of the agreement's texts."""
        model_fields = {field.name for field in Agreement._meta.concrete_fields}
        return [name for name in cls.Meta.fields if name in model_fields] + ["listing"]

    def listing_names(self) -> Names:
        context = self.context  # the root serializer's own dict, shared by every row
        if "listing_names" not in context:
            context["listing_names"] = Names.load()
        return context["listing_names"]


_SLUG_MARK = "slug-placeholder-0"


class AgreementListSerializer(ListedMixin, serializers.ModelSerializer):
    """One row of the list: what an analyst scans for, read from the row and its kept listing."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api:agreement-detail", lookup_field="slug"
    )
    parties = serializers.SerializerMethodField()
    subjects = serializers.SerializerMethodField()

    @extend_schema_field(ParticipationSummarySerializer(many=True))
    def get_parties(self, obj: Agreement) -> list[dict[str, Any]]:
        return ParticipationSummarySerializer(
            self.listing_names().parties_of(obj.listing), many=True
        ).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_subjects(self, obj: Agreement) -> list[str]:
        return self.listing_names().subjects_of(obj.listing)

    def to_representation(self, instance: Agreement) -> dict[str, Any]:
        """The row the declared fields give, built directly.

        DRF's field-by-field path (a reverse() per row for `url`, a nested serializer per row
        for the parties, a field object per value) was most of a list request's time: about
        60 % of 18 ms for a page of 50 at 100,000 agreements. This builds the same dict from the
        row and its kept listing; a test checks it equals the declared fields' output for
        agreements of every shape. A row read with its kept text (`list_doc`, on PostgreSQL:
        agreements migration 0019) is that text with its `url` and `updated_at` put in, as an
        `orjson.Fragment`. Add a field to Meta.fields, here and to the SQL that builds the
        kept text (a migration replacing `agreements_list_doc`) together: the listing's tests
        compare the kept text with this build after every write. A subclass (the detail,
        which adds fields) goes the declared way.
        """
        if type(self) is not AgreementListSerializer:
            return super().to_representation(instance)
        when = self._datetime_field()
        kept = getattr(instance, "list_doc", None)  # a row read with its kept text (KeptListDoc)
        if kept is not None:
            return self.kept_row(instance.slug, kept, when.to_representation(instance.updated_at))
        url = self._detail_url(instance.slug)
        names = self.listing_names()

        def day(value):
            return value.isoformat() if value is not None else None

        return {
            "url": url,
            "slug": instance.slug,
            "title": instance.title,
            "short_name": instance.short_name,
            "kind": instance.kind,
            "status": instance.status,
            "status_since": day(instance.status_since),
            "signed_on": day(instance.signed_on),
            "expected_entry_into_force_on": day(instance.expected_entry_into_force_on),
            "entered_into_force_on": day(instance.entered_into_force_on),
            "ended_on": day(instance.ended_on),
            "parties": names.parties_of(instance.listing),  # new dicts, in the list's shape
            "subjects": names.subjects_of(instance.listing),
            "version": instance.version,
            "updated_at": when.to_representation(instance.updated_at),
        }

    def kept_row(self, slug: str, kept: str, updated_at: str) -> orjson.Fragment:
        """The row from its kept text (`list_doc`), with its `url` and its `updated_at` (as
        written for the body) put in."""
        return orjson.Fragment(
            f'{{"url":{orjson.dumps(self._detail_url(slug)).decode()},{kept[1:-1]},'
            f'"updated_at":"{updated_at}"}}'
        )

    def _detail_url(self, slug: str) -> str:
        # One reverse() per response: a slug is letters, digits, "-" and "_", which an address
        # carries as they are, so the others are the first one's with the slug put in.
        # (The route itself accepts no other slug.)
        context = self.context
        request = context.get("request")
        if "listing_url" not in context:
            path = reverse("api:agreement-detail", kwargs={"slug": _SLUG_MARK})
            context["listing_url"] = request.build_absolute_uri(path) if request else path
        return context["listing_url"].replace(_SLUG_MARK, slug)

    def _datetime_field(self) -> serializers.DateTimeField:
        # One field per response, its time zone looked up once (DRF otherwise asks Django for
        # the current one for every value).
        context = self.context
        if "listing_datetime" not in context:
            context["listing_datetime"] = serializers.DateTimeField(
                default_timezone=timezone.get_current_timezone()
            )
        return context["listing_datetime"]

    class Meta:
        model = Agreement
        fields = [
            "url",
            "slug",
            "title",
            "short_name",
            "kind",
            "status",
            "status_since",
            "signed_on",
            "expected_entry_into_force_on",
            "entered_into_force_on",
            "ended_on",
            "parties",
            "subjects",
            "version",
            "updated_at",
        ]


class AgreementCsvSerializer(ListedMixin, serializers.ModelSerializer):
    """The list as flat CSV columns."""

    parties = serializers.SerializerMethodField()
    subjects = serializers.SerializerMethodField()

    class Meta:
        model = Agreement
        fields = [
            "slug",
            "title",
            "short_name",
            "kind",
            "status",
            "signed_on",
            "signed_at",
            "expected_entry_into_force_on",
            "entered_into_force_on",
            "ended_on",
            "parties",
            "subjects",
            "updated_at",
        ]

    def get_parties(self, obj: Agreement) -> str:
        parties = self.listing_names().parties_of(obj.listing)
        return "; ".join(f"{p['code']} ({p['progress']})" for p in parties)

    def get_subjects(self, obj: Agreement) -> str:
        return "; ".join(self.listing_names().subjects_of(obj.listing))


class PartyAgreementSerializer(serializers.ModelSerializer):
    """One of a party's agreements, with the party's own progress and dates in it (derived and
    stored by the status engine: in a multilateral agreement each party has its own entry into
    force, suspension and withdrawal)."""

    agreement = AgreementRefSerializer(read_only=True)

    class Meta:
        model = Participation
        fields = [
            "agreement",
            "progress",
            "consented_on",
            "consent_act",
            "consent_act_on",
            "entered_into_force_on",
            "entry_into_force_working",
            "provisionally_applied_on",
            "suspended",
            "suspended_on",
            "withdrawal_notified_on",
            "withdrawn_on",
        ]


class PartyAgreementsSerializer(serializers.Serializer):
    """A summary of a party's agreements; `list` pages through all of them.

    A party can be in tens of thousands of agreements, so they are counted and the most recent
    shown, not all embedded."""

    total = serializers.IntegerField(help_text="How many agreements the party is in.")
    by_status = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="How many in each agreement status (statuses with none are left out).",
    )
    recent = PartyAgreementSerializer(
        many=True, help_text="The most recently signed ones (unsigned last), newest first."
    )
    list = serializers.URLField(
        help_text="The agreement list filtered by this party: all of them, paginated."
    )


class PartyDetailSerializer(PartyProcedureSerializer):
    """A party with its default procedure and a summary of its agreements.

    Needs `party_agreements` in the context: a dict for PartyAgreementsSerializer, which the view
    builds with agreements.selectors (two queries, however many agreements there are)."""

    agreements = serializers.SerializerMethodField()

    class Meta(PartyProcedureSerializer.Meta):
        fields = [*PartyProcedureSerializer.Meta.fields, "agreements"]

    @extend_schema_field(PartyAgreementsSerializer)
    def get_agreements(self, party: Party) -> dict:
        return PartyAgreementsSerializer(
            self.context["party_agreements"], context=self.context
        ).data


# Input ---------------------------------------------------------------------------------------


class SourceInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """A source, found by its address (or title) and created or updated (source_upsert)."""

    title = serializers.CharField(max_length=400)
    url = serializers.URLField(max_length=600, required=False, allow_blank=True, default="")
    publisher = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    published_on = serializers.DateField(required=False, allow_null=True, default=None)


class SignatoryInputSerializer(StrictFieldsMixin, serializers.Serializer):
    party = serializers.CharField(max_length=10, help_text="Code of the party they signed for.")
    name = serializers.CharField(max_length=200)
    role = serializers.CharField(max_length=200)
    source = SourceInputSerializer(required=False, allow_null=True, default=None)


class ProvisionInputSerializer(StrictFieldsMixin, serializers.Serializer):
    category = serializers.ChoiceField(choices=ProvisionCategory.choices)
    text = serializers.CharField(max_length=PROVISION_TEXT_MAX_LENGTH, help_text=MARKDOWN_API_HELP)
    label = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    source = SourceInputSerializer(required=False, allow_null=True, default=None)


class ProvisionCreateSerializer(ProvisionInputSerializer):
    agreement = serializers.SlugField(max_length=120, help_text="Slug of the agreement.")


class RelationInputSerializer(StrictFieldsMixin, serializers.Serializer):
    from_agreement = serializers.SlugField(max_length=120)
    kind = serializers.ChoiceField(choices=RelationKind.choices)
    to_agreement = serializers.SlugField(max_length=120)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AgreementFactsSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """The agreement's own fields (PUT / PATCH). Parties, signatories, provisions and sources
    are not changed here; steps are changed through /steps/."""

    class Meta:
        model = Agreement
        fields = ["slug", *AGREEMENT_FACT_FIELDS]
        # Uniqueness is checked by the service (with the row locked), not twice here.
        extra_kwargs = {
            "slug": {"validators": []},
            "summary": {"max_length": SUMMARY_MAX_LENGTH, "help_text": MARKDOWN_API_HELP},
        }
