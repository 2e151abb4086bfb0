"""The naming rules of components, ports and variables, shared by models, forms and the API
(docs/architecture.md, "Invariants")."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

SERVICE_NAME_RE = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
PORT_ALIAS_RE = r"^[A-Z][A-Z0-9_]*$"
ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A component's service id: the id in its instance API URL (models.new_service_id).
SERVICE_ID_RE = re.compile(r"^[0-9a-f]{32}$")

# Control characters: line breaks (with Unicode's own), tabs, NUL, escapes and the C1 controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NO_CONTROL_CHARACTERS = (
    "Use letters, digits, spaces and punctuation: no line breaks, tabs or other control characters."
)


def refuse_control_characters(**names: str) -> None:
    """``ValidationError`` on each of these fields whose text holds a control character. Names end up
    in pages, logs, emails and chat messages, where a line break forges a line or a header; every
    model with a name calls this from its ``clean()``, so every door (page, API, admin, command)
    refuses it alike."""
    errors = {
        field: NO_CONTROL_CHARACTERS for field, text in names.items() if CONTROL_CHARACTERS.search(text or "")
    }
    if errors:
        raise ValidationError(errors)


def printable(text: str) -> str:
    """``text`` with every control character written as its escape sequence (``\\n``, ``\\x00``,
    ``\\u2028``): one line stays one line, and nothing in it is hidden."""
    return CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


# Names a container runtime or the shell owns: a component may not redefine them.
RESERVED_ENV_NAMES = (
    "HOME",
    "HOSTNAME",
    "LANG",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "PATH",
    "PWD",
    "SHELL",
    "TERM",
    "USER",
)

service_name_validator = RegexValidator(
    SERVICE_NAME_RE,
    "A service name is a DNS label: lower-case letters, digits and hyphens, starting with a letter "
    "and not ending with a hyphen (for example mysql-primary).",
)
port_alias_validator = RegexValidator(
    PORT_ALIAS_RE,
    "A port alias is upper-case letters, digits and underscores, starting with a letter (for example MYSQL).",
)
env_name_validator = RegexValidator(
    ENV_NAME_RE,
    "A variable name is letters, digits and underscores and does not start with a digit (for example MYSQL_USER).",
)


def service_name_from(name: str) -> str:
    """Derive a DNS-label service name from a display name: 'RDS MySQL (prod)' -> 'rds-mysql-prod'."""
    label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    label = re.sub(r"^[^a-z]+", "", label)[:63].rstrip("-")
    return label or "component"


def alias_from(service_name: str) -> str:
    """Default port alias from a service name: 'mysql' -> 'MYSQL', 'rds-mysql' -> 'RDS_MYSQL'."""
    alias = re.sub(r"[^A-Z0-9]+", "_", service_name.upper()).strip("_")
    return alias if re.match(PORT_ALIAS_RE, alias or "") else f"P_{alias}" if alias else "SERVICE"
