"""The channel form of the team's Alerts pages and of the admin."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from components.models import Component
from core.models import Team
from kato_console.alerts.models import ChannelKind, ChannelScope, NotificationChannel


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    kind = forms.ChoiceField(choices=ChannelKind.choices, label=_("Kind"))
    target = forms.CharField(
        max_length=2000,
        label=_("URL or email addresses"),
        help_text=_(
            "The webhook's URL; comma-separated email addresses for an email channel; Alertmanager's "
            "address (http://alertmanager:9093) for an Alertmanager channel."
        ),
    )
    scope = forms.ChoiceField(
        choices=ChannelScope.choices,
        initial=ChannelScope.TEAM,
        widget=forms.RadioSelect,
        label=_("Notify for"),
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Components"),
        help_text=_("Used when notifying for chosen components."),
    )
    on_instance_transitions = forms.BooleanField(
        required=False, initial=True, label=_("When an instance turns unhealthy or healthy again")
    )
    on_component_status = forms.BooleanField(required=False, label=_("When a component's status changes"))
    enabled = forms.BooleanField(required=False, initial=True, label=_("Enabled"))
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        label=_("Language of the messages"),
        help_text=_("Emails, Slack texts and alert summaries are written in it."),
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = settings.LANGUAGE_CODE
        components = cast(forms.ModelMultipleChoiceField, self.fields["components"])
        components.queryset = Component.objects.filter(team=team).order_by("name")

    @classmethod
    def for_channel(cls, channel: NotificationChannel, data: Any = None) -> ChannelForm:
        initial = {
            "name": channel.name,
            "kind": channel.kind,
            "target": channel.target,
            "scope": channel.scope,
            "components": list(channel.components.all()),
            "on_instance_transitions": channel.on_instance_transitions,
            "on_component_status": channel.on_component_status,
            "enabled": channel.enabled,
            "language": channel.language,
        }
        return cls(data, team=channel.team, initial=initial)

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or settings.LANGUAGE_CODE

    def fields_for_service(self) -> tuple[dict[str, Any], list[Component]]:
        data = dict(self.cleaned_data)
        return {k: v for k, v in data.items() if k != "components"}, list(data["components"])
