"""The doors of tests/test_every_door.py: the Django admin, the console API and the pages, each a class
with the same small methods. Each method makes one change as a person (or a script) at that door
would, and keeps what the door answered in ``answer``, so a test can look for the refusal's sentence."""

from __future__ import annotations

from typing import Any

from django import forms
from django.test import Client
from django.urls import resolve, reverse
from rest_framework.test import APIClient

from components.models import Application, Component, ComponentKind, Registration
from instances.models import HealthCheck


def checked(**boxes: bool) -> dict[str, str]:
    """Checkboxes as a browser posts them: only the ticked ones."""
    return {name: "on" for name, on in boxes.items() if on}


def as_posted(form: forms.BaseForm, changes: dict[str, Any]) -> dict[str, Any]:
    """What a browser posts for a form shown with its current values, after the person typed ``changes``
    (unticked checkboxes and disabled fields are not sent)."""
    data: dict[str, Any] = {}
    for field in form:
        if field.field.disabled:
            continue
        value = changes.get(field.name, field.value())
        if isinstance(field.field, forms.BooleanField):
            data.update(checked(**{field.html_name: bool(value)}))
        elif value is not None:
            data[field.html_name] = value
    return data


class AdminDoor:
    """The Django admin, used by a superuser: add forms, and change forms posted as they were shown."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(self, name: str, data: dict[str, Any]) -> None:
        response = self.client.post(reverse(f"admin:{name}_add"), data)
        assert response.status_code in (200, 302), response.status_code
        self.answer = response.content.decode()

    def change(self, name: str, pk: int, changes: dict[str, Any]) -> None:
        url = reverse(f"admin:{name}_change", args=[pk])
        shown = self.client.get(url).context
        data = as_posted(shown["adminform"].form, changes)
        for inline in shown["inline_admin_formsets"]:  # read-only here, but their management forms are sent
            data.update(as_posted(inline.formset.management_form, {}))
        response = self.client.post(url, data)
        assert response.status_code in (200, 302), response.status_code
        self.answer = response.content.decode()

    def create_component(self, application: Application, *, name: str, kind: str, registration: str) -> None:
        data = {"application": application.pk, "name": name, "service_name": "", "kind": kind}
        self.post("components_component", {**data, "registration": registration, "image": ""})

    def add_port(
        self, component: Component, *, number: int, inner: bool = False, outer: bool = False
    ) -> None:
        data = {"component": component.pk, "number": number, "protocol": "tcp", "alias": ""}
        self.post("components_port", {**data, **checked(inner_service=inner, outer_service=outer)})

    def set_variable(self, component: Component, *, name: str, value: str) -> None:
        data = {"component": component.pk, "name": name, "value": value, "scope": "outer"}
        self.post("components_envvar", {**data, "description": ""})

    def add_dependency(self, component: Component, target: Component) -> None:
        self.post("components_dependency", {"component": component.pk, "target": target.pk})

    def add_instance(self, component: Component, *, address: str) -> None:
        self.post("instances_instance", {"component": component.pk, "address": address, "is_online": "on"})

    def rename(self, component: Component, *, name: str, service_name: str) -> None:
        self.change("components_component", component.pk, {"name": name, "service_name": service_name})

    def change_health_check(self, component: Component, **changes: Any) -> None:
        self.change("instances_healthcheck", HealthCheck.objects.get(component=component).pk, changes)


class ApiDoor:
    """The console API, used with a developer's token."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    def send(self, method: str, path: str, data: dict[str, Any]) -> None:
        response = getattr(self.client, method)(f"/api/v1/{path}", data, format="json")
        assert response.status_code in (200, 201, 400), (response.status_code, response.content)
        self.answer = response.content.decode()

    def post(self, path: str, data: dict[str, Any]) -> None:
        self.send("post", path, data)

    def create_component(self, application: Application, *, name: str, kind: str, registration: str) -> None:
        data = {"application": application.slug, "name": name, "kind": kind}
        if kind == ComponentKind.THIRD_PARTY:
            data["registration"] = registration
        self.post("components/", data)

    def add_port(
        self, component: Component, *, number: int, inner: bool = False, outer: bool = False
    ) -> None:
        data = {"number": number, "protocol": "tcp", "inner_service": inner, "outer_service": outer}
        self.post(f"components/{component.service_id}/ports/", data)

    def set_variable(self, component: Component, *, name: str, value: str) -> None:
        self.post(f"components/{component.service_id}/env/", {"name": name, "value": value})

    def add_dependency(self, component: Component, target: Component) -> None:
        self.post(f"components/{component.service_id}/dependencies/", {"target": target.service_id})

    def add_instance(self, component: Component, *, address: str) -> None:
        self.post(f"components/{component.service_id}/instances/", {"address": address})

    def rename(self, component: Component, *, name: str, service_name: str) -> None:
        self.send("patch", f"components/{component.service_id}", {"name": name, "service_name": service_name})

    def change_health_check(self, component: Component, **changes: Any) -> None:
        self.send("put", f"components/{component.service_id}/health-check", changes)


