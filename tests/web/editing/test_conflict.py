"""No silent overwrite: a stale form shows the conflict page, merged against the version the form
was loaded from; "Apply my changes" saves only what the editor changed, and asks where both
editors changed the same field."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.models import Agreement
from ratification.models import RatificationStep

from .conftest import DIET, jp_step
from .page_forms import page_form

pytestmark = pytest.mark.django_db


def _rows(response) -> dict:
    return {row.label: row for row in response.context["rows"]}


def _step_form(client, step):
    """The step's record form as the editor's browser has it (loaded now)."""
    page = client.get(reverse("pages:step_record", args=[step.pk]))
    assert page.status_code == 200
    return page_form(page, "Record step")


def _apply(conflict, client, **changes):
    return page_form(conflict, "Apply").submit(client, **changes)


def test_second_editors_stale_step_save_shows_a_conflict(
    editor_client, second_editor_client, acsa, source
):
    """Both open the form at version 1; kenji saves first; the editor's save is refused with
    what the step was, what it is and what they entered, side by side, and kenji's record
    stays."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    loaded = step.version
    first = second_editor_client.post(
        url,
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "body": "National Diet",
            "expected_version": loaded,
        },
    )
    assert first.status_code == 302
    second = editor_client.post(
        url,
        {
            "status": "scheduled",
            "date": "2999-04-01",
            "body": "Diet (ordinary session)",
            "expected_version": loaded,
        },
    )
    assert second.status_code == 409
    html = second.content.decode()
    assert "kenji" in html  # who saved in between
    assert "Someone else saved" in html
    assert "Diet (ordinary session)" in html  # mine, not lost
    assert "Keep theirs" in html and "Apply my changes" in html
    step.refresh_from_db()
    assert step.status == "completed" and step.body == "National Diet"
    # When opened, theirs and mine, row by row, with what applying would do.
    rows = _rows(second)
    assert (rows["Status"].base, rows["Status"].theirs, rows["Status"].mine) == (
        "Pending",
        "Completed",
        "Scheduled",
    )
    assert rows["Status"].happens == "choose" and rows["Date"].happens == "choose"
    assert rows["Body"].happens == "yours applied"
    assert rows["Source"].happens == "kept theirs"  # they cited it, I left it alone
    assert rows["Note"].happens == "same"
    # What they changed since the form was loaded.
    changes = second.context["their_changes"]
    assert changes and changes[0][0].history_user.username == "kenji"


def test_apply_my_changes_keeps_their_edit_in_a_field_i_did_not_touch(
    editor_client, second_editor_client, acsa
):
    """The reported data loss: editor 1 changes only the body; editor 2, from a copy of the form
    opened before, changes only the note; on the conflict page editor 2 applies their changes.
    The body stays editor 1's and the note becomes editor 2's."""
    step = jp_step(acsa, 2)
    first = _step_form(second_editor_client, step)
    second = _step_form(editor_client, step)  # the older copy, open in another browser
    assert first.submit(second_editor_client, body="House of Representatives").status_code == 302

    conflict = second.submit(editor_client, note="Approved by a show of hands")
    assert conflict.status_code == 409

    applied = _apply(conflict, editor_client)
    assert applied.status_code == 302
    step.refresh_from_db()
    assert step.body == "House of Representatives"
    assert step.note == "Approved by a show of hands"
    assert step.version == 3


