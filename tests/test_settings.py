"""Start-up refuses unsafe or malformed configuration, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    environment.update(KATO_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_starts_with_the_embedded_defaults(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


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
        ("KATO_PUBLIC_URL", "console.example.com"),
    ],
)
def test_it_names_the_variable_of_a_malformed_value(tmp_path, name, value):
    result = start(tmp_path, **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_the_embedded_broker_keeps_its_files_under_the_var_folder(tmp_path):
    """kombu's filesystem transport writes its exchange table relative to the working folder
    unless told otherwise; a worker started from a checkout must not write into it."""
    workdir, var = tmp_path / "workdir", tmp_path / "var"
    workdir.mkdir()
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    environment.update(
        KATO_VAR_DIR=str(var), PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="kato_console.settings"
    )
    broadcast = (
        "import django; django.setup()\n"
        "from kato_console.celery import app\n"
        "app.control.ping(timeout=0.1)\n"  # a broadcast: it declares the control exchange
    )
    result = subprocess.run(
        [sys.executable, "-c", broadcast],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert list(workdir.iterdir()) == []
    assert list((var / "broker" / "control").glob("*.pidbox.exchange"))


def _public_url(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    environment.pop("KATO_PUBLIC_URL", None)
    environment.update(KATO_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="kato_console.settings", **env)
    script = "import django; django.setup(); from django.conf import settings; print(repr(settings.KATO_PUBLIC_URL))"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_the_public_url_is_empty_by_default_so_that_pages_take_the_requests_address(tmp_path):
    result = _public_url(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "''"


def test_a_public_url_loses_its_trailing_slash(tmp_path):
    result = _public_url(tmp_path, KATO_PUBLIC_URL="https://console.example.com/")
    assert result.stdout.strip() == "'https://console.example.com'"
