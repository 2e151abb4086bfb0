"""The one rule every name obeys, whatever its model: no control characters (docs/architecture.md,
"Invariants"). It lives at the bottom floor because teams, applications, components and alert
channels all have names."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop

# Control characters: line breaks (with Unicode's own), tabs, NUL, escapes and the C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NO_CONTROL_CHARACTERS = gettext_noop(
    "Use letters, digits, spaces and punctuation: no line breaks, tabs or other control characters."
)


def refuse_control_characters(**names: str) -> None:
    """``ValidationError`` on each of these fields whose text holds a control character. Names end up
    in pages, logs, emails and chat messages, where a line break forges a line or a header; every
    model with a name calls this from its ``clean()``, so every door (page, API, admin, command)
    refuses it alike."""
    errors = {
        field: gettext(NO_CONTROL_CHARACTERS)
        for field, text in names.items()
        if CONTROL_CHARACTERS.search(text or "")
    }
    if errors:
        raise ValidationError(errors)


def printable(text: str) -> str:
    """``text`` with every control character written as its escape sequence (``\\n``, ``\\x00``,
    ``\\u2028``): one line stays one line, and nothing in it is hidden."""
    return CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode(), text)
