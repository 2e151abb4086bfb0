"""The pages of one component, under /components/<service_id>/ (docs/architecture.md, "A page").

Every view loads the component through a selector scoped by the user (another team's is a 404),
answers a viewer's write with 403, writes through exactly one service and maps the service's
refusal onto the form. An HTMX request that targets a fragment gets the fragment; anything else
gets the whole page, so every form also works as a plain post.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from components import environment, selectors, services
from components.models import Component, ComponentKind, EnvVar, Port, Protocol, Registration, Scope
from core.audit import Actor
from core.errors import ComponentError
from core.models import Role
from instances import environment as resolved
from instances import history, maintenance
from instances import services as instance_services
from instances.addresses import split_addresses
from instances.health import greeting_only_warning
from instances.models import HealthCheck, Instance, Status
from instances.selectors import instance_page, instance_status_counts, status_from_counts
from instances.services import probe_now_slot
from instances.sweep import probe_component_now
from kato_console.pages import charts
from kato_console.pages.forms_component import (
    AddressForm,
    DependencyForm,
    EnvVarEditForm,
    EnvVarForm,
    EventFilterForm,
    HealthCheckForm,
    MaintenanceForm,
    PortForm,
    PortProtocolForm,
    PortServicesForm,
    RenameForm,
)
from kato_console.public_url import public_url
from kato_console.web import (
    HtmxHttpRequest,
    add_service_errors,
    is_fragment_request,
    keep_for_one_display,
    take_shown_once,
)

EVENTS_PER_PAGE = 50

TABS = (
    ("overview", _("Overview"), "component"),
    ("ports", _("Ports"), "component-ports"),
    ("connection-info", _("Connection information"), "component-connection-info"),
    ("dependencies", _("Dependencies"), "component-dependencies"),
    ("environment", _("Environment"), "component-environment"),
    ("health-check", _("Health check"), "component-health-check"),
    ("events", _("Events"), "component-events"),
)


# Loading, permissions and the frame


def _component(request: HtmxHttpRequest, service_id: str) -> tuple[Component, bool]:
    """The user's component (404 for another team's) and whether the user may change it."""
    component = selectors.component_page_for_user(request.user, service_id)
    membership = selectors.membership_for(request.user, component.team)
    return component, bool(membership and membership.can_write)


def _writable(request: HtmxHttpRequest, service_id: str) -> Component:
    component, can_write = _component(request, service_id)
    if not can_write:
        raise PermissionDenied(gettext("Viewers can look at a component but not change it."))
    return component


def _frame(component: Component, can_write: bool, tab: str) -> dict[str, Any]:
    """What the component frame (header, tabs) shows on every page: its status reads "Maintenance"
    during one of its windows."""
    counts = instance_status_counts(component)
    in_maintenance = maintenance.in_maintenance(component)
    return {
        "component": component,
        "can_write": can_write,
        "tab": tab,
        "tabs": TABS,
        "ports": list(component.ports.all()),
        "status": maintenance.MAINTENANCE if in_maintenance else status_from_counts(counts),
        "counts": counts,
    }


def _fragment(request: HtmxHttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """A fragment for an HTMX swap, followed by what it changed of the component's header, out of
    band: the whole header after a change of the ports (it shows them), the status badge alone
    after a change of the instances (the instance table's poll among them, which reads no port)."""
    response = render(request, template, context)
    # Rendered without the request: the header needs no context processor (nor their queries).
    if "ports" in context and "status" in context:
        response.content += render_to_string(
            "components/_component_head.html", {**context, "oob": True}
        ).encode()
    elif "status" in context:
        badge = render_to_string("components/_component_status.html", {**context, "oob_status": True})
        response.content += badge.encode()
    return response


def _page_or_fragment(
    request: HtmxHttpRequest, page: str, fragment: str, fragment_id: str, context: dict[str, Any]
) -> HttpResponse:
    if is_fragment_request(request, fragment_id):
        return _fragment(request, fragment, context)
    return render(request, page, context)


def _done(request: HtmxHttpRequest, url_name: str, component: Component, message: str) -> HttpResponse:
    """After a plain (non-HTMX) post succeeded: say so and show the page again (post/redirect/get)."""
    messages.success(request, message)
    return redirect(url_name, component.service_id)


# Overview and its instance table


def _instance_table(
    component: Component, can_write: bool, page_number: int | str | None, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """The small context of the live instance table (it is polled every 5 seconds). Every instance
    is in exactly one status, so the counts per status also give the paginator its total."""
    counts = instance_status_counts(component) if counts is None else counts
    page = instance_page(component, page_number, total=sum(counts.values()))
    uptimes = history.uptime([instance.pk for instance in page.object_list])
    return {
        "component": component,
        "can_write": can_write,
        "page": page,
        "rows": [
            (instance, instance.status, uptimes.get(instance.pk) or history.no_uptime())
            for instance in page.object_list
        ],
        "counts": counts,
        "status": maintenance.MAINTENANCE
        if maintenance.in_maintenance(component)
        else status_from_counts(counts),
        "static": component.registration == Registration.STATIC,
    }


def _overview(
    request: HtmxHttpRequest, component: Component, can_write: bool, **extra: Any
) -> dict[str, Any]:
    check = _health_check(component)
    context = _frame(component, can_write, "overview")
    context.update(_instance_table(component, can_write, request.GET.get("page"), context["counts"]))
    context.update(
        {
            "health_check": check,
            "check_warning": _check_warning(component, check),
            "api_url": public_url(request, component.instance_api_path),
            "revealed_key": "",
            "address_form": AddressForm(),
            **_history(request, component.pk, None),
            **_certificates(component),
        }
    )
    context.update(extra)
    context["curl_line"] = curl_line(context["api_url"], context["revealed_key"] or "<secret key>")
    return context


# The address to register is a shell variable that must be set: pasted as it is, the shell refuses
# the line ("INSTANCE_IP: set INSTANCE_IP to the address to register") rather than registering a
# made-up address; set (INSTANCE_IP=10.1.2.3), the same line registers that address.
INSTANCE_IP = "'\"${INSTANCE_IP:?set INSTANCE_IP to the address to register}\"'"


def curl_line(api_url: str, key: str) -> str:
    """The line a script runs to register an instance, as the overview shows and copies it."""
    body = f'{{"secret_key":"{key}","ip":"{INSTANCE_IP}","is_online":true}}'
    return f"curl -X PUT --url {api_url} -H \"Content-Type: application/json\" -d '{body}'"


@never_cache  # The answer carries the secret key.
@require_POST
def secret_key_curl(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    """The curl line with the real secret key, for the Copy button: audited like a reveal."""
    component = _writable(request, service_id)
    key = services.secret_key_reveal(component=component, actor=Actor.from_request(request), via="page:copy")
    line = curl_line(public_url(request, component.instance_api_path), key)
    return HttpResponse(line, content_type="text/plain; charset=utf-8")


def _certificates(component: Component) -> dict[str, Any]:
    """The instances whose probed certificate expires within ``KATO_CERT_WARNING_DAYS`` (or has)."""
    now = timezone.now()
    days = settings.KATO_CERT_WARNING_DAYS
    soon = component.instances.filter(cert_expires_at__lt=now + timedelta(days=days))
    return {
        "expiring": list(soon.order_by("cert_expires_at", "pk")[:20]),
        "cert_warning_days": days,
        "now": now,
    }


def _window(request: HtmxHttpRequest) -> history.Window:
    return history.CHART_WINDOWS.get(request.GET.get("window", ""), history.CHART_WINDOWS["24h"])


def _history(request: HtmxHttpRequest, component_id: int, instance: Instance | None) -> dict[str, Any]:
    """The history card: the chart of the asked window (24 hours unless told) and the uptimes."""
    window = _window(request)
    now = timezone.now()
    if instance is None:
        points = history.component_series(component_id, window, now=now)
        uptime = history.component_uptime([component_id], now=now).get(component_id)
        title = gettext("Latency and probes of the component")
    else:
        points = history.series([instance.pk], window, now=now)
        uptime = history.uptime([instance.pk], now=now).get(instance.pk)
        title = gettext("Latency and probes of %(address)s") % {"address": instance.address}
    return {
        "chart": charts.chart(points, window, now=now, title=title),
        "chart_window": window,
        "chart_window_label": charts.window_label(window),
        "chart_windows": history.CHART_WINDOWS.values(),
        "uptime": uptime or history.no_uptime(),
    }


def _check_warning(component: Component, check: HealthCheck | None) -> str:
    """The greeting-only warning where it applies: an enabled MySQL check without credentials that
    has instances to probe (with none, no host can be blocked)."""
    if check is None or not check.enabled or not component.instances.exists():
        return ""
    return greeting_only_warning(check)


def _health_check(component: Component) -> HealthCheck | None:
    try:
        return component.health_check
    except HealthCheck.DoesNotExist:
        return None


def _stops_polling(context: dict[str, Any]) -> bool:
    """Nothing to watch: no instance is online, and none can arrive from a script (static registration
    or an internal component). An API-registered component keeps polling: instances come from its API."""
    online = sum(n for status, n in context["counts"].items() if status != Status.OFFLINE)
    return online == 0 and not context["component"].uses_api_registration


def overview(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    if is_fragment_request(request, "instance-table"):
        return _instance_table_poll(request, service_id)
    component, can_write = _component(request, service_id)
    # The session keeps only the wish to show the key (its audit event is written), not the key.
    shown = can_write and take_shown_once(request, f"secret-key:{component.service_id}")
    context = _overview(request, component, can_write, revealed_key=component.secret_key if shown else "")
    response = render(request, "components/overview.html", context)
    if context["revealed_key"]:
        add_never_cache_headers(response)  # it carries the secret key
    return response


def _instance_table_poll(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    """The live table alone: every open overview asks for it every 5 seconds, so it reads only what
    the table shows (not the frame's ports, not the sidebar: see docs/architecture.md, "A page")."""
    component, can_write = selectors.component_fragment_for_user(request.user, service_id)
    context = _instance_table(component, can_write, request.GET.get("page"))
    response = _fragment(request, "components/_instance_table.html", context)
    if _stops_polling(context):
        # htmx swaps this last table in and stops polling.
        return HttpResponseStopPolling(response.content)
    return response


def instance_history(request: HtmxHttpRequest, service_id: str, pk: int) -> HttpResponse:
    """One instance's chart and uptimes."""
    component, can_write = _component(request, service_id)
    instance = _instance(component, pk)
    context = _frame(component, can_write, "overview")
    context.update({"instance": instance, **_history(request, component.pk, instance)})
    return render(request, "components/instance_history.html", context)


@never_cache  # The answer carries the secret key.
@require_POST
def secret_key_reveal(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    key = services.secret_key_reveal(component=component, actor=Actor.from_request(request))
    return _show_secret_key(request, component, key)


@never_cache  # The answer carries the new secret key.
@require_POST
def secret_key_regenerate(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    key = services.secret_key_regenerate(component=component, actor=Actor.from_request(request))
    messages.success(request, gettext("A new secret key was generated; the old one no longer works."))
    return _show_secret_key(request, component, key)


def _show_secret_key(request: HtmxHttpRequest, component: Component, key: str) -> HttpResponse:
    """htmx swaps the card in; a plain post redirects to the overview, which shows the key once,
    so that a reload neither reveals nor regenerates it again."""
    if is_fragment_request(request, "api-registration"):
        context = _overview(request, component, True, revealed_key=key)
        return render(request, "components/_api_registration.html", context)
    keep_for_one_display(request, f"secret-key:{component.service_id}", True)
    return redirect("component", component.service_id)


@require_POST
def instance_add(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    form = AddressForm(request.POST)
    # One a line or separated by commas (spaces stay an address's mistake, as at every other door).
    texts = split_addresses(form.cleaned_data["address"], spaces=False) if form.is_valid() else []
    if form.is_valid() and not texts:
        form.add_error("address", gettext("Give an address, such as 10.0.0.7:3306."))
    elif texts:
        actor = Actor.from_request(request)
        try:
            # Several addresses may be pasted at once: all are added, or none.
            with transaction.atomic():
                added = [
                    instance_services.instance_add(
                        component=component, address=_checked(text, several=len(texts) > 1), actor=actor
                    ).address
                    for text in texts
                ]
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            if not is_fragment_request(request, "instances"):
                what = (
                    gettext("Added the instance %(address)s.") % {"address": added[0]}
                    if len(added) == 1
                    else gettext("Added %(n)d instances: %(addresses)s.")
                    % {"n": len(added), "addresses": ", ".join(added)}
                )
                return _done(request, "component", component, what)
            form = AddressForm()
    context = _overview(request, component, True, address_form=form)
    return _page_or_fragment(
        request, "components/overview.html", "components/_instances.html", "instances", context
    )


def _checked(text: str, *, several: bool) -> Any:
    try:
        return instance_services.address_parse_checked(text)
    except ComponentError as error:
        if not several:
            raise
        # Which of the pasted addresses it is, when there are several.
        raise ComponentError({"address": [f"{text}: {' '.join(error.messages['address'])}"]}) from None


def _instance(component: Component, pk: int) -> Instance:
    instance = component.instances.filter(pk=pk).first()
    if instance is None:
        raise Http404(gettext("No such instance."))
    return instance


def _after_instance_change(request: HtmxHttpRequest, component: Component, message: str) -> HttpResponse:
    page = request.POST.get("page") or "1"
    if is_fragment_request(request, "instance-table"):
        return _fragment(request, "components/_instance_table.html", _instance_table(component, True, page))
    messages.success(request, message)
    return redirect(f"{reverse('component', args=[component.service_id])}?page={page}")


@require_POST
def instance_set_online(request: HtmxHttpRequest, service_id: str, pk: int) -> HttpResponse:
    component = _writable(request, service_id)
    instance = _instance(component, pk)
    is_online = request.POST.get("is_online") == "1"
    instance_services.instance_set_online(
        instance=instance, is_online=is_online, actor=Actor.from_request(request)
    )
    message = gettext("%(address)s is back online.") if is_online else gettext("%(address)s is offline.")
    return _after_instance_change(request, component, message % {"address": instance.address})


def instance_delete(request: HtmxHttpRequest, service_id: str, pk: int) -> HttpResponse:
    component = _writable(request, service_id)
    instance = _instance(component, pk)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        context = {
            **_frame(component, True, "overview"),
            "instance": instance,
            "page_number": request.GET.get("page", "1"),
        }
        return render(request, "components/instance_delete.html", context)
    instance_services.instance_delete(instance=instance, actor=Actor.from_request(request))
    return _after_instance_change(
        request, component, gettext("Deleted the instance %(address)s.") % {"address": instance.address}
    )


# Settings: rename and delete


def settings_page(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component, can_write = _component(request, service_id)
    with_image = component.kind == ComponentKind.INTERNAL
    initial = {"name": component.name, "service_name": component.service_name, "image": component.image}
    form = RenameForm(initial=initial, with_image=with_image)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied(gettext("Viewers can look at a component but not change it."))
        form = RenameForm(request.POST, with_image=with_image)
        if form.is_valid():
            try:
                services.component_update(
                    component=component, actor=Actor.from_request(request), **form.cleaned_data
                )
            except ComponentError as error:
                add_service_errors(form, error)
                component.refresh_from_db()
            else:
                saved = (
                    gettext("Saved the component's names and image.")
                    if with_image
                    else gettext("Saved the component's names.")
                )
                return _done(request, "component-settings", component, saved)
    context = {**_frame(component, can_write, "settings"), "form": form}
    return render(request, "components/settings.html", context)


def component_delete(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    dependents = list(selectors.dependents_of(component))
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            services.component_delete(component=component, actor=Actor.from_request(request))
        except ComponentError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, gettext("Deleted the component %(name)s.") % {"name": component.name})
            return redirect("application", component.application.slug)
    context = {**_frame(component, True, "settings"), "dependents": dependents}
    return render(request, "components/delete.html", context)


# Ports


def _ports(component: Component, can_write: bool, **extra: Any) -> dict[str, Any]:
    context = _frame(component, can_write, "ports")
    failed_number, failed_form = extra.pop("failed", (None, None))
    context["port_rows"] = [
        (port, failed_form if port.number == failed_number else PortServicesForm(initial=_services_of(port)))
        for port in context["ports"]
    ]
    context["port_form"] = PortForm()
    context["protocols"] = Protocol.choices
    context.update(extra)
    return context


def _services_of(port: Port) -> dict[str, bool]:
    return {"inner_service": port.inner_service, "outer_service": port.outer_service}


def _ports_response(
    request: HtmxHttpRequest, component: Component, message: str, **extra: Any
) -> HttpResponse:
    if not extra and not is_fragment_request(request, "ports"):
        return _done(request, "component-ports", component, message)
    component = selectors.component_page_for_user(request.user, component.service_id)
    context = _ports(component, True, **extra)
    return _page_or_fragment(request, "components/ports.html", "components/_ports.html", "ports", context)


def ports(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    if request.method == "POST":
        return _port_add(request, service_id)
    component, can_write = _component(request, service_id)
    return _page_or_fragment(
        request, "components/ports.html", "components/_ports.html", "ports", _ports(component, can_write)
    )


def _port_add(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    form = PortForm(request.POST)
    if form.is_valid():
        try:
            port = services.port_create(
                component=component, actor=Actor.from_request(request), **form.cleaned_data
            )
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            return _ports_response(
                request,
                component,
                gettext("Added port %(port)s.") % {"port": f"{port.number}/{port.protocol}"},
            )
    return _ports_response(request, component, "", port_form=form)


def _port(component: Component, number: int) -> Port:
    port = next((port for port in component.ports.all() if port.number == number), None)
    if port is None:
        raise Http404(gettext("No such port."))
    return port


@require_POST
def port_services(request: HtmxHttpRequest, service_id: str, number: int) -> HttpResponse:
    component = _writable(request, service_id)
    port = _port(component, number)
    form = PortServicesForm(request.POST)
    form.is_valid()  # Two check boxes: anything posted is a valid on or off.
    # Only what the user switched, so that a refusal speaks of the switch they touched.
    changes = {field: on for field, on in form.cleaned_data.items() if getattr(port, field) != on}
    try:
        if changes:
            services.port_update(port=port, actor=Actor.from_request(request), **changes)
    except ComponentError as error:
        # Nothing was saved, so the switches show what is saved, not what was posted, with the reason.
        port.refresh_from_db()
        form = PortServicesForm({field: "on" for field, on in _services_of(port).items() if on})
        form.is_valid()
        add_service_errors(form, error)
        return _ports_response(request, component, "", failed=(port.number, form))
    return _ports_response(
        request, component, gettext("Saved the services of port %(number)s.") % {"number": port.number}
    )


@require_POST
def port_protocol(request: HtmxHttpRequest, service_id: str, number: int) -> HttpResponse:
    """Change a port's protocol after its creation (the select posts on change; Save without JavaScript)."""
    component = _writable(request, service_id)
    port = _port(component, number)
    form = PortProtocolForm(request.POST)
    if not form.is_valid():
        return _ports_response(
            request, component, "", protocol_error=(port.number, gettext("Choose a protocol."))
        )
    protocol = form.cleaned_data["protocol"]
    try:
        if protocol != port.protocol:
            services.port_update(port=port, actor=Actor.from_request(request), protocol=protocol)
    except ComponentError as error:
        return _ports_response(request, component, "", protocol_error=(port.number, str(error)))
    return _ports_response(
        request,
        component,
        gettext("Port %(port)s is now %(protocol)s.")
        % {"port": port.number, "protocol": port.get_protocol_display()},
    )


@require_POST
def port_delete(request: HtmxHttpRequest, service_id: str, number: int) -> HttpResponse:
    component = _writable(request, service_id)
    port = _port(component, number)
    services.port_delete(port=port, actor=Actor.from_request(request))
    return _ports_response(request, component, gettext("Deleted port %(number)s.") % {"number": number})


# Connection information


def _connection_info(component: Component, can_write: bool, **extra: Any) -> dict[str, Any]:
    context = _frame(component, can_write, "connection-info")
    # The generated ALIAS_HOST / ALIAS_PORT values come from the best routed instance.
    prefetch_related_objects([component], resolved.best_routed_prefetch())
    variables = list(component.env_vars.filter(scope=Scope.OUTER).order_by("name"))
    context["variables"] = [
        (var, _shown_value(component, var), resolved.generated_warning(component, var)) for var in variables
    ]
    context["env_form"] = EnvVarForm()
    context["revealed"] = set()
    context.update(extra)
    return context


def _shown_value(component: Component, var: EnvVar) -> str:
    return resolved.generated_value(component, var)


def _variable(component: Component, name: str) -> EnvVar:
    var = component.env_vars.filter(name=name).first()
    if var is None:
        raise Http404(gettext("No such variable."))
    return var


def _connection_info_response(
    request: HtmxHttpRequest, component: Component, message: str, **extra: Any
) -> HttpResponse:
    if not extra and not is_fragment_request(request, "connection-info"):
        return _done(request, "component-connection-info", component, message)
    context = _connection_info(component, True, **extra)
    return _page_or_fragment(
        request,
        "components/connection_info.html",
        "components/_connection_info.html",
        "connection-info",
        context,
    )


@never_cache  # It may carry a secret value revealed by the post that redirected here.
def connection_info(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    if request.method == "POST":
        return _env_add(request, service_id)
    component, can_write = _component(request, service_id)
    context = _connection_info(component, can_write)
    if can_write and not request.htmx:
        # A plain "Reveal" redirected here: the value is shown on this one page.
        context["revealed"] = set(take_shown_once(request, f"revealed:{component.service_id}", []))  # type: ignore[call-overload]
    return _page_or_fragment(
        request,
        "components/connection_info.html",
        "components/_connection_info.html",
        "connection-info",
        context,
    )


def _env_add(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    form = EnvVarForm(request.POST)
    if form.is_valid():
        try:
            var = services.env_var_create(
                component=component, actor=Actor.from_request(request), scope=Scope.OUTER, **form.cleaned_data
            )
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            return _connection_info_response(
                request, component, gettext("Added the variable %(name)s.") % {"name": var.name}
            )
    return _connection_info_response(request, component, "", env_form=form)


def env_edit(request: HtmxHttpRequest, service_id: str, name: str) -> HttpResponse:
    component = _writable(request, service_id)
    var = _variable(component, name)
    if var.generated:
        raise Http404(gettext("A generated variable cannot be edited."))
    initial = {
        "name": var.name,
        "value": "" if var.secret else var.value,
        "secret": var.secret,
        "description": var.description,
    }
    form = EnvVarEditForm(initial=initial, keep_secret=var.secret)
    if request.method == "POST":
        form = EnvVarEditForm(request.POST, initial=initial, keep_secret=var.secret)
        if form.is_valid():
            data = form.cleaned_data
            value = var.value if var.secret and not data["value"] else data["value"]
            try:
                services.env_var_set(
                    component=component, name=var.name, actor=Actor.from_request(request), value=value,
                    scope=var.scope, secret=data["secret"], description=data["description"],
                )  # fmt: skip
            except ComponentError as error:
                add_service_errors(form, error)
            else:
                return _done(
                    request,
                    "component-connection-info",
                    component,
                    gettext("Saved the variable %(name)s.") % {"name": var.name},
                )
    context = {**_frame(component, True, "connection-info"), "form": form, "variable": var}
    return render(request, "components/env_edit.html", context)


@require_POST
def env_delete(request: HtmxHttpRequest, service_id: str, name: str) -> HttpResponse:
    component = _writable(request, service_id)
    var = _variable(component, name)
    try:
        services.env_var_delete(var=var, actor=Actor.from_request(request))
    except ComponentError as error:
        messages.error(request, str(error))
        return redirect("component-connection-info", component.service_id)
    return _connection_info_response(
        request, component, gettext("Deleted the variable %(name)s.") % {"name": name}
    )


@never_cache  # The answer carries secret values.
@require_POST
def env_reveal(request: HtmxHttpRequest, service_id: str, name: str) -> HttpResponse:
    component = _writable(request, service_id)
    var = _variable(component, name)
    services.env_reveal(
        component=component, actor=Actor.from_request(request), names=[var.name], via="page:connection-info"
    )
    if is_fragment_request(request, f"var-{var.name}"):
        row = {
            "var": var,
            "value": var.value,
            "revealed": {var.name},
            "component": component,
            "can_write": True,
        }
        return render(request, "components/_env_row.html", row)
    keep_for_one_display(request, f"revealed:{component.service_id}", [var.name])
    return redirect("component-connection-info", component.service_id)


# Dependencies


def _dependencies(component: Component, can_write: bool, **extra: Any) -> dict[str, Any]:
    context = _frame(component, can_write, "dependencies")
    choices = selectors.dependency_choices(component)
    context.update(
        {
            "targets": list(selectors.dependencies_of(component)),
            "dependents": list(selectors.dependents_of(component)),
            "dependency_form": DependencyForm(choices=choices),
            "confirm_target": None,
        }
    )
    context.update(extra)
    return context


def dependencies(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    if request.method == "POST":
        return _dependency_add(request, service_id)
    component, can_write = _component(request, service_id)
    return _page_or_fragment(
        request,
        "components/dependencies.html",
        "components/_dependencies.html",
        "dependencies",
        _dependencies(component, can_write),
    )


def _dependency_add(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    form = DependencyForm(request.POST, choices=selectors.dependency_choices(component))
    extra: dict[str, Any] = {"dependency_form": form}
    if form.is_valid():
        target = form.cleaned_data["target"]
        try:
            services.dependency_add(
                component=component,
                target=target,
                actor=Actor.from_request(request),
                open_inner=form.cleaned_data["open_inner"],
            )
        except ComponentError as error:
            if "open_inner" in error.messages:
                # Not a refusal: the target's port needs its internal service, and the user is asked first.
                extra.update(confirm_target=target, confirm_message=" ".join(error.messages["open_inner"]))
            else:
                add_service_errors(form, error)
        else:
            if not is_fragment_request(request, "dependencies"):
                return _done(
                    request,
                    "component-dependencies",
                    component,
                    gettext("%(component)s now depends on %(target)s.")
                    % {"component": component.name, "target": target.name},
                )
            extra = {}
    context = _dependencies(component, True, **extra)
    return _page_or_fragment(
        request, "components/dependencies.html", "components/_dependencies.html", "dependencies", context
    )


@require_POST
def dependency_remove(request: HtmxHttpRequest, service_id: str, target_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    target = selectors.dependencies_of(component).filter(service_id=target_id).first()
    if target is None:
        raise Http404(gettext("No such dependency."))
    services.dependency_remove(component=component, target=target, actor=Actor.from_request(request))
    if not is_fragment_request(request, "dependencies"):
        return _done(
            request,
            "component-dependencies",
            component,
            gettext("%(component)s no longer depends on %(target)s.")
            % {"component": component.name, "target": target.name},
        )
    context = _dependencies(component, True)
    return _fragment(request, "components/_dependencies.html", context)


# The effective environment


def _environment(component: Component, can_write: bool, *, reveal: bool = False) -> dict[str, Any]:
    context = _frame(component, can_write, "environment")
    prefetch_related_objects([component], resolved.best_routed_prefetch())
    context["entries"] = resolved.effective_environment(component)
    context["reveal"] = reveal
    context["has_secrets"] = bool(environment.secret_names(context["entries"]))
    return context


@never_cache  # It may carry secret values revealed by the post that redirected here.
def environment_page(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component, can_write = _component(request, service_id)
    reveal = can_write and bool(take_shown_once(request, f"environment-revealed:{component.service_id}"))
    return render(request, "components/environment.html", _environment(component, can_write, reveal=reveal))


@never_cache  # The answer carries secret values.
@require_POST
def environment_reveal(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    context = _environment(component, True, reveal=True)
    names = environment.secret_names(context["entries"])
    services.env_reveal(
        component=component, actor=Actor.from_request(request), names=names, via="page:environment"
    )
    if is_fragment_request(request, "environment"):
        return _fragment(request, "components/_environment.html", context)
    keep_for_one_display(request, f"environment-revealed:{component.service_id}", True)
    return redirect("component-environment", component.service_id)


def environment_download(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component, can_write = _component(request, service_id)
    prefetch_related_objects(
        [component], Prefetch("instances", queryset=Instance.objects.order_by("host", "port", "id"))
    )
    entries = resolved.effective_environment(component)
    if can_write:
        names = environment.secret_names(entries)
        services.env_reveal(
            component=component, actor=Actor.from_request(request), names=names, via="page:environment.env"
        )
    response = HttpResponse(
        environment.render_dotenv(component, entries, reveal=can_write),
        content_type="text/plain; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{component.service_name}.env"'
    response["Cache-Control"] = "no-store"  # It may hold secret values.
    return response


# Health check


def _health_check_form(
    component: Component, check: HealthCheck | None, owner: bool, data: Any = None
) -> HealthCheckForm:
    return HealthCheckForm(
        data,
        initial=HealthCheckForm.initial_of(check or HealthCheck()),
        api_registration=component.uses_api_registration,
        owner=owner,
    )


def _is_owner(request: HtmxHttpRequest, component: Component) -> bool:
    membership = selectors.membership_for(request.user, component.team)
    return membership is not None and membership.role == Role.OWNER


def _health_page(component: Component, can_write: bool, owner: bool, **extra: Any) -> dict[str, Any]:
    check = _health_check(component)
    context = _frame(component, can_write, "health-check")
    context.update(
        {
            "health_check": check,
            "form": _health_check_form(component, check, owner),
            "check_warning": _check_warning(component, check),
            "probe_results": None,
            "windows": maintenance.windows_of(component),
            "maintenance_form": MaintenanceForm(),
            "now": timezone.now(),
        }
    )
    context.update(extra)
    return context


def health_check(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component, can_write = _component(request, service_id)
    extra: dict[str, Any] = {}
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied(gettext("Viewers can look at a component but not change it."))
        form = _health_check_form(
            component, _health_check(component), _is_owner(request, component), request.POST
        )
        if form.is_valid():
            try:
                instance_services.health_check_update(
                    component=component, actor=Actor.from_request(request), **form.cleaned_data
                )
            except ComponentError as error:
                add_service_errors(form, error)
            else:
                return _done(
                    request,
                    "component-health-check",
                    component,
                    gettext("Saved the health check; it applies now."),
                )
        extra["form"] = form
    elif can_write:
        kept = take_shown_once(request, _shown_probe(component))
        if isinstance(kept, list):  # the display a plain Probe now redirected to
            extra["probe_results"] = kept
    context = _health_page(component, can_write, _is_owner(request, component), **extra)
    return render(request, "components/health_check.html", context)


def _shown_probe(component: Component) -> str:
    return f"probe-{component.service_id}"


@require_POST
def probe_now(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    with probe_now_slot(component_id=component.pk, user_id=request.user.pk):
        results = probe_component_now(component=component, actor=Actor.from_request(request))
    if is_fragment_request(request, "probe-results"):
        return render(request, "components/_probe_results.html", {"probe_results": results})
    # Post/redirect/get: the health check page shows these results once; a reload probes nothing.
    shown = [
        (
            {"address": instance.address},
            {
                "ok": result.ok,
                "latency_ms": result.latency_ms,
                "server_info": result.server_info,
                "stage": result.stage,
                "error": result.error,
                "failure": result.failure,
            },
        )
        for instance, result in results
    ]
    keep_for_one_display(request, _shown_probe(component), shown)
    return redirect("component-health-check", component.service_id)


@require_POST
def health_check_pause(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    """Pause the check (``pause=1``) or resume it."""
    component = _writable(request, service_id)
    paused = request.POST.get("pause") == "1"
    maintenance.health_check_pause(component=component, paused=paused, actor=Actor.from_request(request))
    message = (
        gettext("Paused the health check: nothing is probed until it is resumed.")
        if paused
        else gettext("Resumed the health check.")
    )
    return _done(request, "component-health-check", component, message)


@require_POST
def maintenance_add(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component = _writable(request, service_id)
    form = MaintenanceForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        whole = data.pop("whole_application")
        try:
            maintenance.maintenance_window_create(
                actor=Actor.from_request(request),
                component=None if whole else component,
                application=component.application if whole else None,
                **data,
            )
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            return _done(
                request, "component-health-check", component, gettext("Added the maintenance window.")
            )
    context = _health_page(component, True, _is_owner(request, component), maintenance_form=form)
    return render(request, "components/health_check.html", context)


@require_POST
def maintenance_delete(request: HtmxHttpRequest, service_id: str, pk: int) -> HttpResponse:
    component = _writable(request, service_id)
    window = next((window for window in maintenance.windows_of(component) if window.pk == pk), None)
    if window is None:
        raise Http404(gettext("No such maintenance window."))
    maintenance.maintenance_window_delete(window=window, actor=Actor.from_request(request))
    return _done(request, "component-health-check", component, gettext("Deleted the maintenance window."))


# Events


def events(request: HtmxHttpRequest, service_id: str) -> HttpResponse:
    component, can_write = _component(request, service_id)
    form = EventFilterForm(request.GET or None, actions=selectors.component_event_actions(component))
    action = form.cleaned_data["action"] if form.is_valid() else ""
    page = Paginator(selectors.component_events(component, action=action), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {**_frame(component, can_write, "events"), "filter_form": form, "action": action, "page": page}
    return _page_or_fragment(request, "components/events.html", "components/_events.html", "events", context)