def test_apply_mine_after_a_conflict(editor_client, second_editor_client, acsa, source):
    """Rewritten for the three-way merge: this test used to assert that the retry form carried
    all of my values and saved them over theirs. Now the page carries my values, the version I
    loaded and the one it showed; applying saves my one change (the note) on top of theirs."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    second_editor_client.post(
        url,
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": 1,
        },
    )
    mine = {
        "status": "pending",
        "body": "National Diet",
        "note": "Approved by a show of hands",
        "expected_version": 1,
    }
    conflict = editor_client.post(url, mine)
    assert conflict.status_code == 409
    form = page_form(conflict, "Apply")
    assert form.data()["note"] == ["Approved by a show of hands"]
    assert form.data()["base_version"] == ["1"] and form.data()["seen_version"] == ["2"]
    applied = form.submit(editor_client)
    assert applied.status_code == 302
    step.refresh_from_db()
    assert step.note == "Approved by a show of hands"
    assert (step.status, step.date, step.source) == ("completed", DIET, source)  # theirs
    assert step.version == 3


def _clash(editor_client, second_editor_client, acsa):
    """Both change the body, differently; I also change the note."""
    step = jp_step(acsa, 2)
    first = _step_form(second_editor_client, step)
    second = _step_form(editor_client, step)
    first.submit(second_editor_client, body="House of Representatives")
    conflict = second.submit(editor_client, body="Both Houses", note="Joint session")
    assert conflict.status_code == 409
    return step, conflict


def test_a_clash_needs_a_pick(editor_client, second_editor_client, acsa):
    """No default: applying without picking is a field error (400) and writes nothing."""
    step, conflict = _clash(editor_client, second_editor_client, acsa)
    row = _rows(conflict)["Body"]
    assert (row.base, row.theirs, row.mine, row.happens) == (
        "National Diet",
        "House of Representatives",
        "Both Houses",
        "choose",
    )
    assert 'value="mine" checked' not in conflict.content.decode()
    refused = _apply(conflict, editor_client)
    assert refused.status_code == 400
    assert refused.context["picks"].errors["body"] == ["Choose theirs or yours."]
    assert "Choose theirs or yours" in refused.content.decode()
    step.refresh_from_db()
    assert (step.version, step.body, step.note) == (2, "House of Representatives", "")
    # The page shown with the error can be submitted again, with a pick.
    assert _apply(refused, editor_client, **{"pick-body": "mine"}).status_code == 302


@pytest.mark.parametrize(
    ("pick", "body"), [("theirs", "House of Representatives"), ("mine", "Both Houses")]
)
def test_picking_a_side_for_a_clash(editor_client, second_editor_client, acsa, pick, body):
    step, conflict = _clash(editor_client, second_editor_client, acsa)
    applied = _apply(conflict, editor_client, **{"pick-body": pick})
    assert applied.status_code == 302
    step.refresh_from_db()
    assert step.body == body
    assert step.note == "Joint session"  # only mine changed it, whichever side won the body


def test_a_save_after_the_conflict_page_shows_it_afresh(editor_client, second_editor_client, acsa):
    """kenji saves again while I look at the conflict page: applying shows a new conflict
    page merged against his newest version, and overwrites nothing."""
    step = jp_step(acsa, 2)
    first = _step_form(second_editor_client, step)
    second = _step_form(editor_client, step)
    first.submit(second_editor_client, body="House of Representatives")
    conflict = second.submit(editor_client, note="Joint session")
    assert conflict.status_code == 409

    again = _step_form(second_editor_client, jp_step(acsa, 2))
    assert again.submit(second_editor_client, note="Adopted unanimously").status_code == 302

    fresh = _apply(conflict, editor_client)
    assert fresh.status_code == 409
    assert "saved again while you were deciding" in fresh.content.decode()
    step.refresh_from_db()
    assert (step.version, step.body, step.note) == (
        3,
        "House of Representatives",
        "Adopted unanimously",
    )
    rows = _rows(fresh)
    assert rows["Note"].theirs == "Adopted unanimously" and rows["Note"].happens == "choose"
    assert page_form(fresh, "Apply").data()["seen_version"] == ["3"]
    # Choosing on the new page saves against the newest version.
    assert _apply(fresh, editor_client, **{"pick-note": "mine"}).status_code == 302
    step.refresh_from_db()
    assert (step.version, step.body, step.note) == (4, "House of Representatives", "Joint session")


def test_a_merged_result_that_breaks_the_rules_is_shown_not_saved(
    editor_client, second_editor_client, acsa, source
):
    """kenji records the Diet as completed; I had scheduled it for a future date. Keeping his
    status but my date would be a completed step with a future date: the step form comes back
    with the error and the merged values, and nothing is written."""
    step = jp_step(acsa, 2)
    first = _step_form(second_editor_client, step)
    second = _step_form(editor_client, step)
    first.submit(
        second_editor_client, status="completed", date=DIET.isoformat(), source=str(source.pk)
    )
    conflict = second.submit(editor_client, status="scheduled", date="2999-04-01")
    assert conflict.status_code == 409
    refused = _apply(conflict, editor_client, **{"pick-status": "theirs", "pick-date": "mine"})
    assert refused.status_code == 400
    assert refused.templates[0].name == "editing/step_record.html"
    form = refused.context["form"]
    assert "date" in form.errors
    assert form["status"].value() == "completed" and form["date"].value() == "2999-04-01"
    assert form["source"].value() == str(source.pk)
    assert form["expected_version"].value() == "2"  # correcting it saves on top of kenji's
    step.refresh_from_db()
    assert (step.version, step.status, step.date) == (2, "completed", DIET)


def test_without_a_known_base_every_difference_is_a_choice(editor_client, acsa):
    """A version the step never had (here 0): nothing can be attributed to either side."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    conflict = editor_client.post(
        url, {"status": "pending", "body": "Diet", "note": "n", "expected_version": 0}
    )
    assert conflict.status_code == 409
    rows = _rows(conflict)
    assert rows["Body"].happens == "choose" and rows["Note"].happens == "choose"
    assert rows["Status"].happens == "same" and rows["Body"].base == "not known"


