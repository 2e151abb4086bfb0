"""Regenerate the README's screenshots (docs/screenshots/*.png) from the walkthrough browser test.

    .venv/bin/python docs/make_screenshots.py

It runs tests/browser/test_walkthrough.py with KATO_DOCS_SCREENSHOTS pointing at docs/screenshots/,
so that the pictures are of the real console, at 1280×800, as the test walks DESIGN.md's story.
The test needs PostgreSQL (DATABASE_URL, as for `make test`) and Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "screenshots"
EXPECTED = ("wizard-step-1", "wizard-step-2", "overview", "topology", "environment")
LIMIT_BYTES = 150_000


def main() -> int:
    env = {**os.environ, "KATO_DOCS_SCREENSHOTS": str(TARGET)}
    test = "tests/browser/test_walkthrough.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=ROOT, env=env
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
