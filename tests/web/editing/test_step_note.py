"""Issue 18, item 6: recording an outcome offers to keep, replace or clear the step's earlier
note, shows when that note was written, and the conflict page never clears a colleague's note
the editor did not see. Submitted as the page offers it (page_forms), without JavaScript."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ratification.services import step_record

from .conftest import DIET, jp_step
from .page_forms import page_form

pytestmark = pytest.mark.django_db

EARLIER = "Submission not yet confirmed."


@pytest.fixture
def diet(acsa):
    """Japan's Diet submission, pending, with a note written for that."""
    step = jp_step(acsa, 2)
    return step_record(step=step, status="pending", note=EARLIER)


def _form(client, step):
    page = client.get(reverse("pages:step_record", args=[step.pk]))
    assert page.status_code == 200
    return page, page_form(page, "Record step")


def _complete(source, **changes):
    return {"status": "completed", "date": DIET.isoformat(), "source": str(source.pk), **changes}


def test_the_form_shows_the_earlier_note_with_its_date_and_offers_to_keep_it(editor_client, diet):
    page, form = _form(editor_client, diet)
    html = page.content.decode()
    assert EARLIER in html
    assert f'Earlier note, written <time datetime="{diet.note_updated_at.isoformat()}' in html
    assert f">{diet.note_updated_at.date().isoformat()}</time>" in html
    data = form.data()
    assert data["keep_note"] == ["on"]  # ticked: saving something else never drops the note
    assert data["note"] == [""]  # the box is for a new note, not the old one to edit
    assert data["note_offered"] == ["True"]
    assert "New note" in html


def test_a_step_without_a_note_offers_no_choice(editor_client, acsa, source):
    step = jp_step(acsa, 2)
    _, form = _form(editor_client, step)
    assert "keep_note" not in form.names()
    assert form.data()["note_offered"] == ["False"]
    saved = form.submit(editor_client, **_complete(source, note="Tabled on 2 March."))
    assert saved.status_code == 302
    step.refresh_from_db()
    assert step.note == "Tabled on 2 March." and step.note_updated_at is not None


def test_completing_with_keep_ticked_keeps_the_note_and_its_date(editor_client, diet, source):
    _, form = _form(editor_client, diet)
    assert form.submit(editor_client, **_complete(source)).status_code == 302
    written = diet.note_updated_at
    diet.refresh_from_db()
    assert (diet.status, diet.note, diet.note_updated_at) == ("completed", EARLIER, written)


def test_unticking_keep_with_an_empty_box_clears_the_note(editor_client, diet, source):
    _, form = _form(editor_client, diet)
    assert form.submit(editor_client, keep_note=None, **_complete(source)).status_code == 302
    diet.refresh_from_db()
    assert (diet.status, diet.note, diet.note_updated_at) == ("completed", "", None)


def test_unticking_keep_and_writing_a_note_replaces_it(editor_client, diet, source):
    _, form = _form(editor_client, diet)
    changes = _complete(source, note="Approved by both Houses.")
    assert form.submit(editor_client, keep_note=None, **changes).status_code == 302
    written = diet.note_updated_at
    diet.refresh_from_db()
    assert diet.note == "Approved by both Houses."
    assert diet.note_updated_at > written


def test_keep_ticked_and_a_new_note_is_refused_not_guessed(editor_client, diet, source):
    """Append? Replace? The form asks rather than picks; nothing is written."""
    _, form = _form(editor_client, diet)
    refused = form.submit(editor_client, **_complete(source, note="Approved."))
    assert refused.status_code == 400
    assert "untick “Keep the earlier note”" in refused.context["form"].errors["note"][0]
    again = page_form(refused, "Record step")  # the page shown keeps the choice offered
    assert again.data()["note_offered"] == ["True"] and again.data()["note"] == ["Approved."]
    diet.refresh_from_db()
    assert (diet.status, diet.note) == ("pending", EARLIER)
    assert again.submit(editor_client, keep_note=None).status_code == 302
    diet.refresh_from_db()
    assert diet.note == "Approved."


