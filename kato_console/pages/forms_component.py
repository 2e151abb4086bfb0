"""The forms of a component's pages: they check the shape of what was typed; the services decide the rest."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from components.models import Component, Protocol
from instances.models import INTERVAL_S_MAX, INTERVAL_S_MIN, TIMEOUT_S_MAX, CheckKind, HealthCheck, Recurrence


class RenameForm(forms.Form):
    """The Settings page's names, and an internal component's image (a third-party one has none)."""

    name = forms.CharField(label=_("Component name"), max_length=64)
    service_name = forms.CharField(
        label=_("Service name"),
        max_length=63,
        help_text=_("A DNS label, unique in the team: dependents reach the component by it."),
    )
    image = forms.CharField(
        label=_("Image"),
        max_length=255,
        required=False,
        help_text=_("The container image, e.g. phpmyadmin:5."),
    )

    def __init__(self, *args: Any, with_image: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_image:
            del self.fields["image"]


class AddressForm(forms.Form):
    address = forms.CharField(
        label=_("Address"),
        max_length=4000,
        help_text=_(
            "10.0.0.7, 10.0.0.7:3306, [2001:db8::7]:3306, db.example.com:3306 or https://api.example.com; "
            "several at once, one a line or separated by commas."
        ),
        widget=forms.Textarea(attrs={"rows": 1, "spellcheck": "false", "autocomplete": "off"}),
    )


class PortForm(forms.Form):
    number = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535)
    protocol = forms.ChoiceField(label=_("Protocol"), choices=Protocol.choices, initial=Protocol.TCP)
    alias = forms.CharField(
        label=_("Alias"),
        max_length=64,
        required=False,
        help_text=_(
            "Prefix of the generated variables (ALIAS_HOST, ALIAS_PORT); derived from the service name when empty."
        ),
    )


class PortServicesForm(forms.Form):
    inner_service = forms.BooleanField(label=_("Internal service"), required=False)
    outer_service = forms.BooleanField(label=_("External service"), required=False)


class PortProtocolForm(forms.Form):
    protocol = forms.ChoiceField(label=_("Protocol"), choices=Protocol.choices)


class EnvVarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=128)
    value = forms.CharField(label=_("Value"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    secret = forms.BooleanField(
        label=_("Secret"), required=False, help_text=_("Masked on every page; each reveal is audited.")
    )
    description = forms.CharField(label=_("Description"), max_length=255, required=False)


class EnvVarEditForm(EnvVarForm):
    """Editing keeps the name; a secret's value is kept when the field is left empty."""

    def __init__(self, *args: Any, keep_secret: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].disabled = True
        if keep_secret:
            self.fields["value"].help_text = _("The value is secret: leave this empty to keep it.")


class DependencyForm(forms.Form):
    target = forms.ModelChoiceField(
        label=_("Component"),
        queryset=Component.objects.none(),
        to_field_name="service_id",
        empty_label=_("Choose a component"),
        error_messages={"invalid_choice": _("Choose one of your team's components.")},
    )
    open_inner = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, choices: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["target"]).queryset = choices


class HealthCheckForm(forms.Form):
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=CheckKind.choices)
    path = forms.CharField(
        label=_("Path"), max_length=500, required=False, help_text=_("HTTP checks only, e.g. /healthz.")
    )
    interval_s = forms.IntegerField(
        label=_("Interval (seconds)"), min_value=INTERVAL_S_MIN, max_value=INTERVAL_S_MAX
    )
    timeout_s = forms.IntegerField(label=_("Timeout (seconds)"), min_value=1, max_value=TIMEOUT_S_MAX)
    success_threshold = forms.IntegerField(label=_("Success threshold"), min_value=1, max_value=100)
    failure_threshold = forms.IntegerField(label=_("Failure threshold"), min_value=1, max_value=100)
    use_credentials = forms.BooleanField(
        label=_("Use credentials"),
        required=False,
        help_text=_("Log in with the component's connection information (*_USER, *_PASSWORD)."),
    )
    credential_networks = forms.CharField(
        label=_("Credential networks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Networks (CIDR, one a line or separated by commas) whose addresses registered through "
            "the API also receive the login; addresses added by members always do. Only owners change them."
        ),
    )

    def __init__(self, *args: Any, api_registration: bool = True, owner: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not api_registration:
            del self.fields["credential_networks"]
        elif not owner:
            self.fields["credential_networks"].disabled = True

    def clean_credential_networks(self) -> list[str]:
        value = self.cleaned_data.get("credential_networks") or ""
        if isinstance(value, list):  # a disabled field keeps its initial value
            return value
        return [part for part in re.split(r"[\s,]+", value) if part]

    @staticmethod
    def initial_of(check: HealthCheck) -> dict[str, Any]:
        initial = {field: getattr(check, field) for field in HealthCheckForm.base_fields}
        initial["credential_networks"] = "\n".join(check.credential_networks or [])
        return initial


class EventFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["action"]).choices = [
            ("", _("All actions")),
            *((a, a) for a in actions),
        ]


class MaintenanceForm(forms.Form):
    reason = forms.CharField(max_length=200, label=_("Reason"))
    starts_at = forms.DateTimeField(
        label=_("Starts (UTC)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=_("Ends (UTC)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    recurrence = forms.ChoiceField(choices=Recurrence.choices, initial=Recurrence.ONCE, label=_("Repeats"))
    whole_application = forms.BooleanField(
        required=False,
        label=_("For every component of the application"),
        help_text=_("Otherwise for this component."),
    )
    out_of_routing = forms.BooleanField(
        required=False,
        label=_("Take the instances out of routing during the window"),
        help_text=_("They go offline when it starts and come back when it ends."),
    )
