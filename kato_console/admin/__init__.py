"""The Django admin of the domain's models, one module per app; Django's autodiscovery imports
this package because ``kato_console`` is an installed app."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from kato_console.admin import components, core, instances
from kato_console.admin_guards import RefuseSecretLookups

__all__ = ["components", "core", "instances"]

# Every other app's admin registered so far (django-celery-beat's periodic tasks, django-axes'
# attempts, auth's groups) keeps the same two rules: disabling the sweep's or the alerts' periodic
# task stops every check or alert, so its actions need the change permission like every other.
for _model in apps.get_models():
    if admin.site.is_registered(_model):
        _admin = admin.site.get_model_admin(_model)
        if not isinstance(_admin, RefuseSecretLookups):
            admin.site.unregister(_model)
            admin.site.register(
                _model, type(f"Kato{type(_admin).__name__}", (RefuseSecretLookups, type(_admin)), {})
            )
