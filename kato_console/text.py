"""Text from outside (a request's path, a probed server's error, a name) made safe to write on a line."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with every control character (line breaks included) written as its escape sequence
    (``\\n``, ``\\x00``, ``\\u2028``): one line stays one line, and nothing in it is hidden."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)
