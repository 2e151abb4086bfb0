"""Every list of the console API is paged (``count``/``next``/``previous``/``results``, 100 rows by
default, ``?page_size=`` up to 1,000), and a component's counts and status come from SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from components import services
from components.models import Application, Component, ComponentKind, Dependency, EnvVar, Port, Registration
from core.models import AuditEvent, Team
from instances.models import Health, HealthCheck, Instance
from kato_console.api.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from tests.api.conftest import url

pytestmark = pytest.mark.django_db

# One more row than a page holds, so that every list has a second page.
ROWS = PAGE_SIZE + 5


def _components(application: Application, count: int, prefix: str, start: int = 0) -> list[Component]:
    # Rows straight into the database: the lists are under test here, not the services that add rows.
    return Component.objects.bulk_create(
        Component(
            team_id=application.team_id,
            application=application,
            name=f"{prefix}{n:04}",
            service_name=f"{application.slug}-{prefix}{n:04}",
            registration=Registration.STATIC,
        )
        for n in range(start, start + count)
    )


def _instances(component: Component, count: int, **fields: Any) -> None:
    Instance.objects.bulk_create(
        Instance(component=component, host=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", port=3306, **fields)
        for n in range(count)
    )


def _applications(team: Team, application: Application, internal: Component) -> str:
    Application.objects.bulk_create(
        Application(team=team, name=f"app{n:04}", slug=f"app{n:04}") for n in range(ROWS - 1)
    )
    return "/api/v1/applications/"


def _component_list(team: Team, application: Application, internal: Component) -> str:
    _components(application, ROWS - 1, "db")
    return "/api/v1/components/"


def _ports(team: Team, application: Application, internal: Component) -> str:
    Port.objects.bulk_create(Port(component=internal, number=8000 + n, alias=f"WEB{n}") for n in range(ROWS))
    return url(internal, "/ports/")


def _variables(team: Team, application: Application, internal: Component) -> str:
    EnvVar.objects.bulk_create(
        EnvVar(component=internal, name=f"VAR_{n:04}", value=str(n)) for n in range(ROWS)
    )
    return url(internal, "/env/")


def _dependencies(team: Team, application: Application, internal: Component) -> str:
    targets = _components(application, ROWS, "db")
    Dependency.objects.bulk_create(Dependency(component=internal, target=target) for target in targets)
    return url(internal, "/dependencies/")


def _instance_list(team: Team, application: Application, internal: Component) -> str:
    _instances(internal, ROWS)
    return url(internal, "/instances/")


# Each list, how to give it ROWS rows, and what identifies a row in it.
LISTS: dict[str, tuple[Callable[[Team, Application, Component], str], str]] = {
    "applications": (_applications, "slug"),
    "components": (_component_list, "service_id"),
    "ports": (_ports, "number"),
    "variables": (_variables, "name"),
    "dependencies": (_dependencies, "target"),
    "instances": (_instance_list, "id"),
}


@pytest.fixture(params=list(LISTS))
def full_list(request, team, application, internal_component) -> tuple[str, str]:
    """A list of the console API with ROWS rows: its URL and the field that identifies a row."""
    fill, key = LISTS[request.param]
    return fill(team, application, internal_component), key


def test_every_list_answers_pages_of_100_and_next_leads_through_all_of_it(api, full_list):
    list_url, key = full_list
    first = api.get(list_url)
    assert first.status_code == 200, first.content
    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == ROWS
    assert len(body["results"]) == PAGE_SIZE and body["previous"] is None
    assert body["next"].startswith("http://testserver/api/v1/") and "page=2" in body["next"]

    second = api.get(body["next"]).json()
    assert len(second["results"]) == ROWS - PAGE_SIZE
    assert second["next"] is None and second["previous"] is not None
    seen = [row[key] for row in body["results"] + second["results"]]
    assert len(set(seen)) == ROWS  # every row once, none twice


def test_every_list_takes_a_page_size(api, full_list):
    list_url, key = full_list
    body = api.get(list_url, {"page_size": 7}).json()
    assert body["count"] == ROWS and len(body["results"]) == 7
    assert "page_size=7" in body["next"]
    following = api.get(body["next"]).json()
    assert len(following["results"]) == 7
    assert not {row[key] for row in body["results"]} & {row[key] for row in following["results"]}


def test_no_list_costs_a_query_per_row(api, full_list):
    list_url, _ = full_list
    api.get(list_url)  # the token's first use of the minute records last_used_at
    with CaptureQueriesContext(connection) as one_row:
        assert len(api.get(list_url, {"page_size": 1}).json()["results"]) == 1
    with CaptureQueriesContext(connection) as every_row:
        assert len(api.get(list_url, {"page_size": ROWS}).json()["results"]) == ROWS
    assert len(every_row) == len(one_row)


def test_the_order_is_fixed_with_the_id_breaking_ties(api, application):
    # Same names in two applications: only the id tells them apart, and the pages must not overlap.
    other = Application.objects.create(team_id=application.team_id, name="Blog", slug="blog")
    _components(application, 3, "db")
    _components(other, 3, "db")
    pages = [api.get("/api/v1/components/", {"page_size": 1, "page": n}).json() for n in range(1, 7)]
    seen = [page["results"][0]["service_id"] for page in pages]
    assert len(set(seen)) == 6
    assert [page["results"][0]["name"] for page in pages] == ["db0000"] * 2 + ["db0001"] * 2 + ["db0002"] * 2


def test_a_page_size_over_the_maximum_gives_pages_of_the_maximum(api, static_component):
    _instances(static_component, MAX_PAGE_SIZE + 1)
    body = api.get(url(static_component, "/instances/"), {"page_size": 50_000}).json()
    assert MAX_PAGE_SIZE == 1000
    assert body["count"] == MAX_PAGE_SIZE + 1 and len(body["results"]) == MAX_PAGE_SIZE
    assert len(api.get(body["next"]).json()["results"]) == 1


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5", "", "٣", "9" * 5000])
def test_a_page_size_that_is_not_a_positive_whole_number_is_a_400(api, application, page_size):
    response = api.get("/api/v1/applications/", {"page_size": page_size})
    if page_size == "9" * 5000:
        # A huge number is over the maximum, not an error, and never a 500.
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.json() == {"page_size": ["A page size is a whole number from 1 to 1000."]}


@pytest.mark.parametrize("page", ["3", "0", "-1", "abc", "9" * 5000])
def test_a_page_that_does_not_exist_is_a_404(api, static_component, page):
    _instances(static_component, 3)
    response = api.get(url(static_component, "/instances/"), {"page_size": 2, "page": page})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_the_last_page_can_be_asked_for_by_name(api, static_component):
    _instances(static_component, 5)
    body = api.get(url(static_component, "/instances/"), {"page_size": 2, "page": "last"}).json()
    assert [row["host"] for row in body["results"]] == ["10.0.0.4"]


def test_an_empty_list_is_one_empty_page(bob_api, static_component):
    assert bob_api.get("/api/v1/components/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


# Counts and statuses come from SQL


def _fleet(application: Application, components: int, instances_each: int, start: int = 0) -> None:
    created = _components(application, components, "fleet", start)
    HealthCheck.objects.bulk_create(HealthCheck(component=component) for component in created)
    for component in created:
        _instances(component, instances_each, health=Health.HEALTHY)


def _instance_reads(queries: CaptureQueriesContext) -> list[str]:
    """The queries that read the instance table other than to count it (or to sum the uptime of the
    components' probe history: one aggregate, however many instances)."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if '"instances_instance"' in query["sql"]
        and "COUNT(" not in query["sql"]
        and 'SUM("instances_instancehistory"' not in query["sql"]
    ]


