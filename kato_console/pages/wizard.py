"""The Add Third-Party Component wizard (docs/architecture.md, "A page").

Step 1 gathers the component's facts; step 2 probes every static address live and shows what
will be created; "Create" makes it all through one service. Between the steps the draft lives in
the session under a key of its own per wizard run, so a person can run two wizards in two tabs and
nobody can tamper with it through hidden fields; nothing is written before "Create".
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from components import selectors
from components.models import Registration
from core.audit import Actor
from core.errors import ComponentError
from instances.addresses import Address, parse_address
from instances.connectivity import TEST_TIMEOUT_S, address_tests
from instances.models import CheckKind
from instances.probes import ProbeResult
from instances.selectors import writable_applications_for_user, writable_teams_for_user
from instances.services import check_kind_for, third_party_component_register
from kato_console.pages.applications import open_page
from kato_console.pages.forms import (
    NEW_APPLICATION,
    AddressRow,
    ThirdPartyForm,
    address_rows,
    new_row_key,
)
from kato_console.web import HtmxHttpRequest, add_service_errors, is_fragment_request

DRAFT_PREFIX = "kato-wizard:"
# Drafts a session keeps: the newest few (tabs open side by side); an older one is forgotten, so a
# loop of started wizards cannot grow the session without end.
MAX_DRAFTS = 5
WIZARD_ID = "wizard"  # the element of a step, which htmx swaps
STEP_FIELDS = (
    "name",
    "service_name",
    "service_name_made",
    "application",
    "new_application_name",
    "team",
    "registration",
    "port",
    "protocol",
)


# The draft


def _draft_key(run: uuid.UUID) -> str:
    return f"{DRAFT_PREFIX}{run.hex}"


def _draft(request: HtmxHttpRequest, run: uuid.UUID) -> dict[str, Any]:
    draft = request.session.get(_draft_key(run))
    if draft is None:
        raise Http404(gettext("This wizard was finished or abandoned; start it again."))
    return draft


def _save_draft(request: HtmxHttpRequest, run: uuid.UUID, draft: dict[str, Any]) -> None:
    key = _draft_key(run)
    request.session.pop(key, None)  # saved again, it becomes the newest (the session keeps its order)
    request.session[key] = draft
    drafts = [name for name in list(request.session.keys()) if name.startswith(DRAFT_PREFIX)]
    for oldest in drafts[: max(len(drafts) - MAX_DRAFTS, 0)]:
        del request.session[oldest]


def _draft_from(form: ThirdPartyForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "typed": {field: form.data.get(field, "") for field in STEP_FIELDS},
        "rows": [row.value for row in form.rows],
        "name": data["name"],
        # Typed by the person, or "" when it is the one made from the name (made again at Create).
        "service_name": data["service_name"] if data["service_name"] != data["service_name_made"] else "",
        "service_name_shown": data["service_name"] or form.made_service_name(),
        "application_id": None if data["application"] == NEW_APPLICATION else int(data["application"]),
        "new_application_name": data["new_application_name"],
        "team_id": data["team"].pk if data.get("team") else None,
        "registration": data["registration"],
        "addresses": [str(a) for a in form.addresses] if data["registration"] == Registration.STATIC else [],
        "port": data["port"],
        "protocol": data["protocol"],
        "results": None,
    }


def _addresses(draft: dict[str, Any]) -> list[Address]:
    return [parse_address(text) for text in draft["addresses"]]


# Step 1


def _writable(request: HtmxHttpRequest) -> tuple[Any, Any]:
    teams = writable_teams_for_user(request.user)
    if not teams.exists():
        raise PermissionDenied(gettext("Only owners and developers can add components."))
    return teams, writable_applications_for_user(request.user)


def _step1_form(request: HtmxHttpRequest, data: Any = None, **kwargs: Any) -> ThirdPartyForm:
    teams, applications = _writable(request)
    return ThirdPartyForm(data, applications=applications, teams=teams, **kwargs)


def _render_step(request: HtmxHttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """The step's fragment for htmx, the whole page otherwise."""
    context.setdefault("timeout_s", TEST_TIMEOUT_S)
    if is_fragment_request(request, WIZARD_ID):
        return render(request, template, context)
    return render(request, "wizard/third_party.html", {**context, "step_template": template})


def _step1(
    request: HtmxHttpRequest, form: ThirdPartyForm, run: uuid.UUID | None, started_in: str = ""
) -> HttpResponse:
    context = {"form": form, "run": run, "started_in": started_in}
    return _render_step(request, "wizard/_step1.html", context)


def _started_in(request: HtmxHttpRequest, slug: str) -> str:
    """The application the wizard was opened from ("" for the applications list), where Cancel and
    Abandon return; only one the user can see."""
    if slug and selectors.applications_for_user(request.user).filter(slug=slug).exists():
        return slug
    return ""


