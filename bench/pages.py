#!/usr/bin/env python
"""Benchmark of the console's pages on gunicorn and PostgreSQL, against a bare Django view.

The database (its own, created and dropped) holds 1,000 components in one application: 800
third-party ones with static addresses and 10,000 instances in all, one of them ("big") with
1,000; 200 internal ones that depend on three third-party components each; connection
information on every third-party component; 100,000 audit events (20,000 of them the big
component's). gunicorn (2 workers, DEBUG=0) serves it; a logged-in session requests each page one
after the other and the time to the last byte is measured on the loopback, with the bare view's
in the same run as the baseline.

Measured: the application page; the overview, the instance-table fragment (HX-Request and
HX-Target, as the table's 5-second poll sends it) and the events page of the big component and of
a typical one; the environment page of an internal component that depends on the big one and of a
typical one.

Targets: full pages p95 <= 150 ms; fragments p95 <= 50 ms and <= 60 KB.

Run: .venv/bin/python bench/pages.py [--requests 100]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres; KATO_BENCH_PG to change it).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, environment, free_port, recreate_database  # noqa: E402

DB_NAME = "kato_bench_pages"
PASSWORD = "bench-pages-password-1"
FULL_PAGE_P95_MS, FRAGMENT_P95_MS, FRAGMENT_BYTES = 150.0, 50.0, 60_000

SEED = """
import json, sys, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from components import services
from core import services as accounts
from core.audit import Actor
from components.models import Component, Dependency, EnvVar, Port
from core.models import Role
from core.models import AuditEvent
from instances.models import HealthCheck, Instance

password = sys.argv[1]
actor = Actor.system()
team = accounts.team_create(name="Bench")
user = get_user_model().objects.create_user(username="bench", password=password)
accounts.membership_set(team=team, user=user, role=Role.OWNER)
app = services.application_create(team=team, name="bench", actor=actor)

third = [Component(application=app, team=team, name=f"db-{n:04d}", service_name=f"db-{n:04d}",
                   kind="third_party", registration="static") for n in range(800)]
internal = [Component(application=app, team=team, name=f"app-{n:04d}", service_name=f"app-{n:04d}",
                      kind="internal", image="nginx:1") for n in range(200)]
Component.objects.bulk_create(third + internal, batch_size=1000)
third = list(Component.objects.filter(application=app, kind="third_party").order_by("name"))
internal = list(Component.objects.filter(application=app, kind="internal").order_by("name"))
big, typical = third[0], third[1]

HealthCheck.objects.bulk_create([HealthCheck(component=c) for c in third + internal], batch_size=1000)
Port.objects.bulk_create([Port(component=c, number=3306, protocol="mysql", alias=f"DB{n}", of_third_party=True)
                          for n, c in enumerate(third)], batch_size=1000)
EnvVar.objects.bulk_create([EnvVar(component=c, name=f"DB{n}_{name}", value=value, secret=secret)
                            for n, c in enumerate(third)
                            for name, value, secret in (("USER", "shop", False), ("PASSWORD", "pw-" + str(n), True))],
                           batch_size=2000)

def instance(component, k, health):
    return Instance(component=component, host=f"10.{k // 62500}.{k // 250 % 250}.{k % 250 + 1}", port=3306,
                    is_online=k % 10 != 0, health=health)
healths = ("healthy", "healthy", "healthy", "unhealthy", "unknown")
rows = [instance(big, k, healths[k % 5]) for k in range(1000)]
rows += [instance(third[1 + k % 799], 1000 + k, healths[k % 5]) for k in range(9000)]
Instance.objects.bulk_create(rows, batch_size=2000)

Dependency.objects.bulk_create([Dependency(component=c, target=third[(n * 3 + i) % 800])
                                for n, c in enumerate(internal) for i in range(3)], batch_size=1000)

actions = ("instance.add", "instance.set_online", "health.transition", "port.update", "env.reveal")
events = [AuditEvent(team=team, component=big, component_label=big.name, actor="system",
                     action=actions[k % 5], detail={"k": k}) for k in range(20000)]
events += [AuditEvent(team=team, component=third[1 + k % 799], component_label="db", actor="system",
                      action=actions[k % 5], detail={"k": k}) for k in range(80000)]
AuditEvent.objects.bulk_create(events, batch_size=5000)