def test_the_components_list_costs_the_same_queries_for_2_and_200_components(api, application):
    api.get("/api/v1/components/")  # the token's first use of the minute records last_used_at
    _fleet(application, 2, 3)
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/v1/components/").json()["count"] == 2
    _fleet(application, 198, 3, start=2)
    with CaptureQueriesContext(connection) as many:
        body = api.get("/api/v1/components/", {"page_size": 200}).json()
    assert body["count"] == 200 and len(body["results"]) == 200
    assert len(many) == len(few)
    # No instance is loaded: counts and statuses are aggregates.
    assert _instance_reads(many) == []
    assert {(c["instance_count"], c["routed_instance_count"], c["status"]) for c in body["results"]} == {
        (3, 3, "Healthy")
    }


def test_one_component_is_counted_without_loading_its_instances(api, static_component):
    _instances(static_component, 40, health=Health.HEALTHY)
    Instance.objects.bulk_create(
        [
            Instance(component=static_component, host="db.example.com", health=Health.UNHEALTHY),
            Instance(component=static_component, host="old.example.com", is_online=False),
        ]
    )
    api.get(url(static_component))  # the token's first use of the minute records last_used_at
    with CaptureQueriesContext(connection) as queries:
        body = api.get(url(static_component)).json()
    assert (body["instance_count"], body["routed_instance_count"], body["status"]) == (42, 40, "Partial")
    assert _instance_reads(queries) == []


