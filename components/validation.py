"""The naming rules of components, ports and variables, shared by models, forms and the API
(docs/architecture.md, "Invariants")."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator

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
