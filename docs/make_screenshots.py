"""Regenerate the README's screenshots (docs/screenshots/*.png) from three browser tests.

    .venv/bin/python docs/make_screenshots.py

It runs tests/browser/test_walkthrough.py (the wizard's two steps),
tests/browser/test_screenshots.py (the shop of DESIGN.md §1 with healthy components: the overview
with its history chart, ports, environment, topology, events, "Down now", the team and profile
pages, a phone 390 px wide and the console in Simplified Chinese: the application, the overview,
the connection information and "Down now"), and tests/browser/test_wizard_chinese.py (the wizard's
two steps in Chinese), with KATO_DOCS_SCREENSHOTS pointing at docs/screenshots/, so that the
pictures are of the real console in Chromium.

The tests need what `make test` needs for them: PostgreSQL (DATABASE_URL), Chromium, the MariaDB
on 127.0.0.1:3306 and a Redis (KATO_TEST_REDIS_PORT); for the Chinese pictures, CJK fonts
(Debian: `apt-get install fonts-noto-cjk`), without which its characters are boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "screenshots"
TESTS = (
    "tests/browser/test_walkthrough.py",
    "tests/browser/test_screenshots.py",
    "tests/browser/test_wizard_chinese.py",
)
EXPECTED = (
    "wizard-step-1",
    "wizard-step-2",
    "overview",
    "ports",
    "environment",
    "topology",
    "events",
    "down-now",
    "team",
    "profile",
    "phone",
    "chinese",
    "zh-wizard-step-1",
    "zh-wizard-step-2",
    "zh-overview",
    "zh-connection-info",
    "zh-down-now",
)
# Full pages at 1280 px: the overview with its chart and the events list are the largest (in Chinese
# too, whose glyphs compress less well).
LIMIT_BYTES = 210_000


def _has_chinese_font() -> bool:
    if shutil.which("fc-list") is None:
        return True  # no fontconfig to ask: Chromium's own fallbacks may do
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def main() -> int:
    if not _has_chinese_font():
        print(
            "No font for Chinese found: its picture would show boxes (apt-get install fonts-noto-cjk)",
            file=sys.stderr,
        )
    env = {**os.environ, "KATO_DOCS_SCREENSHOTS": str(TARGET)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *TESTS],
        cwd=ROOT,
        env=env,
    )
    if done.returncode != 0:
        return done.returncode
    for name in EXPECTED:
        path = TARGET / f"{name}.png"
        size = path.stat().st_size
        print(f"{path.relative_to(ROOT)}: {size // 1024} KB")
        if size > LIMIT_BYTES:
            print(f"  larger than {LIMIT_BYTES // 1000} KB: keep the README light", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
