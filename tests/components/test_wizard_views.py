"""The Add Third-Party Component wizard: step 1, the live test, "Create", "Back" and "Abandon"."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from components import services
from components.models import Application, Component, Registration
from core import services as accounts
from core.models import AuditEvent, Role
from instances import services as instance_services
from instances.models import HealthCheck, Instance
from kato_console.pages.wizard import MAX_DRAFTS

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# What htmx sends from the wizard's step (hx-target="#wizard") and from its results (#test-results).
STEP = {**HTMX, "HTTP_HX_TARGET": "wizard"}
RESULTS = {**HTMX, "HTTP_HX_TARGET": "test-results"}
START = "/apps/components/new/third-party/"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]


@pytest.fixture
def http_server() -> Iterator[tuple[str, int]]:
    """A real HTTP server on loopback that answers 200 to every GET."""

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()


def _step1(app: Application, **fields: object) -> dict[str, object]:
    return {
        "name": "mysql",
        "application": str(app.pk),
        "registration": "static",
        "address": "10.0.0.7:3306",
        "port": "",
        "protocol": "",
        **fields,
    }


def _run_url(response) -> str:
    match = re.search(r"/apps/components/new/third-party/([0-9a-f-]{36})/", response["Location"])
    return match.group(0)


def _submitted(client, app: Application, **fields: object) -> str:
    response = client.post(START, _step1(app, **fields))
    assert response.status_code == 302, response.content.decode()[:2000]
    return _run_url(response)


def _drafts(client) -> list[str]:
    # A Django session has keys() but cannot be iterated itself.
    return [key for key in client.session.keys() if key.startswith("kato-wizard:")]  # noqa: SIM118


def _errors(response) -> str:
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', response.content.decode()))


# Step 1


def test_step_1_is_a_page_with_the_fields_people_know(alice_client, application):
    text = alice_client.get(START).content.decode()
    assert "Step 1 — Fill in third-party service information" in text
    for label in (
        "Component name",
        "Application",
        "Registration method",
        "Component address",
        "Port",
        "Protocol",
    ):
        assert f">{label}" in text or f"{label}</legend>" in text, label
    assert "Static addresses" in text and "API registration" in text and "New application" in text
    assert f'action="{START}"' in text and "Create component" in text


def test_from_an_application_the_application_is_chosen(alice_client, application, team, alice_actor):
    services.application_create(team=team, name="Another", actor=alice_actor)
    text = alice_client.get(reverse("wizard-new-in-app", args=[application.slug])).content.decode()
    assert f'<option value="{application.pk}" selected>Shop</option>' in text


def test_a_viewer_cannot_open_the_wizard(client, victor_the_viewer, application):
    client.force_login(victor_the_viewer)
    assert client.get(START).status_code == 403
    assert client.get(reverse("wizard-new-in-app", args=[application.slug])).status_code == 403
    assert client.post(START, _step1(application)).status_code == 403


def test_another_teams_application_is_not_found(client, bob_from_another_team, application):
    client.force_login(bob_from_another_team)
    assert client.get(reverse("wizard-new-in-app", args=[application.slug])).status_code == 404


def test_another_teams_application_cannot_be_chosen(client, bob_from_another_team, application):
    client.force_login(bob_from_another_team)
    response = client.post(START, _step1(application))
    assert response.status_code == 200
    assert "Select a valid choice." in _errors(response)


def test_a_viewer_of_a_second_team_cannot_choose_its_applications(
    alice_client, alice, application, other_team, alice_actor
):
    accounts.membership_set(team=other_team, user=alice, role=Role.VIEWER)
    hidden = services.application_create(team=other_team, name="Crawler", actor=alice_actor)
    assert ">Crawler</option>" not in alice_client.get(START).content.decode()
    response = alice_client.post(START, _step1(hidden))
    assert "Select a valid choice." in _errors(response)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Give the component a name."),
        ({"address": ""}, "Give at least one address, such as 10.0.0.7:3306."),
        (
            {"address": "10.0.0.7:99999"},
            "'10.0.0.7:99999' has an invalid port: a port is a number from 1 to 65535.",
        ),
        ({"address": "10.0.0.7"}, "10.0.0.7 has no port: write it as 10.0.0.7:3306, say, or fill in Port."),
        (
            {"address": "ftp://files.example.com"},
            "Only http://, https://, redis:// and rediss:// addresses are supported, not ftp://.",
        ),
        ({"address": "169.254.169.254:80"}, "169.254.169.254 is in a denied network (169.254.0.0/16)"),
        ({"port": "70000"}, "Ensure this value is less than or equal to 65535."),
        ({"application": "new", "new_application_name": ""}, "Give the new application a name."),
    ],
)
def test_step_1_says_what_is_wrong_under_the_field(alice_client, application, fields, message):
    response = alice_client.post(START, _step1(application, **fields), **STEP)
    assert response.status_code == 200
    assert message in _errors(response).replace("&#x27;", "'")
    assert "Step 1" in response.content.decode() and "<html" not in response.content.decode()
    assert not Component.objects.exists()


def test_the_same_address_twice_is_refused(alice_client, application):
    data = _step1(application)
    data["address"] = ["10.0.0.7:3306", "10.0.0.7:3306"]
    response = alice_client.post(START, data)
    assert "10.0.0.7:3306 is listed twice." in _errors(response)


def test_a_taken_name_is_refused_before_the_test(alice_client, application, static_component):
    response = alice_client.post(START, _step1(application, name="MySQL"))
    assert (
        "Another component of this team already uses this service name; choose another. "
        "(The service name of MySQL is mysql, held by mysql in the application Shop.)"
    ) in _errors(response)


def test_an_address_without_a_port_is_fine_with_the_port_field(alice_client, application):
    assert alice_client.post(START, _step1(application, address="10.0.0.7", port="3306")).status_code == 302


def test_api_registration_needs_no_address(alice_client, application):
    assert alice_client.post(START, _step1(application, registration="api", address="")).status_code == 302


def test_each_field_is_checked_when_it_is_left(alice_client, application):
    headers = {**HTMX, "HTTP_HX_TRIGGER": "id_name", "HTTP_HX_TRIGGER_NAME": "name"}
    response = alice_client.post(reverse("wizard-validate"), _step1(application, name=""), **headers)
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith('<div class="field has-error" id="field-name">')
    assert "Give the component a name." in text


def test_a_good_field_comes_back_without_an_error(alice_client, application):
    headers = {**HTMX, "HTTP_HX_TRIGGER": "id_port", "HTTP_HX_TRIGGER_NAME": "port"}
    response = alice_client.post(reverse("wizard-validate"), _step1(application, port="3306"), **headers)
    assert 'id="field-port"' in response.content.decode() and "has-error" not in response.content.decode()


def test_an_address_row_is_checked_when_it_is_left(alice_client, application):
    data = _step1(application)
    data["address"] = ["10.0.0.7:3306", "10.0.0.8:99999"]
    data["address_key"] = ["aaaa1111", "bbbb2222"]
    headers = {**HTMX, "HTTP_HX_TRIGGER": "address-bbbb2222", "HTTP_HX_TRIGGER_NAME": "address"}
    text = alice_client.post(reverse("wizard-validate"), data, **headers).content.decode()
    assert 'id="row-bbbb2222"' in text and "10.0.0.8:99999" in text
    assert "has an invalid port: a port is a number from 1 to 65535." in text.replace("&#x27;", "'")
    assert "row-aaaa1111" not in text


def test_add_address_without_javascript_gives_one_more_row_and_keeps_what_was_typed(
    alice_client, application
):
    data = _step1(application, name="orders-db", add_address="1")
    text = alice_client.post(START, data).content.decode()
    assert text.count('name="address"') == 2
    assert 'value="10.0.0.7:3306"' in text and 'value="orders-db"' in text
    assert "has-error" not in text


def test_remove_address_without_javascript_takes_the_row_away(alice_client, application):
    data = _step1(application, remove_address="bbbb2222")
    data["address"] = ["10.0.0.7:3306", "10.0.0.8:3306"]
    data["address_key"] = ["aaaa1111", "bbbb2222"]
    text = alice_client.post(START, data).content.decode()
    assert "10.0.0.7:3306" in text and "10.0.0.8:3306" not in text


def test_add_address_with_htmx_answers_one_row(alice_client, application):
    text = alice_client.get(reverse("wizard-address-row"), **HTMX).content.decode()
    assert text.lstrip().startswith('<div class="field address-row')
    assert text.count('name="address"') == 1 and "Component address" in text


# Step 2: the test


def test_step_1_writes_nothing_and_keeps_the_draft_in_the_session(alice_client, application):
    url = _submitted(alice_client, application)
    assert (
        not Component.objects.exists() and not AuditEvent.objects.filter(action="component.create").exists()
    )
    drafts = _drafts(alice_client)
    assert len(drafts) == 1 and drafts[0].endswith(url.split("/")[-2].replace("-", ""))


def test_htmx_gets_step_2_at_once_with_the_results_loading(alice_client, application):
    response = alice_client.post(START, _step1(application), **STEP)
    text = response.content.decode()
    assert response.status_code == 200 and "Step 2 — Test and create" in text
    assert 'hx-trigger="load"' in text and "Testing 1 address…" in text and 'class="spinner"' in text
    assert re.fullmatch(r"/apps/components/new/third-party/[0-9a-f-]{36}/test/", response["HX-Push-Url"])


def test_the_test_step_probes_a_live_address_and_shows_it_reachable(alice_client, application, tcp_listener):
    host, port = tcp_listener
    url = _submitted(alice_client, application, address=f"{host}:{port}")
    text = alice_client.get(url + "test/").content.decode()
    assert "Reachable" in text and "Unreachable" not in text and " ms" in text
    assert ">Create</button>" in text and "Create anyway" not in text


def test_an_unreachable_address_shows_the_stage_and_asks_for_confirmation(
    alice_client, application, closed_port
):
    url = _submitted(alice_client, application, address=f"127.0.0.1:{closed_port}")
    text = alice_client.get(url + "test/").content.decode()
    assert "Unreachable" in text and "connect:" in text
    assert "did not pass the test" in text and "Create anyway" in text


def test_a_mysql_address_shows_the_server_version(alice_client, application):
    url = _submitted(alice_client, application, address="127.0.0.1:3306", protocol="mysql")
    text = alice_client.get(url + "results/", **RESULTS).content.decode()
    assert "Reachable" in text and re.search(r"(MariaDB|MySQL) \d+\.\d+", text)
    assert "<td>mysql</td>" in text


def test_the_results_fragment_runs_the_probes_for_htmx(alice_client, application, tcp_listener):
    host, port = tcp_listener
    url = _submitted(alice_client, application, address=f"{host}:{port}")
    text = alice_client.get(url + "results/", **RESULTS).content.decode()
    assert text.lstrip().startswith('<div id="test-results"') and "Reachable" in text


def test_the_test_reports_each_silent_server_as_unreachable_at_the_greeting(alice_client, application):
    # A server that accepts connections and never says a word: the MySQL probes wait for a
    # greeting until they give up, all three at once (how long that takes: bench/waits.py).
    with (
        socket.create_server(("127.0.0.1", 0)) as one,
        socket.create_server(("127.0.0.1", 0)) as two,
        socket.create_server(("127.0.0.1", 0)) as three,
    ):
        data = _step1(application, protocol="mysql")
        data["address"] = [f"127.0.0.1:{server.getsockname()[1]}" for server in (one, two, three)]
        url = _run_url(alice_client.post(START, data))
        text = alice_client.get(url + "results/", **RESULTS).content.decode()
    assert text.count("No answer") == 3 and "greeting:" in text


def test_api_registration_shows_what_will_be_created_without_a_probe(alice_client, application):
    url = _submitted(alice_client, application, registration="api", address="", port="3306", protocol="mysql")
    text = alice_client.get(url + "test/").content.decode()
    assert "API URL" in text and "secret key" in text and "3306 / mysql" in text
    assert "Reachable" not in text and "test-results" not in text


# "Create", "Back" and "Abandon"


def test_create_makes_the_component_with_its_instances_port_and_check(alice_client, application):
    url = _submitted(alice_client, application, address="127.0.0.1", port="3306", protocol="mysql")
    assert "Reachable" in alice_client.get(url + "test/").content.decode()  # the MariaDB of the machine
    response = alice_client.post(url + "create/")
    component = Component.objects.get(name="mysql")
    assert response.status_code == 302 and response["Location"] == f"/components/{component.service_id}/"
    assert component.registration == Registration.STATIC and component.application == application
    assert [i.address for i in Instance.objects.filter(component=component)] == ["127.0.0.1"]
    assert [(p.number, p.protocol) for p in component.ports.all()] == [(3306, "mysql")]
    assert HealthCheck.objects.get(component=component).kind == "mysql"
    assert not _drafts(alice_client)


def test_htmx_create_opens_the_overview_by_hx_location(alice_client, application, http_server):
    host, port = http_server
    url = _submitted(alice_client, application, address=f"http://{host}:{port}")
    alice_client.get(url + "test/")
    response = alice_client.post(url + "create/", **HTMX)
    component = Component.objects.get()
    location = json.loads(response["HX-Location"])
    assert response.status_code == 200 and location == {"path": f"/components/{component.service_id}/"}
    assert component.health_check.kind == "http"


def test_an_unreachable_address_is_not_created_without_confirmation(alice_client, application, closed_port):
    url = _submitted(alice_client, application, address=f"127.0.0.1:{closed_port}")
    response = alice_client.post(url + "create/")
    assert response.status_code == 200 and "Create anyway" in response.content.decode()
    assert not Component.objects.exists()
    response = alice_client.post(url + "create/", {"confirm": "unreachable"})
    assert response.status_code == 302
    assert Instance.objects.get().port == closed_port


def test_create_with_api_registration_gives_a_secret_key(alice_client, application):
    url = _submitted(alice_client, application, registration="api", address="10.0.0.7:3306")
    alice_client.post(url + "create/")
    component = Component.objects.get()
    assert component.registration == Registration.API and len(component.secret_key) >= 32
    assert not Instance.objects.exists()


def test_create_in_a_new_application(alice_client, application, team):
    url = _submitted(
        alice_client, application, application="new", new_application_name="Billing", registration="api"
    )
    assert not Application.objects.filter(name="Billing").exists()
    alice_client.post(url + "create/")
    assert Component.objects.get().application == Application.objects.get(name="Billing", team=team)


def test_a_name_taken_meanwhile_sends_back_to_step_1_with_the_reason(alice_client, application, alice_actor):
    url = _submitted(alice_client, application, registration="api")
    instance_services.component_create(application=application, name="mysql", actor=alice_actor)
    response = alice_client.post(url + "create/")
    assert response.status_code == 200
    assert (
        "already uses this service name; choose another. "
        "(The service name of mysql is mysql, held by mysql in the application Shop.)"
    ) in _errors(response)
    assert Component.objects.count() == 1


def test_back_keeps_what_was_typed(alice_client, application):
    data = _step1(application, name="orders-db", port="3306", protocol="mysql")
    data["address"] = ["10.0.0.7", "db.example.com:3307"]
    response = alice_client.post(START, data)
    url = _run_url(response)
    back = alice_client.get(url, **STEP)
    text = back.content.decode()
    assert (
        'value="orders-db"' in text and 'value="10.0.0.7"' in text and 'value="db.example.com:3307"' in text
    )
    assert 'value="3306"' in text and '<option value="mysql" selected>' in text
    assert back["HX-Push-Url"] == url


def test_step_1_again_replaces_the_draft_of_the_same_run(alice_client, application, tcp_listener):
    url = _submitted(alice_client, application, registration="api")
    response = alice_client.post(url, _step1(application, name="orders-db", registration="api"))
    assert response.status_code == 302 and response["Location"] == url + "test/"
    alice_client.post(url + "create/")
    assert Component.objects.get().name == "orders-db"


def test_abandon_creates_nothing_and_forgets_the_draft(alice_client, application, team):
    url = _submitted(alice_client, application, application="new", new_application_name="Billing")
    response = alice_client.post(url + "abandon/")
    assert response.status_code == 302 and response["Location"] == "/apps/"
    assert not Component.objects.exists() and not Application.objects.filter(name="Billing").exists()
    assert alice_client.get(url + "test/").status_code == 404
    assert alice_client.post(url + "create/").status_code == 404


def test_abandon_returns_to_the_application_the_wizard_was_opened_from(alice_client, application):
    url = _submitted(alice_client, application, started_in=application.slug)
    assert alice_client.post(url + "abandon/")["Location"] == f"/apps/{application.slug}/"


def test_abandon_returns_to_the_list_when_the_wizard_was_opened_there(alice_client, application):
    url = _submitted(alice_client, application)  # an application chosen in the form, opened from /apps/
    assert alice_client.post(url + "abandon/")["Location"] == "/apps/"


def test_cancel_returns_to_where_the_wizard_was_opened(alice_client, application):
    in_app = alice_client.get(reverse("wizard-new-in-app", args=[application.slug])).content.decode()
    assert f'<a class="btn" href="/apps/{application.slug}/">Cancel</a>' in in_app
    assert f'name="started_in" value="{application.slug}"' in in_app
    from_list = alice_client.get(START).content.decode()
    assert '<a class="btn" href="/apps/">Cancel</a>' in from_list
    # A refused step 1 keeps where it was opened.
    refused = alice_client.post(
        START, _step1(application, name="", started_in=application.slug)
    ).content.decode()
    assert f'<a class="btn" href="/apps/{application.slug}/">Cancel</a>' in refused


def test_another_teams_application_is_not_where_cancel_leads(
    alice_client, application, other_team, alice_actor
):
    foreign = services.application_create(team=other_team, name="Elsewhere", actor=alice_actor)
    url = _submitted(alice_client, application, started_in=foreign.slug)
    assert alice_client.post(url + "abandon/")["Location"] == "/apps/"


def test_the_draft_cannot_be_changed_by_posting_to_create(alice_client, application, other_team, alice_actor):
    url = _submitted(alice_client, application, registration="api")
    foreign = services.application_create(team=other_team, name="Elsewhere", actor=alice_actor)
    alice_client.post(
        url + "create/", {"name": "evil", "application": str(foreign.pk), "registration": "static"}
    )
    component = Component.objects.get()
    assert (component.name, component.application, component.registration) == ("mysql", application, "api")


def test_a_member_who_became_a_viewer_cannot_create(alice_client, alice, application, team):
    url = _submitted(alice_client, application, registration="api")
    accounts.membership_set(team=team, user=alice, role=Role.VIEWER)
    assert alice_client.post(url + "create/").status_code == 403
    assert not Component.objects.exists()


def test_another_persons_wizard_run_is_not_found(alice_client, application, client, bob_from_another_team):
    url = _submitted(alice_client, application, registration="api")
    client.force_login(bob_from_another_team)
    assert client.get(url + "test/").status_code == 404
    assert client.post(url + "create/").status_code == 404


def test_a_session_keeps_only_its_newest_few_drafts(alice_client, application):
    runs = [_submitted(alice_client, application, name=f"db{number}") for number in range(MAX_DRAFTS + 3)]

    assert len(_drafts(alice_client)) == MAX_DRAFTS
    assert alice_client.get(runs[0]).status_code == 404  # the oldest is forgotten
    assert alice_client.get(runs[-1]).status_code == 200


def test_the_test_step_is_each_instances_first_check(alice_client, application, tcp_listener, closed_port):
    host, port = tcp_listener
    data = _step1(application)
    data["address"] = [f"{host}:{port}", f"127.0.0.1:{closed_port}"]
    url = _run_url(alice_client.post(START, data))
    alice_client.get(url + "test/")
    alice_client.post(url + "create/", {"confirm": "unreachable"})
    component = Component.objects.get()
    instances = {i.address: i for i in Instance.objects.filter(component=component)}
    answered, silent = instances[f"{host}:{port}"], instances[f"127.0.0.1:{closed_port}"]
    assert answered.last_checked_at is not None and answered.health == "healthy"
    assert answered.latency_ms is not None
    assert silent.last_checked_at is not None and silent.last_stage == "connect"
    overview = alice_client.get(f"/components/{component.service_id}/").content.decode()
    assert "never" not in overview and "Not ready" not in overview


def test_several_addresses_pasted_into_one_row_become_a_row_each(alice_client, application):
    data = _step1(application, port="3306")
    data["address"] = ["10.0.0.7 10.0.0.8:3307,\n db.example.com"]
    response = alice_client.post(START, data)
    assert response.status_code == 302
    # Back on step 1, each pasted address is a row of its own.
    text = alice_client.get(_run_url(response)).content.decode()
    assert text.count('name="address" id="address-') == 3
    for address in ("10.0.0.7", "10.0.0.8:3307", "db.example.com"):
        assert f'value="{address}"' in text


def test_a_bad_address_among_pasted_ones_is_named(alice_client, application):
    data = _step1(application, port="3306")
    data["address"] = ["10.0.0.7 not_an_address!"]
    text = alice_client.post(START, data).content.decode()
    assert "not_an_address!" in text and "Correct the addresses marked below." in text
    assert 'value="10.0.0.7"' in text and 'value="not_an_address!"' in text


def test_the_service_name_is_made_from_the_name_when_it_is_left(alice_client, application):
    data = _step1(application, name="Магазин БД", service_name="", service_name_made="")
    headers = {**HTMX, "HTTP_HX_TRIGGER": "id_name", "HTTP_HX_TRIGGER_NAME": "name"}
    text = alice_client.post(reverse("wizard-validate"), data, **headers).content.decode()
    assert 'id="field-service_name" hx-swap-oob="true"' in text
    assert 'name="service_name" id="id_service_name" value="magazin-bd"' in text
    assert 'name="service_name_made" value="magazin-bd"' in text
    # Changed by the person, it is kept when the name changes again.
    data.update(name="Orders", service_name="shop-db", service_name_made="magazin-bd")
    text = alice_client.post(reverse("wizard-validate"), data, **headers).content.decode()
    assert "field-service_name" not in text


def test_a_chosen_service_name_is_the_components(alice_client, application):
    url = _submitted(alice_client, application, name="Orders DB", service_name="orders-primary")
    assert "<code>orders-primary</code>" in alice_client.get(url + "test/", **HTMX).content.decode()
    alice_client.post(url + "create/", {"confirm": "unreachable"})
    assert Component.objects.get(name="Orders DB").service_name == "orders-primary"


def test_a_service_name_left_as_made_follows_the_name(alice_client, application):
    # Without JavaScript the made one is not updated as the name changes: it is made again at Create.
    url = _submitted(
        alice_client, application, name="Orders", service_name="mysql", service_name_made="mysql"
    )
    alice_client.post(url + "create/", {"confirm": "unreachable"})
    assert Component.objects.get(name="Orders").service_name == "orders"


def test_a_bad_service_name_is_shown_under_its_field(alice_client, application):
    text = alice_client.post(START, _step1(application, service_name="Bad_Name")).content.decode()
    assert "A service name is a DNS label" in text and not Component.objects.exists()