@require_http_methods(["GET", "POST"])
def wizard_start(request: HtmxHttpRequest, slug: str = "") -> HttpResponse:
    if request.method == "POST":
        return _step1_submit(request, None)
    chosen = selectors.application_for_user(request.user, slug) if slug else None
    if chosen is not None and not writable_applications_for_user(request.user).filter(pk=chosen.pk).exists():
        raise PermissionDenied(gettext("Only owners and developers can add components."))
    form = _step1_form(request, initial={"application": chosen.pk if chosen else None})
    return _step1(request, form, None, chosen.slug if chosen else "")


@require_http_methods(["GET", "POST"])
def wizard_edit(request: HtmxHttpRequest, run: uuid.UUID) -> HttpResponse:
    """ "Back": step 1 again, with what was typed."""
    if request.method == "POST":
        return _step1_submit(request, run)
    draft = _draft(request, run)
    form = _step1_form(request, initial=draft["typed"], rows=address_rows(draft["rows"]))
    response = _step1(request, form, run, draft.get("started_in", ""))
    response["HX-Push-Url"] = reverse("wizard-edit", args=[run])
    return response


def _step1_submit(request: HtmxHttpRequest, run: uuid.UUID | None) -> HttpResponse:
    if run is not None:
        started_in = _draft(request, run).get("started_in", "")
    else:
        started_in = _started_in(request, request.POST.get("started_in", ""))
    rows = address_rows(request.POST.getlist("address"), request.POST.getlist("address_key"), split=True)
    if "add_address" in request.POST or "remove_address" in request.POST:
        # The buttons that work without JavaScript: the same step, one row more or less.
        rows = _rows_changed(rows, request.POST.get("remove_address", ""))
        form = _step1_form(request, initial={f: request.POST.get(f, "") for f in STEP_FIELDS}, rows=rows)
        return _step1(request, form, run, started_in)
    form = _step1_form(request, request.POST, rows=rows)
    if not form.is_valid():
        return _step1(request, form, run, started_in)
    run = run or uuid.uuid4()
    _save_draft(request, run, {**_draft_from(form), "started_in": started_in})
    if not is_fragment_request(request, WIZARD_ID):
        return redirect("wizard-test", run=run)
    response = _step2(request, run, _draft(request, run), test_now=False)
    response["HX-Push-Url"] = reverse("wizard-test", args=[run])
    return response


def _rows_changed(rows: list[AddressRow], remove: str) -> list[AddressRow]:
    if remove:
        rows = [row for row in rows if row.key != remove] or [AddressRow(key=new_row_key(), value="")]
        return rows
    return [*rows, AddressRow(key=new_row_key(), value="")]


@require_POST
def wizard_validate(request: HtmxHttpRequest) -> HttpResponse:
    """One field of step 1, checked as the person leaves it: the field's fragment with its error."""
    rows = address_rows(request.POST.getlist("address"), request.POST.getlist("address_key"))
    form = _step1_form(request, request.POST, rows=rows)
    form.is_valid()
    trigger = request.htmx.trigger or "" if request.htmx else request.POST.get("field", "")
    if trigger.startswith("address-") and form.row(trigger.removeprefix("address-")) is not None:
        row = form.row(trigger.removeprefix("address-"))
        return render(request, "wizard/_address_row.html", {"row": row, "form": form})
    name = request.htmx.trigger_name if request.htmx else request.POST.get("field", "")
    if name not in form.fields or name in ("address", "service_name_made"):
        raise Http404(gettext("No such field."))
    if name == "service_name":
        return render(request, "wizard/_service_name.html", _service_name(form))
    response = render(request, "wizard/_field.html", {"field": form[name]})
    if name in ("name", "application", "team"):
        # A new name (or team) makes a new service name, unless the person changed it themselves.
        typed, made = form.data.get("service_name", "").strip(), form.data.get("service_name_made", "")
        if not typed or typed == made:
            made = form.made_service_name()
            context = {"value": made, "made": made, "errors": [], "oob": True}
            response.content += render_to_string(
                "wizard/_service_name.html", context, request=request
            ).encode()
    return response


def _service_name(form: ThirdPartyForm) -> dict[str, Any]:
    return {
        "value": form.data.get("service_name", ""),
        "made": form.data.get("service_name_made", ""),
        "errors": form.errors.get("service_name", []),
    }


@require_GET
def wizard_address_row(request: HtmxHttpRequest) -> HttpResponse:
    """ "Add address": one more empty row."""
    _writable(request)
    return render(request, "wizard/_address_row.html", {"row": AddressRow(key=new_row_key(), value="")})


# Step 2


def _summary(request: HtmxHttpRequest, draft: dict[str, Any]) -> dict[str, Any]:
    """What "Create" will make, in words."""
    application = None
    if draft["application_id"] is not None:
        application = writable_applications_for_user(request.user).filter(pk=draft["application_id"]).first()
    check = check_kind_for(protocol=draft["protocol"] or "", addresses=_addresses(draft))
    return {"application": application, "check_kind": CheckKind(check).label}


