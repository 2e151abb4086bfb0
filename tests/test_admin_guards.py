"""The admin's two guards, over every registered model: no changelist filter narrows down a secret
(the one list, ``SECRET_FIELDS``, names them all), and no action runs for a staff user who may only
view (django-celery-beat's periodic tasks included)."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.test import RequestFactory
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from kato_console.admin_guards import SECRET_FIELDS

pytestmark = pytest.mark.django_db

# Fields whose names look secret but hold none: a variable's name, a flag, a hash's algorithm.
NOT_SECRET = {
    "instances.HealthCheck.password_var",
    "components.EnvVar.secret",
}
LOOKS_SECRET = re.compile(r"secret|password|passwd|digest|token|api_key|private")


def _label(model: type[models.Model], field: models.Field) -> str:
    return f"{model._meta.label}.{field.name}"


def _secret_fields() -> list[tuple[type[models.Model], models.Field]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if _label(model, field) in SECRET_FIELDS  # type: ignore[arg-type]
    ]


def test_every_field_that_looks_secret_is_in_the_one_list() -> None:
    looks_secret = {
        _label(model, field)  # type: ignore[arg-type]
        for model in apps.get_models()
        if model._meta.app_label not in ("admin", "sessions", "contenttypes", "axes", "django_celery_beat")
        for field in model._meta.concrete_fields
        if LOOKS_SECRET.search(field.name)
    }
    assert looks_secret - NOT_SECRET <= SECRET_FIELDS, sorted(looks_secret - NOT_SECRET - SECRET_FIELDS)
    assert {label for label in SECRET_FIELDS if label.startswith("alerts.")} == {
        "alerts.NotificationChannel.secret",
        "alerts.NotificationChannel.target",
    }


def _secret_lookups() -> list[tuple[type[models.Model], str]]:
    """For every admin page: each secret field of its model, and of each model one relation away."""
    found = []
    for model in admin.site._registry:
        for secret_model, field in _secret_fields():
            if secret_model is model:
                found.append((model, f"{field.name}__startswith"))
            for relation in model._meta.get_fields():
                if relation.is_relation and relation.related_model is secret_model:
                    # A reverse relation's name is its query name (``notification_channels``).
                    found.append((model, f"{relation.name}__{field.name}__startswith"))
    return found


@pytest.mark.parametrize(
    ("model", "lookup"),
    _secret_lookups(),
    ids=lambda value: value._meta.label if isinstance(value, type) else value,
)
def test_no_changelist_filters_on_a_secret(admin_client, model: type[models.Model], lookup: str) -> None:
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/?{lookup}=9f"
    assert admin_client.get(url).status_code == 400


def test_the_webhook_signing_secret_is_not_found_one_character_at_a_time(admin_client) -> None:
    answer = admin_client.get("/admin/alerts/notificationchannel/?secret__startswith=9f")
    assert answer.status_code == 400


def _view_only_staff(django_user_model, model: type[models.Model]):
    user = django_user_model.objects.create_user(username=f"viewer-{model._meta.model_name}", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label=model._meta.app_label, codename=f"view_{model._meta.model_name}"
        )
    )
    return django_user_model.objects.get(pk=user.pk)  # permissions are cached per object


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
def test_a_staff_user_who_may_only_view_runs_no_action(django_user_model, model: type[models.Model]) -> None:
    request = RequestFactory().get("/admin/")
    request.user = _view_only_staff(django_user_model, model)
    assert admin.site._registry[model].get_actions(request) == {}


def test_a_view_only_staff_user_cannot_disable_the_periodic_tasks(client, django_user_model) -> None:
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name="Checks", task="instances.tasks.sweep_tick", interval=every_minute
    )
    client.force_login(_view_only_staff(django_user_model, PeriodicTask))

    client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )

    task.refresh_from_db()
    assert task.enabled
