"""Start-up refuses unsafe or malformed configuration, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kato_console.env import dev_secret_key_file, keep_dev_secret_key

ROOT = Path(__file__).resolve().parent.parent


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    environment.update(KATO_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_starts_with_the_embedded_defaults_and_writes_nothing(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []  # no var folder, no secret key file, no static folder


@pytest.mark.parametrize("key", ["", "change-me", "django-insecure-abc", "short"])
def test_it_refuses_a_default_secret_key_with_debug_off(tmp_path, key):
    result = start(tmp_path, DEBUG="0", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a long random value" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_starts_in_production_mode_with_a_real_key(tmp_path):
    result = start(tmp_path, DEBUG="0", SECRET_KEY="x7" * 25, ALLOWED_HOSTS="console.example.com")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/kato",
        "not a url",
        "postgres://user@host:notaport/db",
        "postgres://user@host:5432",
        "sqlite:///var/db.sqlite3",
    ],
)
def test_it_refuses_a_malformed_database_url(tmp_path, url):
    result = start(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("KATO_PROBE_CONCURRENCY", "many"),
        ("KATO_DENIED_NETWORKS", "10.0.0.0/33"),
        ("KATO_TRUSTED_PROXIES", "proxy.example.com"),
        ("KATO_API_WRONG_SECRET_LIMIT", "0"),
        ("CELERY_BROKER_URL", "kafka://broker"),
        ("CELERY_BROKER_URL", "filesystem://"),
        ("KATO_EMBEDDED_PG_PORT", "70000"),
        ("KATO_PUBLIC_URL", "console.example.com"),
    ],
)
def test_it_names_the_variable_of_a_malformed_value(tmp_path, name, value):
    result = start(tmp_path, **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def _settings(tmp_path: Path, expression: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Print one expression over the settings, in a process with this environment only."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "KATO_PUBLIC_URL"}
        and not k.startswith("KATO_EMBEDDED_")
    }
    environment.update(KATO_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="kato_console.settings", **env)
    script = f"import django; django.setup(); from django.conf import settings; print(repr({expression}))"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_without_urls_the_database_and_the_broker_are_the_embedded_servers_of_make_run(tmp_path):
    where = "(settings.DATABASES['default']['HOST'], settings.DATABASES['default']['PORT'], settings.CELERY_BROKER_URL)"
    assert _settings(tmp_path, where).stdout.strip() == "('127.0.0.1', 54329, 'redis://127.0.0.1:63799/0')"
    moved = _settings(tmp_path, where, KATO_EMBEDDED_PG_PORT="5555", KATO_EMBEDDED_REDIS_PORT="6666")
    assert moved.stdout.strip() == "('127.0.0.1', 5555, 'redis://127.0.0.1:6666/0')"


def test_the_development_secret_key_is_the_one_make_run_keeps_and_the_settings_only_read_it(tmp_path):
    keep_dev_secret_key(dev_secret_key_file(tmp_path))
    kept = dev_secret_key_file(tmp_path).read_text()
    assert _settings(tmp_path, "settings.SECRET_KEY").stdout.strip() == repr(kept)
    assert oct(dev_secret_key_file(tmp_path).stat().st_mode & 0o777) == "0o600"


def _public_url(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _settings(tmp_path, "settings.KATO_PUBLIC_URL", **env)


def test_the_public_url_is_empty_by_default_so_that_pages_take_the_requests_address(tmp_path):
    result = _public_url(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "''"


def test_a_public_url_loses_its_trailing_slash(tmp_path):
    result = _public_url(tmp_path, KATO_PUBLIC_URL="https://console.example.com/")
    assert result.stdout.strip() == "'https://console.example.com'"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, 10),  # the statement timeout (5 s) and 5 s more
        ({"KATO_DB_STATEMENT_TIMEOUT_S": "20"}, 25),
        ({"KATO_DB_STATEMENT_TIMEOUT_S": "0"}, 0),  # no statement limit: no answer limit either
        ({"KATO_DB_ANSWER_TIMEOUT_S": "3"}, 3),
    ],
)
def test_the_database_answer_timeout_follows_the_statement_timeout_unless_set(tmp_path, env, expected):
    where = "(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['OPTIONS']['answer_timeout'])"
    assert _settings(tmp_path, where, **env).stdout.strip() == repr(("kato_console.postgresql", expected))
