"""The Compose file is valid Compose and has every service the README describes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_compose_file_validates_against_the_compose_specification():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_every_service_the_readme_names_is_in_the_compose_file():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production deployment with Docker Compose", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"\*\*(\w+)\*\*", section))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert named == {"postgres", "redis", "web", "worker", "beat", "gateway"}
    assert named <= set(compose["services"])


def test_the_console_services_share_one_image_and_take_their_settings_from_the_environment():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    images = {services[name]["image"] for name in ("web", "worker", "beat")}
    assert images == {"kato-console:latest"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["CELERY_BROKER_URL"].startswith(
            "redis://"
        )
        assert env["DEBUG"] == "0"
    web_command = " ".join(services["web"]["command"])
    assert "migrate" in web_command and "gunicorn" in web_command


def test_every_setting_in_the_env_file_reaches_the_console_and_the_worker_probes_on_auto():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["env_file"] == [{"path": ".env", "required": False}]
    assert services["worker"]["environment"]["KATO_PROBE_CONCURRENCY"] == "${KATO_PROBE_CONCURRENCY:-auto}"
    assert services["worker"]["ulimits"]["nofile"]["soft"] >= 20_000
