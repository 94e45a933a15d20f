"""Random sequences of writes to a few agreements, through the services and the admin's ways:
the property tests of what is kept (agreements.listing's rows and counts, web.kept's party pages)
make them and compare what is kept with a fresh computation after each."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from agreements.listing import facet_counts_compact
from agreements.models import Agreement, ProvisionCategory, Source, Subject
from agreements.services import (
    ProvisionInput,
    agreement_delete,
    provision_add,
    provision_remove,
    subjects_resolve,
)
from agreements.subjects import subject_merge
from parties.models import Party
from ratification.models import StepStatus
from ratification.services import (
    agreement_refresh,
    agreement_update,
    participation_add,
    step_record,
)
from tests.conftest import TODAY

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "complete_step",
                "add_provision",
                "remove_provision",
                "sign",
                "retitle",
                "subjects",
                "merge_subjects",
                "add_party",
                "remove_party",
                "rename_party",
                "rename_subject",
                "delete",
                "compact",
            ]
        ),
        st.integers(0, 2),  # which agreement
        st.integers(0, 50),  # a choice within the operation
    ),
    max_size=12,
)


@dataclass
class Stage:
    """The agreements the operations write to, and what they need."""

    agreements: list[Agreement]
    source: Source
    spare_parties: list[Party]

    @classmethod
    def set_up(cls, make_agreement) -> Stage:
        source, _ = Source.objects.get_or_create(title="Gazette", url="https://example.org/g")
        agreements = [
            make_agreement(slug=f"listed-{i}", party_codes=["JP", "PH"], subjects=["maritime"])
            for i in range(3)
        ]
        spare_parties = list(Party.objects.exclude(code__in=["JP", "PH"]).order_by("code")[:5])
        return cls(agreements, source, spare_parties)


def operate(stage: Stage, operation: str, which: int, choice: int) -> Agreement | None:
    """Makes one write; the agreement it was aimed at, or None when an earlier one deleted it."""
    agreements, source, spare_parties = stage.agreements, stage.source, stage.spare_parties
    categories = ProvisionCategory.values
    agreement = Agreement.objects.filter(pk=agreements[which].pk).first()
    if agreement is None:  # deleted by an earlier operation
        return None
    if operation == "complete_step":
        step = (
            agreement.participations.order_by("pk")[choice % 2]
            .steps.exclude(status=StepStatus.COMPLETED)
            .order_by("order")
            .first()
        )
        if step is not None:
            step_record(
                step=step,
                status=StepStatus.COMPLETED,
                date=TODAY - dt.timedelta(days=1),
                source=source,
                confirm_out_of_order=True,
                today=TODAY,
            )
    elif operation == "add_provision":
        provision_add(
            agreement=agreement,
            data=ProvisionInput(category=categories[choice % len(categories)], text="A."),
            order=choice,
        )
    elif operation == "remove_provision":
        provision = agreement.provisions.order_by("pk").first()
        if provision is not None:
            provision_remove(provision=provision)
    elif operation == "sign":
        agreement_update(
            agreement=agreement,
            signed_on=dt.date(2020 + choice % 6, 3, 1),
            today=TODAY,
        )
    elif operation == "retitle":
        agreement_update(agreement=agreement, title=f"Agreement {choice % 4}", today=TODAY)
    elif operation == "subjects":  # as the admin does: the relation, then a refresh
        agreement.subjects.set(subjects_resolve(names=[f"subject {choice % 3}"]))
        agreement_refresh(agreement_id=agreement.pk, today=TODAY)
    elif operation == "merge_subjects":  # an editor merges two subjects into one
        subjects = list(Subject.objects.order_by("pk"))
        if len(subjects) >= 2:
            subject_merge(
                into=subjects[choice % len(subjects)],
                merged=subjects[(choice + 1) % len(subjects)],
            )
    elif operation == "add_party":  # as the admin does: add, then refresh
        party = spare_parties[choice % len(spare_parties)]
        if not agreement.participations.filter(party=party).exists():
            agreement = agreement_update(agreement=agreement, kind="multilateral", today=TODAY)
            participation_add(agreement=agreement, party=party)
            agreement_refresh(agreement_id=agreement.pk, today=TODAY)  # as the admin does
    elif operation == "remove_party":  # as the admin does: delete, then refresh
        participation = agreement.participations.order_by("-pk").first()
        if agreement.participations.count() > 2:
            participation.delete()
            agreement_refresh(agreement_id=agreement.pk, today=TODAY)
    elif operation == "rename_party":  # as the admin does: the reference row saved
        party = agreement.participations.order_by("pk")[choice % 2].party
        party.name = f"{party.code} renamed {choice % 3}"
        party.save()
    elif operation == "rename_subject":  # as the admin does
        subjects = list(Subject.objects.order_by("pk"))
        if subjects:
            subject = subjects[choice % len(subjects)]
            subject.name = f"subject {subject.pk} renamed {choice % 3}"
            subject.save()
    elif operation == "delete":
        agreement_delete(agreement=agreement)
    elif operation == "compact":
        facet_counts_compact()
    return agreement
