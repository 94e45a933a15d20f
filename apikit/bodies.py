"""Request bodies: JSON only, at most settings.API_MAX_BODY_BYTES (413 beyond), NaN, Infinity
and text a database cannot store refused; serializers refuse fields they do not know, and values
that are not text where the schema says text."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, serializers

from .errors import RequestTooLarge


class BoundedJSONParser(parsers.JSONParser):
    """JSON with a size limit, strict UTF-8 and no NaN / Infinity."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The body is not valid UTF-8.") from None

        def refuse(name: str) -> None:
            raise ValueError(f"{name} is not valid JSON")

        try:
            data = json.loads(text, parse_constant=refuse)
        except ValueError as exc:
            raise exceptions.ParseError(f"Malformed JSON: {exc}") from None
        except RecursionError:
            # Python's parser recurses once per nesting level; no body of ours nests past ten.
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        if _has_unstorable_text(data):
            # PostgreSQL cannot store NUL in text, and lone surrogates are not text at all.
            raise exceptions.ParseError(
                "Strings may not contain NUL characters or lone surrogates."
            )
        return data


def _has_unstorable_text(value: Any) -> bool:
    # A loop over a stack, not recursion: the parser accepts nesting deeper than Python's
    # recursion limit allows a recursive walk to go.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


NOT_TEXT = "Not a valid string: send text (in quotes)."


def _text_errors(field: Any, value: Any) -> list[str] | dict[int, list[str]] | None:
    """Why `value` is not what a text field (or a list of text) takes, or None if it is.

    DRF's CharField turns a number into its digits (`"publisher": 0` becomes "0"), which the
    schema, saying `type: string`, does not allow: a client sending a number has a bug to hear
    about. Null stays for the field itself to judge (allow_null).
    """
    if isinstance(field, serializers.CharField):
        return None if value is None or isinstance(value, str) else [NOT_TEXT]
    if (
        isinstance(field, serializers.ListField)
        and isinstance(field.child, serializers.CharField)
        and isinstance(value, list)
    ):
        wrong = {i: [NOT_TEXT] for i, item in enumerate(value) if not isinstance(item, str)}
        return wrong or None
    return None


class StrictFieldsMixin:
    """Reject body fields the serializer does not accept, instead of silently dropping them, and
    numbers or booleans sent where text is expected, instead of quietly turning them into text.

    A typo in a field name would otherwise look like success while changing nothing.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(str(k) for k in data if k not in writable)
            if unknown:
                readonly = {name for name, f in self.fields.items() if f.read_only}
                raise exceptions.ValidationError(
                    {
                        key: "This field cannot be written here."
                        if key in readonly
                        else "Unknown field."
                        for key in unknown
                    }
                )
            not_text = {
                name: errors
                for name, value in data.items()
                if (errors := _text_errors(self.fields.get(name), value))
            }
            if not_text:
                raise exceptions.ValidationError(not_text)
        return super().to_internal_value(data)
