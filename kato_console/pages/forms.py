"""Forms of the applications pages and of the Add Third-Party Component wizard."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from components import services
from components.models import Application, Protocol, Registration
from components.validation import service_name_from, service_name_validator
from core.errors import ComponentError
from core.models import Team
from instances.addresses import Address, split_addresses
from instances.services import address_parse_checked

NEW_APPLICATION = "new"


class ApplicationForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, error_messages={"required": _("Give the application a name.")}
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), empty_label=None)

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        self.only_team = None
        if len(teams) == 1:
            # One team to choose from: no need to ask.
            self.only_team = teams[0]
            del self.fields["team"]

    def chosen_team(self) -> Team:
        return self.only_team or self.cleaned_data["team"]


class InternalComponentForm(forms.Form):
    name = forms.CharField(
        label=_("Component name"), max_length=64, error_messages={"required": _("Give the component a name.")}
    )
    image = forms.CharField(
        label=_("Image"),
        max_length=255,
        required=False,
        help_text=_("The container image, e.g. phpmyadmin:5."),
    )


@dataclass
class AddressRow:
    key: str
    value: str
    error: str = ""

    @property
    def id(self) -> str:
        return f"address-{self.key}"


def new_row_key() -> str:
    return secrets.token_hex(4)


def address_rows(values: Iterable[str], keys: Iterable[str] = (), *, split: bool = False) -> list[AddressRow]:
    """The address rows as posted; with ``split``, a row into which several addresses were pasted
    becomes one row per address."""
    keys = list(keys)
    rows = []
    for i, value in enumerate(values):
        key = keys[i] if i < len(keys) and keys[i].isalnum() else new_row_key()
        parts = split_addresses(value) if split else []
        if len(parts) > 1:
            rows += [
                AddressRow(key=key if n == 0 else new_row_key(), value=part) for n, part in enumerate(parts)
            ]
        else:
            rows.append(AddressRow(key=key, value=value))
    return rows


class ThirdPartyForm(forms.Form):
    """Step 1: "Fill in third-party service information". The address rows are not Django fields
    (their number changes as people add and remove them): ``rows`` holds them with their errors,
    and ``address`` carries the errors about the addresses as a whole."""

    name = forms.CharField(
        label=_("Component name"), max_length=64, error_messages={"required": _("Give the component a name.")}
    )
    service_name = forms.CharField(
        label=_("Service name"),
        max_length=63,
        required=False,
        help_text=_(
            "A DNS label, unique in the team, by which dependents reach the component: made from the "
            "component name (as Kato asks for the English name); change it if you like."
        ),
    )
    # The service name as last made from the component name: while the person has not changed it,
    # a new component name makes a new one.
    service_name_made = forms.CharField(required=False, widget=forms.HiddenInput)
    application = forms.ChoiceField(label=_("Application"))
    new_application_name = forms.CharField(label=_("New application name"), max_length=100, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    registration = forms.ChoiceField(
        label=_("Registration method"),
        choices=[(Registration.STATIC, _("Static addresses")), (Registration.API, _("API registration"))],
        widget=forms.RadioSelect,
        initial=Registration.STATIC,
    )
    address = forms.CharField(label=_("Component address"), required=False)
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, required=False)
    protocol = forms.ChoiceField(
        label=_("Protocol"), choices=[("", _("Not specified")), *Protocol.choices], required=False
    )

    def __init__(
        self,
        *args: Any,
        applications: QuerySet[Application],
        teams: QuerySet[Team],
        rows: list[AddressRow] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.applications = {str(app.pk): app for app in applications}
        cast(forms.ChoiceField, self.fields["application"]).choices = [
            *((pk, self._application_label(app)) for pk, app in self.applications.items()),
            (NEW_APPLICATION, _("New application")),
        ]
        self.teams = list(teams)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        if len(self.teams) < 2:
            del self.fields["team"]
        self.rows = rows if rows is not None else [AddressRow(key=new_row_key(), value="")]
        self.addresses: list[Address] = []
        self._validate_on_leave()

    def _validate_on_leave(self) -> None:
        """Each field is checked when the person leaves it (htmx posts the form to the validate
        view, which answers the field's fragment); radio buttons need no check."""
        url = reverse("wizard-validate")
        for name, field in self.fields.items():
            if name in ("registration", "address", "service_name_made"):
                continue
            changed = "change" if isinstance(field.widget, forms.Select) else "blur changed"
            field.widget.attrs.update(
                {
                    "hx-post": url,
                    "hx-trigger": changed,
                    "hx-target": f"#field-{name}",
                    "hx-swap": "outerHTML",
                    "aria-describedby": f"id_{name}-error",
                }
            )

    def _application_label(self, app: Application) -> str:
        several = len({a.team_id for a in self.applications.values()}) > 1
        return f"{app.name} ({app.team.name})" if several else app.name

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the component a name."))
        return name

    def clean_service_name(self) -> str:
        service_name = self.cleaned_data["service_name"].strip()
        if service_name:
            service_name_validator(service_name)
        return service_name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        team = self._clean_application(data)
        if team is not None and data.get("name"):
            self._refuse_taken_name(team, data["name"])
        self.team_for_names = team
        return self._clean_rest(data)

    def made_service_name(self) -> str:
        """The service name made from the component name now (with -2… when the team's other
        components hold it), "" when there is no name or it is refused."""
        name = (self.data.get("name") or "").strip()
        team = getattr(self, "team_for_names", None)
        if not name:
            return ""
        if team is None:
            return service_name_from(name)
        try:
            return services.generated_service_name(team=team, name=name)
        except ComponentError:
            return ""

    def _clean_rest(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("registration") == Registration.STATIC:
            self._clean_rows(data.get("port"))
        return data

    def _clean_application(self, data: dict[str, Any]) -> Team | None:
        choice = data.get("application")
        if choice in self.applications:
            data["new_application_name"] = ""
            return self.applications[choice].team
        if choice != NEW_APPLICATION:
            return None
        if not (data.get("new_application_name") or "").strip():
            self.add_error("new_application_name", _("Give the new application a name."))
        data["new_application_name"] = (data.get("new_application_name") or "").strip()
        if "team" in self.fields and data.get("team") is None:
            self.add_error("team", _("Choose the team the new application belongs to."))
            return None
        data["team"] = data.get("team") or (self.teams[0] if self.teams else None)
        return data["team"]

    def _refuse_taken_name(self, team: Team, name: str) -> None:
        try:
            services.generated_service_name(team=team, name=name)
        except ComponentError as refused:
            for message in refused.messages.get("name", []):
                self.add_error("name", message)

    def _clean_rows(self, port: int | None) -> None:
        seen: set[Address] = set()
        for row in self.rows:
            if row.value.strip():
                row.error = self._row_error(row.value, port, seen)
        if not any(row.value.strip() for row in self.rows):
            self.add_error("address", _("Give at least one address, such as 10.0.0.7:3306."))
        elif any(row.error for row in self.rows):
            self.add_error("address", _("Correct the addresses marked below."))

    def _row_error(self, value: str, port: int | None, seen: set[Address]) -> str:
        # Several addresses pasted into one row (they become rows of their own on submitting).
        parts = split_addresses(value)
        if len(parts) > 1:
            return next((error for part in parts if (error := self._row_error(part, port, seen))), "")
        try:
            address = address_parse_checked(value)
        except ComponentError as error:
            return " ".join(error.messages["address"])
        if address.port is None and port is None:
            return gettext("%(address)s has no port: write it as %(address)s:3306, say, or fill in Port.") % {
                "address": address
            }
        if address in seen:
            return gettext("%(address)s is listed twice.") % {"address": address}
        seen.add(address)
        self.addresses.append(address)
        return ""

    def row(self, key: str) -> AddressRow | None:
        return next((row for row in self.rows if row.key == key), None)
