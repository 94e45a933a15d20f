"""The API's JSON, encoded by orjson, and lists as CSV (`?format=csv`), safe to open in a
spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(csv_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not isinstance(value, int | float):
        return "'" + text
    return text


class _Encoder(JSONEncoder):
    """DRF's encoder, which also reads JSON text kept ready (`orjson.Fragment`, which orjson
    puts in as it is) for the bodies DRF's way encodes: indented, ASCII only, or what orjson
    refused."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, orjson.Fragment):
            return orjson.loads(obj.contents)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, with the same bytes encoded by orjson.

    Encoding was a large part of a list request: 2.8 ms of a page of 50 agreements with their
    parties (138 KB) went to the standard library's encoder, 0.2 ms with orjson. The output is
    DRF's compact form, byte for byte (tests/apikit/test_renderers.py): no spaces between
    tokens, characters outside ASCII as UTF-8, U+2028 and U+2029 escaped for JavaScript, and
    dates, times, decimals, lazy strings and the rest that orjson does not know through DRF's
    own encoder (`default`), subclasses of dict and list as json.dumps reads them. A value
    DRF's encoder refuses raises its error. What orjson refuses (an integer past 64 bits) and
    an indented response (`Accept: application/json; indent=4`, the browsable API) go DRF's
    way. Floats, of which no field of ours makes any, differ: orjson spells some of them
    another way (0.00006103515625 for 6.103515625e-05, the same number), and writes null for
    one that is not a number (NaN, infinity), which DRF's strict JSON refused with an error.
    """

    encoder_class = _Encoder

    _OPTIONS = (
        orjson.OPT_PASSTHROUGH_DATETIME  # DRF's form: milliseconds, "Z" for UTC
        | orjson.OPT_PASSTHROUGH_DATACLASS  # DRF's encoder refuses them; so must this
        # A subclass of dict or list may read differently from its storage (Django's ErrorDict
        # and QueryDict, a reordered OrderedDict), which orjson would encode: `_default`
        # reads it as json.dumps does.
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        # Not OPT_NON_STR_KEYS: it doubles the encoding's time for every body, and a key that
        # is not a string (none of ours) is refused and goes DRF's way.
    )

    def encodes_fragments(self, accepted_media_type: str | None, renderer_context=None) -> bool:
        """Whether the body is encoded by orjson, which puts an `orjson.Fragment` (JSON text
        kept ready) into it as it is; DRF's way (indented, ASCII only) decodes it first."""
        return not (
            self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        )

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None or not self.encodes_fragments(accepted_media_type, renderer_context):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_default, option=self._OPTIONS)
        except orjson.JSONEncodeError as refused:
            if refused.__cause__ is not None:
                # DRF's encoder refused a value: the error DRF's way raises, without encoding
                # (and consuming, or querying) anything a second time.
                raise refused.__cause__ from None
            return super().render(data, accepted_media_type, renderer_context)
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


_drf_encoder = _Encoder()


def _default(value: Any) -> Any:
    """What json.dumps, with DRF's encoder, makes of a value orjson leaves to it (the result
    is encoded again): a subclass of str, int, float, dict or list read as json.dumps reads it
    (a mapping through its items(), a list through iteration), anything else by DRF's encoder."""
    if isinstance(value, bool):
        return bool(value)
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, dict):
        return dict(value.items())
    if isinstance(value, list):
        return list(value)
    return _drf_encoder.default(value)


class CSVRenderer(renderers.BaseRenderer):
    """A list page (or an error) as CSV, one row per object, columns in serializer order."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        elif data is None:
            rows = []
        else:
            rows = [data]
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row.get(column)) for column in columns])
        return buffer.getvalue().encode(self.charset)