with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE")
print(json.dumps({"big": big.service_id, "typical": typical.service_id,
                  "app_on_big": internal[0].service_id, "app_typical": internal[1].service_id,
                  "instances": Instance.objects.count(), "events": AuditEvent.objects.count(),
                  "components": Component.objects.count(), "dependencies": Dependency.objects.count()}))
"""


def seed(env: dict[str, str]) -> dict[str, object]:
    # DEBUG=0 serves hashed static files (whitenoise's manifest): collect them, as the image does.
    recreate_database(DB_NAME, env, "collectstatic")
    done = subprocess.run(
        [sys.executable, "-c", SEED, PASSWORD], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "kato_console.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/bench/bare", timeout=1).read()
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not start")


def log_in(base: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token})
    answer = opener.open(urllib.request.Request(f"{base}/accounts/login/", data=body.encode(), method="POST"))
    if not answer.geturl().endswith("/apps/"):
        sys.exit(f"the login did not succeed (ended at {answer.geturl()})")
    return opener


def measure(opener: urllib.request.OpenerDirector, url: str, requests: int, headers: dict[str, str]) -> dict:
    times, size = [], 0
    for n in range(requests + 10):  # the first ten warm the worker's caches and connections
        request = urllib.request.Request(url, headers=headers)
        start = time.perf_counter()
        with opener.open(request) as answer:
            size = len(answer.read())
            status = answer.status
        if status not in (200, 286):
            sys.exit(f"{url} answered {status}")
        if n >= 10:
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95) - 1], "bytes": size}


def pages(ids: dict[str, object]) -> list[tuple[str, str, bool]]:
    """(label, path, is a fragment) of everything measured."""
    fragment = "?page=1"
    return [
        ("bare Django view (baseline)", "/bench/bare", False),
        ("application page (1,000 components)", "/apps/bench/", False),
        ("overview, big (1,000 instances)", f"/components/{ids['big']}/", False),
        ("overview, typical", f"/components/{ids['typical']}/", False),
        ("instance-table fragment, big", f"/components/{ids['big']}/{fragment}", True),
        ("instance-table fragment, typical", f"/components/{ids['typical']}/{fragment}", True),
        ("environment, depends on big", f"/components/{ids['app_on_big']}/environment/", False),
        ("environment, typical", f"/components/{ids['app_typical']}/environment/", False),
        ("events, big (20,000 events)", f"/components/{ids['big']}/events/", False),
        ("events, typical", f"/components/{ids['typical']}/events/", False),
    ]


def report(results: list[tuple[str, bool, dict]]) -> bool:
    baseline = results[0][2]["p50"]
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>8} {'p50 / bare':>11}  target")
    all_met = True
    for label, is_fragment, r in results:
        if label.startswith("bare"):
            target, met = "", True
        elif is_fragment:
            met = r["p95"] <= FRAGMENT_P95_MS and r["bytes"] <= FRAGMENT_BYTES
            target = f"p95 <= {FRAGMENT_P95_MS:.0f} ms, <= 60 KB: {'met' if met else 'MISSED'}"
        else:
            met = r["p95"] <= FULL_PAGE_P95_MS
            target = f"p95 <= {FULL_PAGE_P95_MS:.0f} ms: {'met' if met else 'MISSED'}"
        all_met &= met
        ratio = r["p50"] / baseline
        print(f"{label:40} {r['p50']:8.1f} {r['p95']:8.1f} {r['bytes']:8d} {ratio:10.1f}x  {target}")
    return all_met


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100, help="measured requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        # Plain HTTP on the loopback: the cookies may not be marked Secure, or no client sends them back.
        env = environment(
            db_name=DB_NAME,
            settings_module="bench.settings",
            secret="bench-pages-",
            var_dir=var_dir,
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
        )
        started = time.monotonic()
        ids = seed(env)
        print(
            f"seeded in {time.monotonic() - started:.0f} s: {json.dumps({k: v for k, v in ids.items() if isinstance(v, int)})}"
        )
        process, base = start_gunicorn(env)
        try:
            opener = log_in(base)
            results = []
            for label, path, is_fragment in pages(ids):
                headers = {"HX-Request": "true", "HX-Target": "instance-table"} if is_fragment else {}
                results.append((label, is_fragment, measure(opener, base + path, args.requests, headers)))
            met = report(results)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
            if not args.keep:
                drop_database(DB_NAME)
    print("All targets met." if met else "Some targets were missed.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
