"""A TLS deployment turns on HSTS and the HTTPS redirect from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import django
django.setup()
from django.test import Client
answer = Client().get("/accounts/login/", secure=True)
print(answer["Strict-Transport-Security"])
print(Client().get("/accounts/login/").status_code)
"""


def test_hsts_and_the_https_redirect_are_set_from_the_environment(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    environment.update(
        KATO_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="kato_console.settings",
        ALLOWED_HOSTS="testserver",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
        SECURE_SSL_REDIRECT="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["max-age=31536000; includeSubDomains; preload", "301"]
