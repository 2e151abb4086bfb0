"""Reading settings from the environment.

Every reader names the variable in its error, so that a malformed value stops start-up with a
message an operator can act on instead of a traceback deep inside Django.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}; got {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be a comma-separated list of networks such as 169.254.0.0/16; "
                f"{item!r} is not one."
            ) from None
    return networks


def env_url(name: str, default: str, *, schemes: tuple[str, ...], optional: bool = False) -> str:
    raw = env_str(name, default)
    if optional and not raw:
        return ""
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with one of {', '.join(s + '://' for s in schemes)}; got {raw!r}."
        )
    return raw


def database_config(name: str, default: str) -> dj_database_url.DBConfig:
    """Parse DATABASE_URL (PostgreSQL only) into Django's DATABASES entry, refusing anything malformed."""
    raw = env_url(name, default, schemes=("postgres", "postgresql", "pgsql"))
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is malformed ({exc}).") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} must name a database, as in postgres://user@host:5432/kato.")
    try:
        int(config.get("PORT") or 5432)
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
    return config


DEFAULT_SECRET_KEY_MARKERS = ("django-insecure", "change-me", "changeme", "secret")


def secret_key(name: str, *, debug: bool, keep_file: Path) -> str:
    """The Django secret key.

    In production (DEBUG off) it must come from the environment and must not be a default. With
    DEBUG on and none set, it is the one `make run` keeps in the var folder (so that logins survive
    a restart), or, before the first `make run`, a random one for this process. Reading the
    settings never writes a file.
    """
    value = env_str(name)
    looks_default = (
        not value or value.lower() in DEFAULT_SECRET_KEY_MARKERS or value.startswith("django-insecure")
    )
    if not debug:
        if looks_default or len(value) < 32:
            raise ImproperlyConfigured(
                f"{name} must be set to a long random value (at least 32 characters, not a default) "
                "when DEBUG is off. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        return value
    if value:
        return value
    try:
        return keep_file.read_text().strip() or secrets.token_urlsafe(50)
    except OSError:
        return secrets.token_urlsafe(50)


def dev_secret_key_file(var_dir: Path) -> Path:
    return var_dir / "secret_key"


def keep_dev_secret_key(keep_file: Path) -> None:
    """Make the development secret key once (`make run` calls this; the settings only read it)."""
    keep_file.parent.mkdir(parents=True, exist_ok=True)
    if not keep_file.exists():
        keep_file.touch(mode=0o600)
        keep_file.write_text(secrets.token_urlsafe(50))
