"""The API's JSON renderer (apikit.renderers.JSONRenderer) gives DRF's bytes, encoded by orjson,
and falls back to DRF's encoder for what orjson refuses."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections import OrderedDict

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers as drf
from rest_framework.relations import Hyperlink
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from apikit.renderers import JSONRenderer

UTC = dt.UTC


def _both(data, media_type: str | None = "application/json", context=None) -> tuple[bytes, bytes]:
    ours = JSONRenderer().render(data, media_type, context)
    theirs = drf.JSONRenderer().render(data, media_type, context)
    return ours, theirs


@pytest.mark.parametrize(
    "data",
    [
        {"title": "Japan–Philippines ACSA", "parties": ["JP", "PH"], "count": 2, "ok": True},
        {"text": "日本 and é, a line\u2028separator and a paragraph\u2029separator", "n": None},
        [1, -2, 3.5, 0.1, 12345678901234, 'tab\tnewline\nquote"backslash\\'],
        {"at": dt.datetime(2024, 7, 8, 9, 30, 15, 123456, tzinfo=UTC)},  # milliseconds, Z
        {"at": dt.datetime(2024, 7, 8, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))},
        {"at": dt.datetime(2024, 7, 8, 9, 30)},  # naive
        {"on": dt.date(2025, 9, 11), "time": dt.time(8, 15, 30, 500000), "gap": dt.timedelta(1)},
        {"amount": decimal.Decimal("12.5"), "id": uuid.UUID(int=7)},
        {"label": gettext_lazy("Signed"), "url": Hyperlink("https://example.org/a/", None)},
        ReturnDict({"rows": ReturnList([{"a": 1}], serializer=None)}, serializer=None),
        OrderedDict([("b", 1), ("a", 2)]),
        {1: "one", 2.5: "two and a half", False: "no", None: "none"},  # keys that are not str
        {"tuple": (1, 2), "nested": {"deep": [{"x": []}, {}]}},
        {"big": 2**70},  # past 64 bits: orjson refuses, DRF's way answers
        "",
        [],
    ],
)
def test_the_bytes_are_drfs(data):
    ours, theirs = _both(data)
    assert ours == theirs


def test_subclasses_read_as_json_dumps_reads_them():
    """orjson would encode a dict or list subclass from its storage; json.dumps reads it."""
    from django import forms
    from django.http import QueryDict

    message = forms.IntegerField().error_messages["invalid"]
    error_dict = forms.utils.ErrorDict({"n": forms.utils.ErrorList([message])})
    reordered = OrderedDict([("a", 1), ("b", 2)])
    reordered.move_to_end("a")
    for data in (error_dict, QueryDict("a=1&a=2&b=3"), reordered, {"nested": [reordered]}):
        ours, theirs = _both(data)
        assert ours == theirs


def test_a_value_drfs_encoder_refuses_is_its_error_and_read_once():
    class Opaque:
        pass

    consumed = []

    def rows():
        consumed.append(1)
        yield 1

    with pytest.raises(TypeError):
        JSONRenderer().render({"rows": rows(), "x": Opaque()})
    assert consumed == [1]


def test_none_renders_nothing():
    assert JSONRenderer().render(None) == b""


@pytest.mark.parametrize(
    "media_type, context",
    [("application/json; indent=4", None), ("application/json", {"indent": 2})],
)
def test_an_indented_response_is_drfs(media_type, context):
    data = {"a": [1, {"b": "é"}], "c": dt.date(2024, 1, 2)}
    ours, theirs = _both(data, media_type, context)
    assert ours == theirs
    assert b"\n    " in ours or b"\n  " in ours


def test_what_neither_encodes_is_an_error_as_before():
    class Opaque:
        pass

    with pytest.raises(TypeError):
        JSONRenderer().render({"x": Opaque()})


def test_a_float_that_is_not_a_number_becomes_null():
    # The one documented difference: DRF's strict JSON refuses it; orjson writes null.
    with pytest.raises(ValueError):
        drf.JSONRenderer().render({"x": float("nan")})
    assert JSONRenderer().render({"x": float("nan"), "y": float("inf")}) == b'{"x":null,"y":null}'


def _json(leaves):
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=8), children, max_size=5)
        ),
        max_leaves=30,
    )


_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text()
    | st.dates()
    | st.datetimes(timezones=st.sampled_from([None, UTC]))
)
# DRF's encoder makes a float of a Decimal (fields give decimals as strings, not Decimals).
_floats = st.floats(allow_nan=False, allow_infinity=False) | st.decimals(
    allow_nan=False, allow_infinity=False
)


@settings(max_examples=300, deadline=None)
@given(_json(_leaves))
def test_any_value_renders_as_drf_renders_it(data):
    ours, theirs = _both(data)
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(_json(_leaves | _floats))
def test_floats_are_the_same_numbers(data):
    # orjson spells some floats another way (0.00006103515625 for Python's 6.103515625e-05):
    # the same number, which every reader parses alike. No field of the API is a float.
    ours, theirs = _both([data])
    assert json.loads(ours) == json.loads(theirs)


@pytest.mark.django_db
def test_the_api_answers_in_drfs_bytes(anon, make_agreement):
    make_agreement(slug="jp-ph", title="Japan–Philippines ACSA\u2028(signed in Manila)")
    response = anon.get("/api/v1/agreements/")
    assert response.status_code == 200
    body = response.content
    assert b"\\u2028" in body and "–".encode() in body
    assert body == drf.JSONRenderer().render(json.loads(body))
