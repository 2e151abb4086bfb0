"""Reading JSON request bodies so that no body, however odd, turns into a 500.

Python's ``json`` module accepts what later code cannot use: a lone UTF-16 surrogate (written as
``"\\ud800"``, or as its UTF-8 bytes, which ``json.loads`` lets through) cannot be encoded again, so
the answer that echoes it fails; and a body of nested brackets small enough to be under any size
limit exhausts the parser's recursion. Both the console API and the instance API read bodies here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# A \uD800–\uDFFF escape: rare in real bodies, so only a body with one pays for the full check.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BadJson(ValueError):
    """The body is not JSON that the console can use; the message says why, without echoing it."""


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a UTF-8 request body; raises BadJson.

    Refused: invalid UTF-8 (and any other encoding: RFC 8259 asks for UTF-8), a lone surrogate in
    any string or key, NaN and Infinity, integers longer than Python converts, and nesting deeper
    than the interpreter's recursion allows.
    """
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadJson("The request body's JSON is nested too deeply.") from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors.
        raise BadJson("The request body is not valid JSON in UTF-8.") from None
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(value):
        raise BadJson(
            "The request body's JSON contains a lone surrogate (\\ud800 to \\udfff), which is not text."
        )
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what ``parse_json_body`` refuses with DRF's 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return parse_json_body(raw)
        except BadJson as error:
            raise ParseError(f"JSON parse error - {error}") from None
