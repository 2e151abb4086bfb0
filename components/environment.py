"""The effective environment of a component (docs/architecture.md, "The effective environment"), and how it is written out.

A component C receives, in this order: the connection information (scope ``outer``) of every
component it depends on, then its own variables (``inner`` and ``outer``). A variable of C with
the name of a dependency's variable overrides it, and the overridden entry stays in the list,
marked with who overrode it, so that nothing is replaced silently.

Generated ``A_HOST`` / ``A_PORT`` variables have no stored value: they are the component's internal
address, which depends on its instances, so the resolution that reads the database lives in
``instances.environment``; this module is the pure part: the order and the overriding
(``resolve``), and the output formats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from components.models import Component, EnvVar

FORMATS = ("json", "dotenv", "shell")
_BARE_DOTENV_VALUE = re.compile(r"^[A-Za-z0-9_./:@%+,=-]*$")


@dataclass(frozen=True)
class EnvEntry:
    """One variable as a component receives it; ``overridden_by`` is set when it does not take effect."""

    name: str
    value: str
    secret: bool
    source: Component
    generated: bool = False
    overridden_by: Component | None = None
    # Why a generated value cannot be trusted right now (no routed instance), "" when it can.
    warning: str = ""

    @property
    def effective(self) -> bool:
        return self.overridden_by is None


# Resolution over loaded rows


def resolve(
    component: Component,
    targets: Iterable[Component],
    value_of: Callable[[Component, EnvVar], str],
    warning_of: Callable[[Component, EnvVar], str] | None = None,
) -> list[EnvEntry]:
    """Every variable ``component`` receives: the connection information of ``targets`` (what it
    depends on, with their outer variables loaded), then its own. ``value_of`` gives a variable's
    value (a generated one's comes from the instances), ``warning_of`` why it cannot be trusted."""
    inherited: list[EnvEntry] = []
    seen: dict[str, Component] = {}
    for target in targets:
        for var in target.env_vars.all():
            entry = _entry(target, var, value_of, warning_of)
            # The services refuse two dependencies sharing a name; should it happen anyway (rows
            # written before the rule), the first one wins and the second says so.
            if var.name in seen:
                entry = replace(entry, overridden_by=seen[var.name])
            else:
                seen[var.name] = target
            inherited.append(entry)
    own = [_entry(component, var, value_of, warning_of) for var in component.env_vars.all()]
    own_names = {entry.name for entry in own}
    inherited = [
        replace(entry, overridden_by=component) if entry.effective and entry.name in own_names else entry
        for entry in inherited
    ]
    return inherited + own


def effective_values(entries: Iterable[EnvEntry]) -> dict[str, str]:
    """The variables that take effect, as a process environment."""
    return {entry.name: entry.value for entry in entries if entry.effective}


def secret_names(entries: Iterable[EnvEntry]) -> list[str]:
    return sorted({entry.name for entry in entries if entry.secret and entry.effective})


def _entry(
    owner: Component,
    var: EnvVar,
    value_of: Callable[[Component, EnvVar], str],
    warning_of: Callable[[Component, EnvVar], str] | None,
) -> EnvEntry:
    return EnvEntry(
        name=var.name,
        value=value_of(owner, var),
        secret=var.secret,
        source=owner,
        generated=var.generated,
        warning=warning_of(owner, var) if warning_of is not None and var.generated else "",
    )


# Output formats


def render_dotenv(component: Component, entries: list[EnvEntry], *, reveal: bool) -> str:
    """``NAME=value`` lines with dotenv quoting; secrets only when ``reveal``, overrides as comments."""
    return _render(component, entries, reveal=reveal, line=lambda n, v: f"{n}={dotenv_quote(v)}")


def render_shell(component: Component, entries: list[EnvEntry], *, reveal: bool) -> str:
    """``export NAME='value'`` lines that any POSIX shell can source."""
    return _render(component, entries, reveal=reveal, line=lambda n, v: f"export {n}={shell_quote(v)}")


def dotenv_quote(value: str) -> str:
    """Quote a value so dotenv readers (docker compose, python-dotenv, Node's dotenv) read it back unchanged."""
    if _BARE_DOTENV_VALUE.match(value):
        return value
    if "'" not in value and "\n" not in value and "\r" not in value:
        # Single quotes are literal in every dotenv dialect: no escapes, no ${} expansion.
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def shell_quote(value: str) -> str:
    """Single-quote for POSIX sh: everything is literal, a single quote is closed, escaped and reopened."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _render(
    component: Component, entries: list[EnvEntry], *, reveal: bool, line: Callable[[str, str], str]
) -> str:
    lines = [f"# Effective environment of {component.application.slug}/{component.service_name}"]
    for entry in entries:
        origin = "" if entry.source.pk == component.pk else f" from {entry.source.service_name}"
        if entry.warning and entry.effective:
            lines.append(f"# Warning: {entry.name}{origin}: {entry.warning}")
        if entry.overridden_by is not None:
            lines.append(f"# {entry.name}{origin} is overridden by {entry.overridden_by.service_name}")
        elif entry.secret and not reveal:
            lines.append(f"# {entry.name}{origin} is secret: only owners and developers receive its value")
        else:
            lines.append(line(entry.name, entry.value))
    return "\n".join(lines) + "\n"
