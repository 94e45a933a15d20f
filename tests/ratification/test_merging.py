"""Merging a duplicate into the agreement that stays: what moves, what conflicts, what is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements.listing import facet_counts, party_facet_counts
from agreements.models import (
    Agreement,
    AgreementMerge,
    AgreementRedirect,
    Participation,
    Relation,
    Signatory,
)
from agreements.services import ConflictError, ProvisionInput, SignatoryInput, relation_add
from notify.models import Follow, FollowNotification, WebhookSubscription
from ratification.merging import MergeRefused, agreement_merge, merge_plan
from ratification.models import RatificationStep, StatusChange
from ratification.services import StepInput, step_record
from tests.conftest import TODAY
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = dt.date


def steps_of(agreement: Agreement, code: str) -> list[RatificationStep]:
    return list(
        RatificationStep.objects.filter(
            participation__agreement=agreement, participation__party__code=code
        ).order_by("order")
    )


def step(agreement: Agreement, code: str, kind: str) -> RatificationStep:
    return next(s for s in steps_of(agreement, code) if s.kind == kind)


@pytest.fixture
def pair(make_agreement, source):
    """The survivor, with JP's cabinet approval recorded; and a duplicate entered later with a
    signatory, a provision and PH's executive ratification recorded, confirmed past the
    duplicate check. (Signature steps are left alone: they follow the signature date.)"""
    survivor = make_agreement(slug="acsa", title="Reciprocal supplies", signed_on=D(2025, 1, 15))
    step_record(
        step=step(survivor, "JP", "cabinet_approval"),
        status="completed",
        date=D(2025, 1, 10),
        source=source,
        today=TODAY,
        confirm_out_of_order=True,
    )
    duplicate = make_agreement(
        slug="acsa-2",
        title="Reciprocal supplies",
        signed_on=D(2025, 1, 15),
        confirm_not_duplicate=True,
        signatories=[SignatoryInput(name="Ma. Theresa Lazaro", role="Secretary", party_code="PH")],
        provisions=[ProvisionInput(category="logistics_support", text="Fuel and food.")],
        subjects=["defence logistics"],
        sources=[source],
    )
    step_record(
        step=step(duplicate, "PH", "executive_ratification"),
        status="completed",
        date=D(2025, 2, 1),
        source=source,
        today=TODAY,
        confirm_out_of_order=True,
    )
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    return survivor, duplicate


def test_merge_moves_recorded_steps_and_parts_and_drops_empty_copies(pair, editor):
    survivor, duplicate = pair
    jp_steps_before = [s.pk for s in steps_of(survivor, "JP")]
    ph_ratification = step(duplicate, "PH", "executive_ratification")
    ph_position = step(survivor, "PH", "executive_ratification").order
    ph_count = len(steps_of(survivor, "PH"))

    merge = agreement_merge(
        survivor=survivor, duplicate=duplicate, user=editor, reason="Entered twice."
    )

    assert not Agreement.objects.filter(pk=duplicate.pk).exists()
    # JP: the survivor's own steps, unchanged; PH: the duplicate's recorded ratification took
    # the place of the survivor's empty one, in the same position
    assert [s.pk for s in steps_of(survivor, "JP")] == jp_steps_before
    ph = steps_of(survivor, "PH")
    assert step(survivor, "PH", "executive_ratification").pk == ph_ratification.pk
    assert ph[ph_position - 1].pk == ph_ratification.pk
    assert [s.order for s in ph] == list(range(1, len(ph) + 1))
    assert len(ph) == ph_count
    assert [s.name for s in Signatory.objects.filter(agreement=survivor)] == ["Ma. Theresa Lazaro"]
    assert survivor.provisions.count() == 1
    assert [s.name for s in survivor.subjects.all()] == ["defence logistics"]
    # recorded: who, why, which slug, what moved
    assert merge.merged_by == editor and merge.merged_slug == "acsa-2"
    assert merge.reason == "Entered twice."
    assert merge.summary["signatories_moved"] and merge.summary["steps_moved"]
    assert AgreementRedirect.objects.get(slug="acsa-2").agreement == survivor


def test_merge_recomputes_the_survivor_and_its_counts(pair, editor):
    survivor, duplicate = pair
    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    survivor.refresh_from_db()
    progress = dict(
        Participation.objects.filter(agreement=survivor).values_list("party__code", "progress")
    )
    # JP's cabinet approval and PH's ratification now both live on the survivor
    assert progress == {"JP": "in_progress", "PH": "in_progress"}
    assert step(survivor, "PH", "executive_ratification").status == "completed"
    assert {p["code"]: p["progress"] for p in survivor.listing["parties"]} == progress
    counts = facet_counts()
    assert counts["party:JP"] == 1 and counts["party:PH"] == 1
    assert counts[f"status:{survivor.status}"] == 1
    assert party_facet_counts("JP")["party:PH"] == 1


def test_merge_keeps_the_status_history_and_moves_follows_and_webhooks(pair, editor):
    survivor, duplicate = pair
    owner = UserFactory()
    Follow.objects.create(user=owner, kind="agreement", agreement=duplicate)
    both = UserFactory()
    theirs = Follow.objects.create(user=both, kind="agreement", agreement=duplicate)
    ours = Follow.objects.create(user=both, kind="agreement", agreement=survivor)
    email = FollowNotification.objects.create(
        user=both, change=StatusChange.objects.filter(agreement=duplicate).first(), follow=theirs
    )
    hook = WebhookSubscription.objects.create(
        owner=owner, url="https://example.org/hook", agreement=duplicate
    )
    their_changes = set(
        StatusChange.objects.filter(agreement=duplicate).values_list("pk", flat=True)
    )
    assert their_changes

    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")

    assert their_changes <= set(survivor.status_changes.values_list("pk", flat=True))
    assert Follow.objects.filter(agreement=survivor).count() == 2
    email.refresh_from_db()
    assert email.follow == ours  # not left unfollowed, so not skipped
    hook.refresh_from_db()
    assert hook.agreement == survivor


def test_merge_appears_in_the_survivors_history(pair, editor):
    survivor, duplicate = pair
    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    latest = survivor.history.order_by("-history_date", "-history_id").first()
    assert latest.history_change_reason == "Merged acsa-2 into this agreement: Twice."
    survivor.refresh_from_db()
    assert latest.version == survivor.version


def test_conflicting_step_records_refuse_the_merge_and_write_nothing(pair, editor, source):
    survivor, duplicate = pair
    step_record(
        step=step(duplicate, "JP", "cabinet_approval"),
        status="completed",
        date=D(2025, 1, 11),
        source=source,
        today=TODAY,
        confirm_out_of_order=True,
    )
    with pytest.raises(MergeRefused) as caught:
        agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    (problem,) = caught.value.problems
    assert "2025-01-10 here" in problem and "2025-01-11 in the duplicate" in problem
    assert Agreement.objects.filter(pk=duplicate.pk).exists()
    assert not AgreementMerge.objects.exists() and not AgreementRedirect.objects.exists()


def test_the_same_outcome_recorded_twice_is_kept_once(pair, editor, source):
    survivor, duplicate = pair
    step_record(
        step=step(duplicate, "JP", "cabinet_approval"),
        status="completed",
        date=D(2025, 1, 10),
        source=source,
        today=TODAY,
        confirm_out_of_order=True,
    )
    kept = step(survivor, "JP", "cabinet_approval")
    merge = agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    assert [s.pk for s in steps_of(survivor, "JP") if s.kind == "cabinet_approval"] == [kept.pk]
    assert any("JP cabinet approval" in text for text in merge.summary["steps_dropped"])


def test_a_step_only_the_duplicate_has_moves_after_its_predecessor(pair, editor):
    survivor, duplicate = pair
    from ratification.services import step_add

    step_add(
        agreement=duplicate,
        party_code="JP",
        data=StepInput(kind="promulgation", body="Official Gazette"),
        order=3,
        today=TODAY,
    )
    duplicate.refresh_from_db()
    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    kinds = [s.kind for s in steps_of(survivor, "JP")]
    assert kinds[:4] == [
        "cabinet_approval",
        "signature",
        "promulgation",
        "submission_to_legislature",
    ]


def test_agreements_with_different_parties_are_not_merged(make_agreement, editor):
    survivor = make_agreement()
    other = make_agreement(party_codes=["JP", "AU"])
    with pytest.raises(MergeRefused) as caught:
        agreement_merge(survivor=survivor, duplicate=other, user=editor, reason="No.")
    assert "parties differ" in caught.value.problems[0]


def test_an_agreement_is_not_merged_into_itself(make_agreement, editor):
    agreement = make_agreement()
    with pytest.raises(MergeRefused):
        agreement_merge(survivor=agreement, duplicate=agreement, user=editor, reason="No.")


def test_a_merge_needs_a_reason(pair, editor):
    survivor, duplicate = pair
    with pytest.raises(MergeRefused) as caught:
        agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="  ")
    assert "reason" in caught.value.message_dict


def test_a_stale_version_of_either_agreement_is_a_conflict(pair, editor):
    survivor, duplicate = pair
    with pytest.raises(ConflictError):
        agreement_merge(
            survivor=survivor,
            duplicate=duplicate,
            user=editor,
            reason="Twice.",
            expected_version=survivor.version - 1,
        )
    with pytest.raises(ConflictError):
        agreement_merge(
            survivor=survivor,
            duplicate=duplicate,
            user=editor,
            reason="Twice.",
            expected_version=survivor.version,
            expected_duplicate_version=duplicate.version + 1,
        )
    assert Agreement.objects.filter(pk=duplicate.pk).exists()


def test_relations_move_unless_they_would_repeat_or_loop(pair, make_agreement, editor):
    survivor, duplicate = pair
    third = make_agreement(party_codes=["JP", "AU"])
    relation_add(from_agreement=duplicate, to_agreement=third, kind="amends")
    relation_add(from_agreement=survivor, to_agreement=third, kind="related_to")
    relation_add(from_agreement=duplicate, to_agreement=survivor, kind="related_to")
    plan = merge_plan(survivor=survivor, duplicate=duplicate)
    assert len(plan.relations_moved) == 1 and len(plan.relations_dropped) == 1
    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    assert set(
        Relation.objects.values_list("from_agreement__slug", "to_agreement__slug", "kind")
    ) == {("acsa", third.slug, "amends"), ("acsa", third.slug, "related_to")}


def test_merging_again_moves_earlier_redirects_on(pair, make_agreement, editor):
    survivor, duplicate = pair
    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    final = make_agreement(
        slug="acsa-final", title="Reciprocal supplies", confirm_not_duplicate=True
    )
    survivor.refresh_from_db()
    agreement_merge(survivor=final, duplicate=survivor, user=editor, reason="Thrice.")
    assert dict(AgreementRedirect.objects.values_list("slug", "agreement__slug")) == {
        "acsa-2": "acsa-final",
        "acsa": "acsa-final",
    }
    assert set(final.merges.values_list("merged_slug", flat=True)) == {"acsa-2", "acsa"}


def test_the_duplicates_own_facts_fill_the_survivors_gaps(make_agreement, editor):
    """A stub entered first, the full record second: nothing of the full record is lost, and
    the signature steps agree with the signature date the survivor now has."""
    stub = make_agreement(slug="stub", title="Logistics")
    full = make_agreement(
        slug="full",
        title="Logistics",
        signed_on=D(2020, 1, 1),
        entered_into_force_on=D(2020, 3, 1),
        notice_period_days=180,
        summary="What it does.",
        confirm_not_duplicate=True,
    )
    plan = merge_plan(survivor=stub, duplicate=full)
    assert plan.facts_filled["signed_on"] == D(2020, 1, 1) and not plan.conflicts

    agreement_merge(survivor=stub, duplicate=full, user=editor, reason="Same text.")

    stub.refresh_from_db()
    assert (stub.signed_on, stub.entered_into_force_on, stub.notice_period_days) == (
        D(2020, 1, 1),
        D(2020, 3, 1),
        180,
    )
    assert (stub.summary, stub.status) == ("What it does.", "in_force")
    for code in ("JP", "PH"):
        assert step(stub, code, "signature").date == D(2020, 1, 1)


def test_two_different_dates_refuse_the_merge_naming_both(make_agreement, editor):
    first = make_agreement(slug="first", title="Logistics", signed_on=D(2020, 1, 1))
    second = make_agreement(
        slug="second", title="Logistics", signed_on=D(2020, 1, 2), confirm_not_duplicate=True
    )
    with pytest.raises(MergeRefused) as refused:
        agreement_merge(survivor=first, duplicate=second, user=editor, reason="Same.")
    assert "2020-01-01 here, 2020-01-02 in the duplicate" in str(refused.value)
    assert Agreement.objects.filter(slug="second").exists()