def test_apply_without_the_version_shown_writes_nothing(editor_client, acsa):
    """A post the conflict page did not make (no seen_version): the page, as a 400."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_merge", args=[step.pk])
    response = editor_client.post(url, {"status": "pending", "note": "n", "base_version": 1})
    assert response.status_code == 400
    assert "Apply my changes" in response.content.decode()
    step.refresh_from_db()
    assert (step.version, step.note) == (1, "")


def test_keep_theirs_leaves_the_record_alone(editor_client, second_editor_client, acsa, source):
    """Keep theirs writes nothing and says so, back on the agreement page at the step."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    second_editor_client.post(
        url,
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": 1,
        },
    )
    conflict = editor_client.post(
        url, {"status": "scheduled", "date": "2999-01-01", "expected_version": 1}
    )
    kept = editor_client.post(conflict.context["keep_url"], follow=True)
    assert kept.redirect_chain[-1][0] == f"{acsa.get_absolute_url()}#step-{step.pk}"
    assert "Kept their version; your change was discarded" in kept.content.decode()
    step.refresh_from_db()
    assert step.status == "completed" and step.version == 2


def test_the_same_account_in_another_tab_is_not_someone_else(editor_client, acsa):
    step = jp_step(acsa, 2)
    tab_a = _step_form(editor_client, step)
    tab_b = _step_form(editor_client, step)
    tab_a.submit(editor_client, body="House of Representatives")
    conflict = tab_b.submit(editor_client, note="Joint session")
    assert conflict.status_code == 409
    html = conflict.content.decode()
    assert "You saved this in another tab or window at" in html
    assert "Someone else" not in html


# The agreement's facts -------------------------------------------------------------------------


