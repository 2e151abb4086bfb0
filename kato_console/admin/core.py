"""The Django admin of the accounts and the audit trail: teams and their members (through the
accounts' services), API tokens, users, and the read-only audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core import services as accounts
from core.audit import Actor
from core.models import AUDIT_ACTIONS, ApiToken, AuditEvent, Membership, Team
from kato_console.admin_guards import RefuseSecretLookups

User = get_user_model()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(RefuseSecretLookups):
    """Teams and their members, written through the accounts' services so that every change of
    who may do what leaves an audit event."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        actor, data = Actor.from_request(request), form.cleaned_data
        if change:  # the form has already set the new name on obj: the service reads the stored team
            stored = Team.objects.get(pk=obj.pk)
            accounts.team_update(team=stored, name=data["name"], slug=data["slug"], actor=actor)
        else:
            obj.pk = accounts.team_create(name=data["name"], slug=data["slug"], actor=actor).pk
            obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        actor = Actor.from_request(request)
        for row in formset.forms:
            deleted = bool(row.cleaned_data.get("DELETE"))
            if not row.has_changed() and not deleted:
                continue
            membership: Membership = row.instance
            if membership.pk and (deleted or "user" in row.changed_data):
                accounts.membership_delete(membership=Membership.objects.get(pk=membership.pk), actor=actor)
            if not deleted:
                data = row.cleaned_data
                accounts.membership_set(team=form.instance, user=data["user"], role=data["role"], actor=actor)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(Membership)
class MembershipAdmin(RefuseSecretLookups):
    list_display = ["user", "team", "role", "source", "created_at"]
    list_filter = ["role", "source", "team"]
    # Where it came from: set by the console (local) or by a directory group at sign-in.
    readonly_fields = ["source"]
    search_fields = ["user__username", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        actor, data = Actor.from_request(request), form.cleaned_data
        if change and {"user", "team"} & set(form.changed_data):
            accounts.membership_delete(membership=Membership.objects.get(pk=obj.pk), actor=actor)
        saved = accounts.membership_set(team=data["team"], user=data["user"], role=data["role"], actor=actor)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        accounts.membership_delete(membership=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user", "team"):
            self.delete_model(request, membership)


@admin.register(ApiToken)
class ApiTokenAdmin(RefuseSecretLookups):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's key is shown once at creation, which the admin cannot do: use the tokens page
        # or `manage.py create_api_token`.
        return False

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        accounts.api_token_revoke(token=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            accounts.api_token_revoke(token=token)


# The most audit events the changelist counts (and so pages through) for one set of filters.
AUDIT_LIST_CAP = 2_000


class CappedCountPaginator(Paginator):
    """Counts at most ``AUDIT_LIST_CAP`` rows: the changelist of a million events pages through the
    newest ones (and whatever its filters and search select) without counting the whole table.

    2,000 (20 pages): a search matching 40,000 of a million events counts its cap in about 15 ms
    (bench/RESULTS.md, "Scale"), where 10,000 took 75 ms; the date filter reaches further back."""

    @cached_property
    def count(self) -> int:
        events: QuerySet[AuditEvent] = self.object_list  # type: ignore[assignment]  # the changelist's queryset
        return events[:AUDIT_LIST_CAP].count()


class ActionFilter(admin.SimpleListFilter):
    """The known actions, not a SELECT DISTINCT over the whole trail."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(action, action) for action in AUDIT_ACTIONS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(RefuseSecretLookups):
    """A million events page in well under 200 ms: every list, filter and search walks an index
    (core/models.py), and nothing counts the whole table."""

    list_display = ["created_at", "team", "component_label", "actor", "user", "action", "remote_addr"]
    list_filter = [("created_at", admin.DateFieldListFilter), "actor", ActionFilter, "team"]
    # Exact matches and a user-name prefix only (see get_search_results): a case-insensitive
    # "contains" reads every row.
    search_fields = ["action", "component_label", "user__username"]
    search_help_text = format_lazy(
        _(
            "An exact action (instance.unhealthy) or component name, or the beginning of a user name. "
            "At most the newest {cap} matching events are listed: filter to go further back."
        ),
        cap=f"{AUDIT_LIST_CAP:,}",
    )
    list_select_related = ["team", "user"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # The users first (a small table): an OR across a join could not use the trail's indexes.
        users = list(User.objects.filter(username__startswith=term).values_list("pk", flat=True)[:100])
        return queryset.filter(Q(action=term) | Q(component_label=term) | Q(user_id__in=users)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# The users' admin, with the same refusal of lookups on a secret (the password hash, API tokens).
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class KatoUserAdmin(RefuseSecretLookups, UserAdmin):
    pass