class PageDoor:
    """The pages, used by an owner of the team in a browser without JavaScript: plain form posts, the
    redirect after a success followed to the page that says so, a refusal shown on the page posted to.

    A third-party component comes from the wizard, and the wizard asks static registration for an
    address: ``address`` is a listener on this machine, so that step 2's live test passes at once."""

    def __init__(self, client: Client, *, address: str) -> None:
        self.client = client
        self.address = address

    def post(self, url: str, data: dict[str, Any]) -> None:
        response = self.client.post(url, data, follow=True)
        assert response.status_code == 200, response.status_code
        self.answer = response.content.decode()

    def page(self, component: Component, name: str) -> str:
        return reverse(name, args=[component.service_id])

    def create_component(self, application: Application, *, name: str, kind: str, registration: str) -> None:
        if kind == ComponentKind.INTERNAL:
            url = reverse("internal-component-new", args=[application.slug])
            self.post(url, {"name": name, "image": ""})
            return
        self._wizard(application, name=name, registration=registration)

    def _wizard(self, application: Application, *, name: str, registration: str) -> None:
        """Step 1, then step 2 (which tests the addresses), then "Create"."""
        address = self.address if registration == Registration.STATIC else ""
        step1 = {"name": name, "application": application.pk, "registration": registration}
        response = self.client.post(
            reverse("wizard-new"), {**step1, "address": address, "port": "", "protocol": ""}
        )
        if response.status_code != 302:  # Step 1 again, with the reasons.
            self.answer = response.content.decode()
            return
        step2 = self.client.get(response["Location"])
        assert "Create anyway" not in step2.content.decode(), "the wizard's live test did not pass"
        self.post(reverse("wizard-create", args=[resolve(response["Location"]).kwargs["run"]]), {})

    def add_port(
        self, component: Component, *, number: int, inner: bool = False, outer: bool = False
    ) -> None:
        # The Ports page adds a port, then switches its services on in the port's row.
        self.post(self.page(component, "component-ports"), {"number": number, "protocol": "tcp", "alias": ""})
        if (inner or outer) and component.ports.filter(number=number).exists():
            url = reverse("component-port-services", args=[component.service_id, number])
            self.post(url, checked(inner_service=inner, outer_service=outer))

    def set_variable(self, component: Component, *, name: str, value: str) -> None:
        data = {"name": name, "value": value, "description": ""}
        self.post(self.page(component, "component-connection-info"), data)

    def add_dependency(self, component: Component, target: Component) -> None:
        self.post(self.page(component, "component-dependencies"), {"target": target.service_id})

    def add_instance(self, component: Component, *, address: str) -> None:
        self.post(self.page(component, "component-instance-add"), {"address": address})

    def rename(self, component: Component, *, name: str, service_name: str) -> None:
        self.post(self.page(component, "component-settings"), {"name": name, "service_name": service_name})

    def change_health_check(self, component: Component, **changes: Any) -> None:
        url = self.page(component, "component-health-check")
        self.post(url, as_posted(self.client.get(url).context["form"], changes))