def _facts(acsa, **changes):
    data = {
        "title": acsa.title,
        "short_name": acsa.short_name,
        "kind": acsa.kind,
        "summary": acsa.summary,
        "signed_on": acsa.signed_on.isoformat(),
        "signed_at": acsa.signed_at,
        "eif_rule": acsa.eif_rule,
        "eif_days": acsa.eif_days,
        "expected_version": acsa.version,
    }
    data.update(changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


def _facts_form(client, acsa):
    page = client.get(reverse("pages:agreement_edit", args=[acsa.slug]))
    assert page.status_code == 200
    return page_form(page, "Save the facts")


def test_stale_facts_save_shows_a_conflict(editor_client, second_editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    assert second_editor_client.post(url, _facts(acsa, signed_at="Manila")).status_code == 302
    response = editor_client.post(url, _facts(acsa, summary="A logistics pact."))
    assert response.status_code == 409
    html = response.content.decode()
    assert "kenji" in html and "Manila" in html and "A logistics pact." in html
    acsa.refresh_from_db()
    assert acsa.signed_at == "Manila" and acsa.summary == ""


def test_facts_merge_keeps_both_editors_fields(editor_client, second_editor_client, acsa):
    """kenji sets the place of signature; I, from the older page, write the summary: both stay."""
    first = _facts_form(second_editor_client, acsa)
    second = _facts_form(editor_client, acsa)
    assert first.submit(second_editor_client, signed_at="Manila").status_code == 302
    conflict = second.submit(editor_client, summary="A logistics pact.")
    assert conflict.status_code == 409
    rows = _rows(conflict)
    assert rows["Signed at"].happens == "kept theirs" and rows["Summary"].happens == "yours applied"
    assert _apply(conflict, editor_client).status_code == 302
    acsa.refresh_from_db()
    assert (acsa.signed_at, acsa.summary, acsa.version) == ("Manila", "A logistics pact.", 3)


def test_facts_clash_needs_a_pick(editor_client, second_editor_client, acsa):
    first = _facts_form(second_editor_client, acsa)
    second = _facts_form(editor_client, acsa)
    first.submit(second_editor_client, short_name="RAA", signed_at="Manila")
    conflict = second.submit(editor_client, short_name="JP-PH ACSA")
    assert _rows(conflict)["Short name"].happens == "choose"
    refused = _apply(conflict, editor_client)
    assert refused.status_code == 400 and "short_name" in refused.context["picks"].errors
    assert Agreement.objects.get(pk=acsa.pk).version == 2
    assert _apply(refused, editor_client, **{"pick-short_name": "mine"}).status_code == 302
    acsa.refresh_from_db()
    assert (acsa.short_name, acsa.signed_at, acsa.version) == ("JP-PH ACSA", "Manila", 3)


def test_facts_keep_theirs(editor_client, second_editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    second_editor_client.post(url, _facts(acsa, signed_at="Manila"))
    conflict = editor_client.post(url, _facts(acsa, signed_at="Tokyo"))
    kept = editor_client.post(conflict.context["keep_url"], follow=True)
    assert kept.redirect_chain[-1][0] == acsa.get_absolute_url()
    assert "Kept their version" in kept.content.decode()
    acsa.refresh_from_db()
    assert (acsa.signed_at, acsa.version) == ("Manila", 2)


def test_facts_save_with_the_current_version(editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    response = editor_client.post(url, _facts(acsa, signed_at="Manila"))
    assert response.status_code == 302
    acsa.refresh_from_db()
    assert acsa.signed_at == "Manila" and acsa.version == 2


def test_facts_validation_errors_are_on_the_fields(editor_client, acsa):
    """Entry into force before signature, and a rule without its days: field errors, no write."""
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    response = editor_client.post(
        url, _facts(acsa, entered_into_force_on="2020-01-01", eif_days="")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors  # the constraint messages
    text = " ".join(str(e) for e in errors.values())
    assert "Entry into force cannot be before signature" in text
    acsa.refresh_from_db()
    assert acsa.version == 1


def test_bilateral_needs_two_parties(editor_client):
    response = editor_client.post(
        reverse("pages:agreement_create"),
        {"slug": "solo", "title": "Solo", "kind": "bilateral", "parties": "JP"},
    )
    assert response.status_code == 400
    assert "parties" in response.context["form"].errors


@pytest.mark.parametrize(
    "url_name", ["step_merge", "step_keep_theirs", "agreement_merge", "agreement_keep_theirs"]
)
def test_conflict_buttons_need_the_editor_role(client, viewer_client, acsa, url_name):
    step = jp_step(acsa, 2)
    args = [step.pk] if url_name.startswith("step") else [acsa.slug]
    url = reverse(f"pages:{url_name}", args=args)
    before = (RatificationStep.history.count(), Agreement.history.count())
    assert client.post(url, {"base_version": 1, "seen_version": 1}).status_code == 302
    assert viewer_client.post(url, {"base_version": 1, "seen_version": 1}).status_code == 403
    assert (RatificationStep.history.count(), Agreement.history.count()) == before