def test_the_list_and_the_detail_agree_on_counts_and_status(api, static_component, application):
    Instance.objects.bulk_create(
        [
            Instance(component=static_component, host="a.example.com", health=Health.HEALTHY),
            Instance(component=static_component, host="b.example.com", health=Health.UNHEALTHY),
            Instance(component=static_component, host="c.example.com", is_online=False),
        ]
    )
    checkless = Component.objects.create(
        team_id=application.team_id,
        application=application,
        name="legacy",
        service_name="legacy",
        kind=ComponentKind.INTERNAL,
    )
    _instances(checkless, 2)  # no health check: online instances are routed, status unknown
    listed = {c["service_name"]: c for c in api.get("/api/v1/components/").json()["results"]}
    assert (listed["mysql"]["instance_count"], listed["mysql"]["routed_instance_count"]) == (3, 1)
    assert listed["mysql"]["status"] == "Partial"
    assert (listed["legacy"]["instance_count"], listed["legacy"]["routed_instance_count"]) == (2, 2)
    assert listed["legacy"]["status"] == "Unknown"
    for name, component in (("mysql", static_component), ("legacy", checkless)):
        detail = api.get(url(component)).json()
        assert {k: detail[k] for k in listed[name]} == listed[name]


def test_revealing_a_page_of_variables_reveals_and_audits_that_page_only(api, static_component):
    EnvVar.objects.bulk_create(
        EnvVar(component=static_component, name=name, value=f"{name.lower()}-value", secret=True)
        for name in ("A_PASSWORD", "B_PASSWORD")
    )
    body = api.get(url(static_component, "/env/"), {"reveal": "true", "page_size": 1}).json()
    assert [(v["name"], v["value"]) for v in body["results"]] == [("A_PASSWORD", "a_password-value")]
    event = AuditEvent.objects.get(action="env.reveal")
    assert event.detail["variables"] == ["A_PASSWORD"]


def test_generated_values_read_the_instances_once(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    _instances(static_component, 30, health=Health.HEALTHY)
    HealthCheck.objects.filter(component=static_component).update(enabled=True)
    api.get(url(static_component, "/env/"))  # the token's first use of the minute records last_used_at
    for path in ("/env/", "/env"):
        with CaptureQueriesContext(connection) as queries:
            body = api.get(url(static_component, path)).json()
        rows = body["results"] if path == "/env/" else body
        values = {row["name"]: row["value"] for row in rows}
        assert (values["MYSQL_HOST"], values["MYSQL_PORT"]) == ("10.0.0.0", "3306")
        assert len(_instance_reads(queries)) == 1, path
