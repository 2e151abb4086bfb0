#!/usr/bin/env python
"""Benchmark of the console's lists at scale, on gunicorn (2 workers) and PostgreSQL.

Seeds its own database with 1,000 components in one team (one of them, "big", with 1,000
instances), 10,000 instances in all and 1,000,000 audit events (a fifth of them the big
component's), then reports p50/p95 of the pages an operator opens: the application page, the
big component's overview and events page, the admin changelists (components, instances, audit
events; with and without a search or a filter) and the console API lists.

Each URL is asked ``--requests`` times by ``--clients`` concurrent clients (a signed-in
superuser's session), after two unmeasured requests; the figures are the client's wall times:
the fastest (what the console needs when it has a CPU to itself), p50 and p95, and p50 as a
multiple of the login page's, measured in the same run as the baseline (a template and no
list), which shows what a shared machine's load adds to every page.

Targets: API pages p95 <= 150 ms, full pages p95 <= 200 ms.

Run: .venv/bin/python bench/scale.py [--requests 40] [--clients 1] [--keep]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres). The seed takes about a minute; --keep
reuses the database a previous run left (kato_bench_scale) instead of seeding it again.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import environment, free_port, recreate_database, wait_for_port  # noqa: E402

DB_NAME = "kato_bench_scale"
COMPONENTS, BIG_INSTANCES, INSTANCES, EVENTS = 1_000, 1_000, 10_000, 1_000_000

SEED = """
import json, sys, django
django.setup()
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from components import services
from core import services as accounts
from instances.models import Instance, Health, Source
from instances.services import component_create
from core.audit import Actor
from core.models import AUDIT_ACTIONS

components, big_instances, instances, events = (int(a) for a in sys.argv[1:5])
user = get_user_model().objects.create_superuser(username="bench-operator", password="bench-operator-pw")
team = accounts.team_create(name="Bench", owner=user)
actor = Actor.for_user(user, "127.0.0.1")
apps = [services.application_create(team=team, name=f"app-{n}", actor=actor) for n in range(10)]
big = component_create(application=apps[0], name="big", registration="api", actor=actor)
others = [
    component_create(application=apps[n % 10], name=f"c-{n}", registration="api", actor=actor)
    for n in range(components - 1)
]
# The instances in bulk: the big component's, then the rest spread over the others.
healths = [Health.HEALTHY, Health.HEALTHY, Health.UNHEALTHY, Health.UNKNOWN]
rows = [Instance(component=big, host=f"10.0.{n // 250}.{n % 250 + 1}", port=3306, source=Source.API,
                 health=healths[n % 4]) for n in range(big_instances)]
rows += [Instance(component=others[n % len(others)], host=f"10.{1 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}",
                  port=3306, source=Source.API, health=healths[n % 4]) for n in range(instances - big_instances)]
Instance.objects.bulk_create(rows, batch_size=2000)
# A million events in one statement: a fifth on the big component, the rest spread evenly, over
# the last 300 days, every known action, one in ten by the operator.
with connection.cursor() as cursor:
    cursor.execute(
        '''
        INSERT INTO core_auditevent
            (created_at, team_id, component_id, component_label, actor, user_id, action, detail, remote_addr)
        SELECT now() - (g * interval '300 days' / %(events)s),
               %(team)s,
               CASE WHEN g %% 5 = 0 THEN %(big)s ELSE c.ids[1 + (g / 5) %% array_length(c.ids, 1)] END,
               CASE WHEN g %% 5 = 0 THEN 'big' ELSE c.names[1 + (g / 5) %% array_length(c.ids, 1)] END,
               CASE WHEN g %% 10 = 1 THEN 'user' ELSE 'system' END,
               CASE WHEN g %% 10 = 1 THEN %(user)s END,
               (CAST(%(actions)s AS text[]))[1 + g %% %(n_actions)s],
               '{"stage": "connect", "error": "timed out"}'::jsonb,
               CASE WHEN g %% 10 = 1 THEN inet '192.0.2.10' END
        FROM generate_series(1, %(events)s) AS g,
             (SELECT array_agg(id ORDER BY id) AS ids, array_agg(name ORDER BY id) AS names
              FROM components_component WHERE name <> 'big') AS c
        ''',
        {"events": events, "team": team.pk, "big": big.pk, "user": user.pk,
         "actions": list(AUDIT_ACTIONS), "n_actions": len(AUDIT_ACTIONS)},
    )
    cursor.execute("VACUUM ANALYZE")
