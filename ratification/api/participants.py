"""The participants table in the API (`/api/v1/agreements/{slug}/participants/`): its row and
the query parameters it takes. Rows come from ratification.participants, as on the page."""

from __future__ import annotations

from rest_framework import serializers

from agreements.models import ConsentAct

from ..participants import PARTICIPANT_FILTER_CHOICES, PARTICIPANT_SORT_CHOICES


class ParticipantsQuerySerializer(serializers.Serializer):
    """`ordering` and `filter`; an unknown value is a 400 naming the field."""

    ordering = serializers.ChoiceField(
        choices=PARTICIPANT_SORT_CHOICES,
        required=False,
        default="party",
        help_text="Sort column; '-' first for descending. Rows without the date come last.",
    )
    filter = serializers.ChoiceField(
        choices=PARTICIPANT_FILTER_CHOICES,
        required=False,
        allow_blank=True,
        default="",
        help_text="Keep only these parties; empty for all.",
    )


class ParticipantSerializer(serializers.Serializer):
    """One party as the depositary records it, with counts of its statements."""

    party = serializers.CharField(source="status.party_code", help_text="Party code.")
    party_name = serializers.CharField(source="status.party_name")
    progress = serializers.CharField(source="status.progress", help_text="The party's progress.")
    signed_on = serializers.DateField(source="status.signed_on", allow_null=True)
    signature = serializers.ChoiceField(
        source="status.signature",
        choices=[
            ("definitive", "definitive"),
            ("subject_to_ratification", "subject to ratification"),
            ("", "none recorded"),
        ],
        help_text="'definitive' when the signature itself expressed consent; '' when no "
        "signature is recorded.",
    )
    consent_act = serializers.ChoiceField(source="status.consent_act", choices=ConsentAct.choices)
    consent_act_on = serializers.DateField(
        source="status.consent_act_on",
        allow_null=True,
        help_text="Date of deposit (or of the act).",
    )
    depositary = serializers.CharField(source="status.depositary")
    entry_into_force_on = serializers.DateField(
        source="status.entry_into_force_on", allow_null=True, help_text="In force for this party."
    )
    entry_into_force_working = serializers.CharField(source="status.entry_into_force_working")
    in_force = serializers.BooleanField(help_text="In force for this party today.")
    provisionally_applied_on = serializers.DateField(
        source="status.provisionally_applied_on", allow_null=True
    )
    suspended = serializers.BooleanField(source="status.suspended")
    suspended_on = serializers.DateField(source="status.suspended_on", allow_null=True)
    withdrawal_notified_on = serializers.DateField(
        source="status.withdrawal_notified_on", allow_null=True
    )
    withdrawn_on = serializers.DateField(
        source="status.withdrawn_on",
        allow_null=True,
        help_text="When the withdrawal takes (or took) effect.",
    )
    withdrawn = serializers.BooleanField(help_text="Withdrawn by today.")
    reservations = serializers.IntegerField(help_text="Withdrawn ones included.")
    declarations = serializers.IntegerField()
    understandings = serializers.IntegerField()
