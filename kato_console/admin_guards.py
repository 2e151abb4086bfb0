"""What every admin page of Kato Console refuses, shared by the admin package and the admin pages of
alerts: a changelist lookup on a secret field, and an action without the change permission."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

# Fields whose values must never be narrowed down by a changelist filter (``?secret_key__regex=^h``
# would recover a key one character at a time), directly or across a relation.
SECRET_FIELDS = frozenset(
    {
        "components.Component.secret_key",
        "components.EnvVar.value",
        "core.ApiToken.digest",
        "auth.User.password",
        "alerts.NotificationChannel.secret",
        # A Slack-compatible webhook's URL carries its token in the path.
        "alerts.NotificationChannel.target",
        # A published status page's address is its token: whoever knows it reads the page.
        "instances.StatusPage.token",
    }
)


def touches_secret(model: type[models.Model], lookup: str) -> bool:
    """Whether a lookup such as ``component__env_vars__value__regex`` reaches a secret field."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if f"{model._meta.label}.{field.name}" in SECRET_FIELDS:
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


class RefuseSecretLookups(admin.ModelAdmin):
    """A changelist filter on a secret field answers 400 (Django's DisallowedModelAdminLookup), and
    every action needs the change permission of the model, even one declared without permissions
    (a view-only staff user runs none; ``delete_selected`` keeps Django's delete permission)."""

    def lookup_allowed(self, lookup: str, value: Any, request: HttpRequest) -> bool:
        if touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if self.has_change_permission(request):
            return actions
        return {name: action for name, action in actions.items() if name == "delete_selected"}