print(json.dumps({"big": big.service_id, "app": apps[0].slug, "user": user.pk}))
"""

SESSION = """
import sys, django
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.get(username="bench-operator")
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()})
session.create()
print(session.session_key)
"""


def run_python(env: dict[str, str], code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def seed(env: dict[str, str], keep: bool) -> dict[str, str]:
    """The seeded database's names (the big component, its application), seeding it unless kept."""
    cached = Path(tempfile.gettempdir()) / f"{DB_NAME}.json"
    if keep and cached.exists():
        return json.loads(cached.read_text())
    started = time.monotonic()
    recreate_database(DB_NAME, env, "collectstatic")
    names = json.loads(run_python(env, SEED, *map(str, (COMPONENTS, BIG_INSTANCES, INSTANCES, EVENTS))))
    print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
    cached.write_text(json.dumps(names))
    return names


def start_gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kato_console.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    wait_for_port(port)
    return process, f"http://127.0.0.1:{port}"


def timed_get(url: str, cookie: str) -> tuple[float, int, int]:
    """Wall time in ms, status and body size of one GET."""
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, len(body)


def measure(url: str, cookie: str, requests: int, clients: int) -> dict[str, float]:
    for _ in range(2):
        timed_get(url, cookie)
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: timed_get(url, cookie), range(requests)))
    times = sorted(ms for ms, _, _ in results)
    cuts = quantiles(times, n=100, method="inclusive")
    return {
        "min": times[0],
        "p50": cuts[49],
        "p95": cuts[94],
        "status": results[-1][1],
        "kb": results[-1][2] / 1024,
    }


def targets(names: dict[str, str]) -> list[tuple[str, str, float]]:
    """(what, path, p95 target in ms) of every list measured."""
    big, app = names["big"], names["app"]
    page, api = 200.0, 150.0
    return [
        ("login page (the baseline: a template, no list)", "/accounts/login/", page),
        ("application page (100 components)", f"/apps/{app}/", page),
        ("overview of the big component (1,000 instances)", f"/components/{big}/", page),
        ("events page of the big component", f"/components/{big}/events/", page),
        ("events page, filtered by action", f"/components/{big}/events/?action=instance.unhealthy", page),
        ("events page, page 50", f"/components/{big}/events/?page=50", page),
        ("admin: components", "/admin/components/component/", page),
        ("admin: components, search", "/admin/components/component/?q=c-42", page),
        ("admin: instances", "/admin/instances/instance/", page),
        ("admin: instances, search", "/admin/instances/instance/?q=10.0.1.7", page),
        ("admin: audit events", "/admin/core/auditevent/", page),
        ("admin: audit events, search (action)", "/admin/core/auditevent/?q=instance.unhealthy", page),
        ("admin: audit events, search (component)", "/admin/core/auditevent/?q=c-42", page),
        ("admin: audit events, search (user prefix)", "/admin/core/auditevent/?q=bench", page),
        ("admin: audit events, filter (action)", "/admin/core/auditevent/?action=env.reveal", page),
        (
            "admin: audit events, filter (this month)",
            "/admin/core/auditevent/?created_at__gte=" + _month() + "+00:00:00%2B00:00",
            page,
        ),
        ("admin: audit events, page 50", "/admin/core/auditevent/?p=50", page),
        ("API: components", "/api/v1/components/", api),
        ("API: instances of the big component", f"/api/v1/components/{big}/instances/", api),
    ]


def _month() -> str:
    return time.strftime("%Y-%m-01", time.gmtime())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="reuse the database of a previous run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        env = environment(
            db_name=DB_NAME,
            settings_module="kato_console.settings",
            secret="scale",
            var_dir=var_dir,
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
        )
        names = seed(env, args.keep)
        if args.keep:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                env=env,
                cwd=ROOT,
                check=True,
            )
        cookie = run_python(env, SESSION)
        server, base = start_gunicorn(env)
        try:
            report(base, cookie, names, args.requests, args.clients)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def report(base: str, cookie: str, names: dict[str, str], requests: int, clients: int) -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} (the machine's CPUs: {os.cpu_count()})")
    print(
        f"{COMPONENTS:,} components, {INSTANCES:,} instances, {EVENTS:,} audit events; "
        f"{requests} requests per URL, {clients} clients; gunicorn -w 2"
    )
    print(
        "| list | min ms | p50 ms | p95 ms | p50 / baseline | target p95 | size KB | status |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|"
    )
    missed, baseline = 0, 0.0
    for what, path, target in targets(names):
        m = measure(base + path, cookie, requests, clients)
        baseline = baseline or m["p50"]
        ok = m["p95"] <= target and m["status"] == 200
        missed += not ok
        print(
            f"| {what} | {m['min']:.0f} | {m['p50']:.0f} | {m['p95']:.0f} | {m['p50'] / baseline:.1f} | "
            f"{target:.0f} | {m['kb']:.0f} | "
            f"{m['status']}{'' if ok else ' MISSED'} |",
            flush=True,
        )
    print(f"{missed} target(s) missed; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
