"""The admin through the services: forms that write with one service call, and the rules every
admin page of Kato Console shares (no lookup on a secret, every write and delete through a service).

An admin form makes its service call once, in ``clean()``, so every rule the service keeps shows as
an error next to the field, exactly as the API reports it; ``save_model`` hands the admin what the
service stored. Should the page be shown again instead (another part of it invalid), the request's
transaction is rolled back, and the call with it. A refusal raised anywhere else in the change view
becomes an error message, never a 500.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.admin.actions import delete_selected as confirm_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from core.audit import Actor
from core.errors import ComponentError
from kato_console.admin_guards import RefuseSecretLookups
from kato_console.web import add_service_errors

MASK = "••••••••"


class ServiceForm(forms.ModelForm):
    """A ModelForm whose save is exactly one service call, made by ``write``."""

    actor: Actor | None = None  # Set by the admin for each request.
    saved: models.Model | None = None  # What the service stored, once clean() has called it.

    def write(self, actor: Actor) -> models.Model:
        raise NotImplementedError

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors:
            self._write()
        return cleaned

    def _write(self) -> None:
        if self.actor is None:  # the admin's get_form sets it: a form made elsewhere is a bug
            raise ImproperlyConfigured(f"{type(self).__name__}.actor is not set.")
        try:
            with transaction.atomic():  # a refusal leaves nothing behind
                self.saved = self.write(self.actor)
        except ComponentError as error:
            add_service_errors(self, error)

    def _post_clean(self) -> None:
        # The service validated the change; the model's own checks would only repeat its messages.
        self.instance = forms.models.construct_instance(
            self, self.instance, self._meta.fields, self._meta.exclude
        )


def _copy_into(obj: models.Model, saved: models.Model) -> None:
    """Give the admin's object what the service stored (its id, derived fields) for the messages and redirects."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


class ThroughServices(RefuseSecretLookups):
    """Every write and delete of this admin page goes through a service, with the request's actor."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = cast(type[ServiceForm], super().get_form(request, obj, change=change, **kwargs))
        form.actor = Actor.from_request(request)  # modelform_factory made this class for this request.
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = form.saved if form.saved is not None else form.write(Actor.from_request(request))
        _copy_into(obj, saved)
        request.kato_admin_saved = True  # type: ignore[attr-defined]  # read by changeform_view

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Inlines only display; each of their rows is changed on its own page, through its service."""
        for formset in formsets:
            # Nothing is saved, but the admin's change message reads what a save would have set.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Django's bulk delete, with each deletion made (or refused) by the service."""
        actions: dict[str, Any] = super().get_actions(request)
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (type(self).delete_selected, name, description)
        return actions

    def delete_with_service(self, obj: Any, actor: Actor) -> None:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_with_service(obj, Actor.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        with transaction.atomic():
            try:
                response = super().changeform_view(request, object_id, *args, **kwargs)
            except ComponentError as error:  # refused outside the form's call: rolled back
                self.message_user(request, str(error), messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
            if request.method == "POST" and not getattr(request, "kato_admin_saved", False):
                # The page is shown again (an inline, say, was invalid): the form's call is undone.
                transaction.set_rollback(True)
            return response

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ComponentError as error:
            self.message_user(request, str(error), messages.ERROR)
            info = (self.opts.app_label, self.opts.model_name)
            return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[object_id]))

    def delete_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Django's confirmation page, then one service call per object; refusals are reported."""
        if not request.POST.get("post"):
            return confirm_delete_selected(self, request, queryset)
        deleted, refusals = self.delete_each(request, list(queryset))
        if deleted:
            self.message_user(
                request, f"Deleted {deleted} {model_ngettext(self.opts, deleted)}.", messages.SUCCESS
            )
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)
        return None

    def delete_each(self, request: HttpRequest, objects: list[Any]) -> tuple[int, list[str]]:
        """Delete what the service allows; objects the others depend on go after them."""
        actor, deleted = Actor.from_request(request), 0
        refusals: list[str] = []
        while objects:
            refusals, left = [], []
            for obj in objects:
                try:
                    with transaction.atomic():
                        self.delete_with_service(obj, actor)
                    deleted += 1
                except ComponentError as error:
                    refusals.append(str(error))
                    left.append(obj)
            if len(left) == len(objects):
                break
            objects = left
        return deleted, refusals