def test_the_edit_page_offers_the_same_choice(editor_client, acsa, diet, source):
    page = editor_client.get(reverse("pages:agreement_edit", args=[acsa.slug]))
    html = page.content.decode()
    assert f'id="step{diet.pk}_keep_note"' in html and EARLIER in html
    assert "Earlier note, written" in html


def test_the_agreement_page_dates_the_note(client, acsa, diet):
    page = client.get(acsa.get_absolute_url())
    html = page.content.decode()
    assert EARLIER in html
    assert f'Note written <time datetime="{diet.note_updated_at.isoformat()}' in html


# The conflict page -------------------------------------------------------------------------------


def _rows(response) -> dict:
    return {row.label: row for row in response.context["rows"]}


def test_keeping_the_note_never_undoes_a_colleagues_new_note(
    editor_client, second_editor_client, diet, source
):
    """kenji rewrites the note while my form (note kept) is open; I complete the step. The
    conflict page keeps his note, and applying saves my outcome with his note."""
    _, mine = _form(editor_client, diet)
    _, his = _form(second_editor_client, diet)
    assert (
        his.submit(second_editor_client, keep_note=None, note="Tabled 2 March.").status_code == 302
    )

    conflict = mine.submit(editor_client, **_complete(source))
    assert conflict.status_code == 409
    row = _rows(conflict)["Note"]
    assert (row.base, row.theirs, row.mine, row.happens) == (
        EARLIER,
        "Tabled 2 March.",
        EARLIER,
        "kept theirs",
    )
    assert page_form(conflict, "Apply").submit(editor_client).status_code == 302
    diet.refresh_from_db()
    assert (diet.status, diet.note) == ("completed", "Tabled 2 March.")


def test_a_note_added_while_my_form_had_none_stays(
    editor_client, second_editor_client, acsa, source
):
    """My form had no note to offer (an empty box); kenji adds one meanwhile; my empty box is
    not a clearing of a note I never saw."""
    step = jp_step(acsa, 2)
    _, mine = _form(editor_client, step)
    _, his = _form(second_editor_client, step)
    assert his.submit(second_editor_client, note="Tabled 2 March.").status_code == 302

    conflict = mine.submit(editor_client, **_complete(source))
    assert conflict.status_code == 409
    assert _rows(conflict)["Note"].happens == "kept theirs"
    assert page_form(conflict, "Apply").submit(editor_client).status_code == 302
    step.refresh_from_db()
    assert (step.status, step.note) == ("completed", "Tabled 2 March.")


def test_clearing_a_note_a_colleague_changed_meanwhile_asks(
    editor_client, second_editor_client, diet, source
):
    """I clear the note I saw; kenji had rewritten it: the page asks, and his note stays unless I
    pick mine."""
    _, mine = _form(editor_client, diet)
    _, his = _form(second_editor_client, diet)
    assert (
        his.submit(second_editor_client, keep_note=None, note="Tabled 2 March.").status_code == 302
    )

    conflict = mine.submit(editor_client, keep_note=None, **_complete(source))
    row = _rows(conflict)["Note"]
    assert (row.theirs, row.mine, row.happens) == ("Tabled 2 March.", "—", "choose")
    apply = page_form(conflict, "Apply")
    assert apply.submit(editor_client, **{"pick-note": "theirs"}).status_code == 302
    diet.refresh_from_db()
    assert (diet.status, diet.note) == ("completed", "Tabled 2 March.")


def test_clearing_the_note_after_an_unrelated_save_clears_it(
    editor_client, second_editor_client, diet, source
):
    """kenji changes only the body; my clearing of the note I saw is applied."""
    _, mine = _form(editor_client, diet)
    _, his = _form(second_editor_client, diet)
    assert his.submit(second_editor_client, body="House of Representatives").status_code == 302

    conflict = mine.submit(editor_client, keep_note=None, **_complete(source))
    assert _rows(conflict)["Note"].happens == "yours applied"
    assert page_form(conflict, "Apply").submit(editor_client).status_code == 302
    diet.refresh_from_db()
    assert (diet.body, diet.note, diet.status) == ("House of Representatives", "", "completed")
