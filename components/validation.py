"""The naming rules of components, ports and variables, shared by models, forms and the API
(docs/architecture.md, "Invariants")."""

from __future__ import annotations

import re

from anyascii import anyascii
from django.core.validators import RegexValidator
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

SERVICE_NAME_RE = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
PORT_ALIAS_RE = r"^[A-Z][A-Z0-9_]*$"
ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A component's service id: the id in its instance API URL (models.new_service_id).
SERVICE_ID_RE = re.compile(r"^[0-9a-f]{32}$")

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

# A container image reference, after the grammar of distribution/reference (what `docker pull`
# accepts): [registry[:port]/]path[/path…][:tag][@digest], e.g. phpmyadmin:5 or
# registry.example.com:5000/team/app@sha256:<hex>.
_IMAGE_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
)
_IMAGE_COMPONENT = r"(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)"
IMAGE_REFERENCE_RE = re.compile(
    rf"^(?:{_IMAGE_DOMAIN}/)?{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
IMAGE_REFERENCE_MESSAGE = gettext_noop(
    "An image is a container image reference such as phpmyadmin:5 or registry.example.com/team/app:1.2 "
    "(lower-case name, optional registry, tag and digest, no spaces)."
)


def is_image_reference(text: str) -> bool:
    return len(text) <= 255 and IMAGE_REFERENCE_RE.match(text) is not None


service_name_validator = RegexValidator(
    SERVICE_NAME_RE,
    _(
        "A service name is a DNS label: lower-case letters, digits and hyphens, starting with a letter "
        "and not ending with a hyphen (for example mysql-primary)."
    ),
)
port_alias_validator = RegexValidator(
    PORT_ALIAS_RE,
    _(
        "A port alias is upper-case letters, digits and underscores, starting with a letter (for example MYSQL)."
    ),
)
env_name_validator = RegexValidator(
    ENV_NAME_RE,
    _(
        "A variable name is letters, digits and underscores and does not start with a digit "
        "(for example MYSQL_USER)."
    ),
)


def service_name_from(name: str) -> str:
    """Derive a DNS-label service name from a display name: 'RDS MySQL (prod)' -> 'rds-mysql-prod',
    'Магазин' -> 'magazin' (any script is transliterated first, so that it is not lost)."""
    label = re.sub(r"[^a-z0-9]+", "-", anyascii(name).lower()).strip("-")
    label = re.sub(r"^[^a-z]+", "", label)[:63].rstrip("-")
    return label or "component"


def slug_from(name: str) -> str:
    """An application's slug from its name, transliterated like a service name: '商店' -> 'shangdian'."""
    return slugify(anyascii(name).replace("_", "-"))[:100].strip("-") or "app"


def same_name(first: str, second: str) -> bool:
    """Whether two display names are the same name (case and surrounding space aside)."""
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


def with_suffix(base: str, taken: set[str], limit: int) -> str:
    """``base``, or ``base-2``, ``base-3``… the first not in ``taken``, cut to ``limit`` characters."""
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = base[: limit - len(suffix)].rstrip("-") + suffix
    return candidate


def alias_from(service_name: str) -> str:
    """Default port alias from a service name: 'mysql' -> 'MYSQL', 'rds-mysql' -> 'RDS_MYSQL'."""
    alias = re.sub(r"[^A-Z0-9]+", "_", service_name.upper()).strip("_")
    return alias if re.match(PORT_ALIAS_RE, alias or "") else f"P_{alias}" if alias else "SERVICE"