def _step2(
    request: HtmxHttpRequest, run: uuid.UUID, draft: dict[str, Any], *, test_now: bool
) -> HttpResponse:
    if test_now and draft["addresses"] and draft["results"] is None:
        draft = _test(request, run, draft)
    context = {"run": run, "draft": draft, "results": draft["results"], **_summary(request, draft)}
    context["unreachable"] = _unreachable(draft)
    return _render_step(request, "wizard/_step2.html", context)


def _test(request: HtmxHttpRequest, run: uuid.UUID, draft: dict[str, Any]) -> dict[str, Any]:
    tests = address_tests(
        _addresses(draft),
        port=draft["port"],
        protocol=draft["protocol"] or "",
        denied_networks=settings.KATO_DENIED_NETWORKS,
    )
    draft = {**draft, "results": [test.as_dict() for test in tests]}
    _save_draft(request, run, draft)
    return draft


def _unreachable(draft: dict[str, Any]) -> list[str]:
    return [r["address"] for r in draft["results"] or () if r["tested"] and not r["ok"]]


@require_GET
def wizard_test(request: HtmxHttpRequest, run: uuid.UUID) -> HttpResponse:
    """Step 2. A whole page probes before it answers (that is how it works without JavaScript);
    htmx gets the step at once and loads the results into it."""
    _writable(request)
    draft = _draft(request, run)
    return _step2(request, run, draft, test_now=not is_fragment_request(request, WIZARD_ID))


@require_http_methods(["GET", "POST"])
def wizard_results(request: HtmxHttpRequest, run: uuid.UUID) -> HttpResponse:
    """The probe results (GET: the first time; POST: "Test again")."""
    _writable(request)
    draft = _draft(request, run)
    if request.method == "POST" or draft["results"] is None:
        draft = _test(request, run, draft)
    context = {"run": run, "draft": draft, "results": draft["results"], "unreachable": _unreachable(draft)}
    if is_fragment_request(request, "test-results"):
        return render(request, "wizard/_test_results.html", context)
    return redirect("wizard-test", run=run)


@require_POST
def wizard_create(request: HtmxHttpRequest, run: uuid.UUID) -> HttpResponse:
    """ "Create" (or "Create anyway" when an address did not answer)."""
    _writable(request)
    draft = _draft(request, run)
    if draft["addresses"] and draft["results"] is None:
        draft = _test(request, run, draft)
    if _unreachable(draft) and request.POST.get("confirm") != "unreachable":
        return _step2(request, run, draft, test_now=False)
    try:
        component = _register(request, draft)
    except ComponentError as error:
        return _back_with_errors(request, run, draft, error)
    del request.session[_draft_key(run)]
    return open_page(request, reverse("component", args=[component.service_id]))


def _register(request: HtmxHttpRequest, draft: dict[str, Any]) -> Any:
    teams, applications = _writable(request)
    application, team = None, None
    if draft["application_id"] is not None:
        application = applications.filter(pk=draft["application_id"]).first()
        if application is None:
            raise PermissionDenied(gettext("You can no longer add components to this application."))
    else:
        team = teams.filter(pk=draft["team_id"]).first() if draft["team_id"] else teams.first()
        if team is None:
            raise PermissionDenied(gettext("You can no longer add applications to this team."))
    return third_party_component_register(
        name=draft["name"],
        registration=draft["registration"],
        application=application,
        team=team,
        new_application_name=draft["new_application_name"],
        addresses=_addresses(draft),
        port=draft["port"],
        protocol=draft["protocol"] or "",
        actor=Actor.from_request(request),
        service_name=draft.get("service_name", ""),
        first_checks=_first_checks(draft),
    )


def _first_checks(draft: dict[str, Any]) -> dict[str, ProbeResult]:
    """Step 2's probes, by address, to be the new instances' first checks."""
    return {
        result["address"]: ProbeResult(
            ok=result["ok"],
            latency_ms=result["latency_ms"],
            stage=result["stage"],
            error=result["error"],
            server_info=result["server_info"],
        )
        for result in draft["results"] or ()
        if result["tested"]
    }


def _back_with_errors(
    request: HtmxHttpRequest, run: uuid.UUID, draft: dict[str, Any], error: ComponentError
) -> HttpResponse:
    """A refusal at the last moment (say, the name was taken meanwhile): step 1 with the reason."""
    form = _step1_form(request, draft["typed"] | {"address": ""}, rows=address_rows(draft["rows"]))
    form.is_valid()
    add_service_errors(form, error, aliases={"addresses": "address"})
    response = _step1(request, form, run, draft.get("started_in", ""))
    response["HX-Push-Url"] = reverse("wizard-edit", args=[run])
    return response


@require_POST
def wizard_abandon(request: HtmxHttpRequest, run: uuid.UUID) -> HttpResponse:
    """ "Abandon": forget the draft; nothing was created. Back to where the wizard was opened."""
    draft = request.session.pop(_draft_key(run), None) or {}
    started_in = _started_in(request, draft.get("started_in", ""))
    return open_page(request, reverse("application", args=[started_in]) if started_in else reverse("apps"))
