"""The team's Alerts pages: notification channels, their last deliveries, and a test notification.

Members read; owners and developers write (a viewer gets 403); a team the user is not in is a 404.
Writes go through ``services`` with the requester as the actor.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from core.audit import Actor
from core.errors import ComponentError
from core.models import Membership
from kato_console.alerts import selectors, services
from kato_console.alerts.forms import ChannelForm
from kato_console.alerts.models import DeliveryStatus, NotificationChannel
from kato_console.web import (
    HtmxHttpRequest,
    add_service_errors,
    is_fragment_request,
    keep_for_one_display,
    take_shown_once,
)


def _membership(request: HttpRequest, slug: str, *, write: bool = False) -> Membership:
    membership = selectors.membership_in_team(request.user, slug)
    if write and not membership.can_write:
        raise PermissionDenied(gettext("Viewers can look at the team's channels but not change them."))
    return membership


@never_cache
def channel_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = _membership(request, slug)
    context = {
        "team": membership.team,
        "can_write": membership.can_write,
        "channels": selectors.channels_of(membership.team),
    }
    return render(request, "alerts/channels.html", context)


@never_cache
def channel_new(request: HttpRequest, slug: str) -> HttpResponse:
    membership = _membership(request, slug, write=True)
    team = membership.team
    form = ChannelForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        fields, components = form.fields_for_service()
        try:
            channel = services.channel_create(
                team=team, actor=Actor.from_request(request), components=components, **fields
            )
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            # The secret is shown once, on the page this redirects to; the channel's page masks it afterwards.
            keep_for_one_display(request, _secret_key(channel), "created")
            return redirect("alerts:channel", slug=slug, pk=channel.pk)
    return render(request, "alerts/channel_form.html", {"team": team, "form": form, "channel": None})


@never_cache
def channel_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = _membership(request, slug)
    channel = selectors.channel_of(membership.team, pk)
    # What a create, a reveal or a new secret redirected to (its audit event is written). The session
    # keeps only the wish to show the secret, never the secret itself.
    shown = take_shown_once(request, _secret_key(channel)) if membership.can_write else None
    if shown:
        return _detail(request, membership, channel, secret=channel.secret, created=shown == "created")
    return _detail(request, membership, channel)


def _secret_key(channel: NotificationChannel) -> str:
    return f"channel-secret:{channel.pk}"


def _detail(
    request: HttpRequest, membership: Membership, channel: NotificationChannel, **extra: Any
) -> HttpResponse:
    context = {
        "team": membership.team,
        "can_write": membership.can_write,
        "channel": channel,
        **_deliveries_context(channel),
        **extra,
    }
    return render(request, "alerts/channel.html", context)


def _deliveries_context(channel: NotificationChannel) -> dict[str, Any]:
    deliveries = selectors.recent_deliveries(channel)
    pending = any(delivery.status == DeliveryStatus.PENDING for delivery in deliveries)
    return {"deliveries": deliveries, "pending": pending}


@never_cache
def channel_deliveries(request: HtmxHttpRequest, slug: str, pk: int) -> HttpResponse:
    """The last deliveries' table, polled by the channel's page while some are pending."""
    membership = _membership(request, slug)
    channel = selectors.channel_of(membership.team, pk)
    context = {"team": membership.team, "channel": channel, **_deliveries_context(channel)}
    response = render(request, "alerts/_deliveries.html", context)
    if is_fragment_request(request, "deliveries") and not context["pending"]:
        # Nothing is pending any more: htmx swaps this last table in and stops polling.
        return HttpResponseStopPolling(response.content)
    return response


@never_cache
def channel_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = _membership(request, slug, write=True)
    channel = selectors.channel_of(membership.team, pk)
    form = ChannelForm.for_channel(channel, request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields, components = form.fields_for_service()
        try:
            services.channel_update(
                channel=channel, actor=Actor.from_request(request), components=components, **fields
            )
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, gettext("The channel %(name)s is saved.") % {"name": channel.name})
            return redirect("alerts:channel", slug=slug, pk=channel.pk)
    return render(
        request, "alerts/channel_form.html", {"team": membership.team, "form": form, "channel": channel}
    )


@require_POST
def channel_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = _membership(request, slug, write=True)
    channel = selectors.channel_of(membership.team, pk)
    try:
        services.channel_test(channel=channel, actor=Actor.from_request(request))
    except ComponentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, gettext("A test notification is on its way; its delivery is listed below."))
    return redirect("alerts:channel", slug=slug, pk=channel.pk)


@require_POST
@never_cache
def channel_reveal(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = _membership(request, slug, write=True)
    channel = selectors.channel_of(membership.team, pk)
    if "regenerate" in request.POST:
        services.channel_secret_regenerate(channel=channel, actor=Actor.from_request(request))
        messages.success(
            request, gettext("A new signing secret is set; requests are signed with it from now on.")
        )
    else:
        services.channel_secret_reveal(channel=channel, actor=Actor.from_request(request))
    # Shown on the page this redirects to, so that a reload neither regenerates nor reveals again.
    keep_for_one_display(request, _secret_key(channel), "revealed")
    return redirect("alerts:channel", slug=slug, pk=channel.pk)


@never_cache
def channel_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    membership = _membership(request, slug, write=True)
    channel = selectors.channel_of(membership.team, pk)
    if request.method == "POST":
        services.channel_delete(channel=channel, actor=Actor.from_request(request))
        messages.success(request, gettext("The channel %(name)s is deleted.") % {"name": channel.name})
        return redirect("alerts:channels", slug=slug)
    return render(request, "alerts/channel_delete.html", {"team": membership.team, "channel": channel})
