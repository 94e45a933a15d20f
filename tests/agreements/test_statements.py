"""Reservations, declarations and objections: rules on every path, API with ETags, the
agreement page, export round trip, search."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from agreements.models import Objection, Statement
from agreements.services import ConflictError, ProvisionInput, provision_add
from agreements.statements import (
    ObjectionInput,
    StatementInput,
    objection_add,
    statement_add,
    statement_update,
    statement_withdraw,
)
from transfer.services import agreements_export, agreements_import, rows_from_bytes

D = dt.date


@pytest.fixture
def trio(make_agreement):
    return make_agreement(
        slug="trio", kind="multilateral", party_codes=["JP", "PH", "AU"], title="Trio pact"
    )


@pytest.fixture
def reservation(trio):
    return statement_add(
        agreement=trio,
        data=StatementInput(
            party_code="PH",
            kind="reservation",
            text="Excludes archipelagic waters.",
            made_on=D(2020, 1, 1),
        ),
    )


def test_statement_by_a_non_party_is_a_party_field_error(trio):
    with pytest.raises(ValidationError) as exc:
        statement_add(
            agreement=trio, data=StatementInput(party_code="GB", kind="declaration", text="x")
        )
    assert "party" in exc.value.message_dict
    assert not Statement.objects.exists()


def test_provision_of_another_agreement_is_refused(trio, make_agreement):
    other = make_agreement(slug="other")
    provision = provision_add(
        agreement=other, data=ProvisionInput(category="other", text="t"), order=1
    )
    with pytest.raises(ValidationError) as exc:
        statement_add(
            agreement=trio,
            data=StatementInput(party_code="JP", kind="declaration", text="x", provision=provision),
        )
    assert "provision" in exc.value.message_dict


def test_withdrawal_before_the_statement_is_refused_and_nothing_changes(reservation):
    with pytest.raises(ValidationError) as exc:
        statement_withdraw(statement=reservation, withdrawn_on=D(2019, 12, 31))
    assert "withdrawn_on" in exc.value.message_dict
    reservation.refresh_from_db()
    assert reservation.withdrawn_on is None and reservation.version == 1


def test_withdrawal_is_recorded_with_history(reservation):
    statement_withdraw(statement=reservation, withdrawn_on=D(2021, 1, 1), note="Paragraph 2 stays.")
    reservation.refresh_from_db()
    assert reservation.withdrawn_on == D(2021, 1, 1) and reservation.version == 2
    assert reservation.history.count() == 2


def test_objection_rules(trio, reservation):
    declaration = statement_add(
        agreement=trio, data=StatementInput(party_code="JP", kind="declaration", text="d")
    )
    cases = [
        (declaration, "AU", None, "statement"),
        (reservation, "PH", None, "party"),  # the reserving party itself
        (reservation, "GB", None, "party"),  # not a party
        (reservation, "AU", D(2019, 1, 1), "made_on"),  # before the reservation
    ]
    for statement, code, made_on, field in cases:
        with pytest.raises(ValidationError) as exc:
            objection_add(
                statement=statement, data=ObjectionInput(party_code=code, made_on=made_on)
            )
        assert field in exc.value.message_dict, (code, field)
    assert not Objection.objects.exists()
    objection_add(
        statement=reservation,
        data=ObjectionInput(party_code="AU", made_on=D(2020, 6, 1), opposes_entry_into_force=True),
    )
    with pytest.raises(ValidationError) as exc:
        statement_update(statement=reservation, kind="declaration")
    assert "kind" in exc.value.message_dict


def test_stale_version_is_a_conflict(reservation):
    statement_update(statement=reservation, text="Changed.")
    with pytest.raises(ConflictError):
        statement_update(statement=reservation, expected_version=1, text="Again.")


def test_api_crud_with_etag(trio, editor_client, anon):
    url = reverse("api:statement-list")
    bad = editor_client.post(
        url, {"agreement": "trio", "party": "GB", "kind": "reservation", "text": "x"}, format="json"
    )
    assert bad.status_code == 400 and "party" in bad.json()["errors"]
    created = editor_client.post(
        url,
        {
            "agreement": "trio",
            "party": "PH",
            "kind": "reservation",
            "text": "Reserved.",
            "made_on": "2020-01-01",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    detail = created.json()["url"]
    etag = created["ETag"]
    assert editor_client.patch(detail, {"text": "x"}, format="json").status_code == 428
    early = editor_client.patch(
        detail, {"withdrawn_on": "2019-01-01"}, format="json", HTTP_IF_MATCH=etag
    )
    assert early.status_code == 400 and "withdrawn_on" in early.json()["errors"]
    ok = editor_client.patch(
        detail, {"withdrawn_on": "2021-01-01"}, format="json", HTTP_IF_MATCH=etag
    )
    assert ok.status_code == 200 and ok.json()["withdrawn_on"] == "2021-01-01"
    stale = editor_client.patch(detail, {"text": "y"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    missing = editor_client.post(
        reverse("api:objection-list"), {"statement": 999999, "party": "AU"}, format="json"
    )
    assert missing.status_code == 400 and "statement" in missing.json()["errors"]
    objection = editor_client.post(
        reverse("api:objection-list"),
        {"statement": created.json()["id"], "party": "AU", "made_on": "2020-02-01"},
        format="json",
    )
    assert objection.status_code == 201, objection.json()
    body = anon.get(reverse("api:agreement-detail", args=["trio"])).json()
    assert body["statements"][0]["objections"][0]["party"] == "AU"
    assert anon.post(url, {}, format="json").status_code in (401, 403)
    current = editor_client.get(detail)
    gone = editor_client.delete(detail, HTTP_IF_MATCH=current["ETag"])
    assert gone.status_code == 204 and not Objection.objects.exists()


def test_page_shows_statements_per_party(reservation, editor):
    page = Client().get(reverse("pages:agreement_detail", args=["trio"]))
    assert b"Reservations and declarations" in page.content
    assert b"Excludes archipelagic waters." in page.content
    client = Client()
    client.force_login(editor)
    form = client.post(
        reverse("pages:objection_add", args=["trio", reservation.pk]),
        {"party": "PH", "made_on": "2020-02-01"},
    )
    assert form.status_code == 400 and b"cannot object to its own reservation" in form.content
    edit = client.post(
        reverse("pages:statement_edit", args=["trio", reservation.pk]),
        {
            "party": "PH",
            "kind": "reservation",
            "text": "t",
            "made_on": "2020-01-01",
            "withdrawn_on": "2019-01-01",
            "expected_version": reservation.version,
        },
    )
    assert edit.status_code == 400 and b"withdrawn before it was made" in edit.content


def test_export_round_trip_and_import_errors(trio, reservation):
    objection_add(
        statement=reservation, data=ObjectionInput(party_code="AU", made_on=D(2020, 3, 1))
    )
    for fmt in ("json", "csv"):
        text = agreements_export(fmt=fmt)
        report = agreements_import(rows=rows_from_bytes(text.encode(), name=f"x.{fmt}"))
        assert not report.failed, [r.errors for r in report.rows]
        assert {r.action for r in report.rows} == {"no-op"}, fmt
    rows = rows_from_bytes(agreements_export(fmt="json").encode(), name="x.json")
    row = next(r for r in rows if r["slug"] == "trio")
    row["statements"][0]["objections"][0]["party"] = "PH"
    report = agreements_import(rows=rows)
    assert report.failed and any("statements[1]" in e for r in report.rows for e in r.errors)
    assert Objection.objects.get().party.code == "AU"


def test_search_finds_reservation_text(reservation, anon):
    found = anon.get(reverse("api:agreement-list"), {"q": "archipelagic"}).json()
    assert [a["slug"] for a in found["results"]] == ["trio"]


@pytest.mark.postgres
def test_search_finds_reservation_text_on_postgresql(trio, anon):
    statement_add(
        agreement=trio,
        data=StatementInput(party_code="JP", kind="declaration", text="Okinotorishima"),
    )
    found = anon.get(reverse("api:agreement-list"), {"q": "okinotorishima"}).json()
    assert [a["slug"] for a in found["results"]] == ["trio"]


def test_admin_refuses_a_withdrawal_before_the_statement_and_an_objection_by_the_reserver(
    client, editor, reservation
):
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    client.force_login(editor)
    change = client.post(
        reverse("admin:agreements_statement_change", args=[reservation.pk]),
        {
            "party": reservation.party_id,
            "kind": "reservation",
            "made_at": "",
            "made_on": "2020-01-01",
            "text": "t",
            "article": "",
            "withdrawn_on": "2019-01-01",
            "withdrawal_note": "",
        },
    )
    assert change.status_code == 200
    assert "withdrawn_on" in change.context["adminform"].form.errors
    add = client.post(
        reverse("admin:agreements_objection_add"),
        {"statement": reservation.pk, "party": reservation.party_id, "text": ""},
    )
    assert add.status_code == 200 and "party" in add.context["adminform"].form.errors
    assert not Objection.objects.exists()
    reservation.refresh_from_db()
    assert reservation.withdrawn_on is None


def test_merge_moves_statements_with_objections_and_drops_the_same_one_twice(
    make_agreement, editor
):
    from ratification.merging import agreement_merge

    survivor = make_agreement(slug="keep", party_codes=["JP", "PH", "AU"], kind="multilateral")
    duplicate = make_agreement(slug="twice", party_codes=["JP", "PH", "AU"], kind="multilateral")
    same = StatementInput(party_code="JP", kind="declaration", text="Same words.")
    statement_add(agreement=survivor, data=same)
    statement_add(agreement=duplicate, data=same)
    reservation = statement_add(
        agreement=duplicate, data=StatementInput(party_code="PH", kind="reservation", text="R.")
    )
    objection_add(statement=reservation, data=ObjectionInput(party_code="AU"))

    merge = agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")

    assert sorted(survivor.statements.values_list("text", flat=True)) == ["R.", "Same words."]
    assert Objection.objects.get().statement.agreement == survivor
    assert merge.summary["statements_dropped"] and merge.summary["statements_moved"]


def test_api_list_filters_by_agreement_party_and_kind(reservation, anon):
    url = reverse("api:statement-list")
    body = anon.get(url, {"agreement": "trio", "party": "PH", "kind": "reservation"}).json()
    assert [s["text"] for s in body["results"]] == ["Excludes archipelagic waters."]
    assert anon.get(url, {"kind": "declaration"}).json()["results"] == []


def test_page_queries_do_not_grow_with_statements(client, trio):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("pages:agreement_detail", args=["trio"])).status_code == 200
        return len(captured)

    first = statement_add(
        agreement=trio, data=StatementInput(party_code="PH", kind="reservation", text="R0")
    )
    objection_add(statement=first, data=ObjectionInput(party_code="JP"))
    one = queries()
    for n in range(1, 6):
        more = statement_add(
            agreement=trio,
            data=StatementInput(party_code=["PH", "AU"][n % 2], kind="reservation", text=f"R{n}"),
        )
        objection_add(statement=more, data=ObjectionInput(party_code="JP"))
    assert queries() == one
