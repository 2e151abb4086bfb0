"""The team's Alerts pages: list, add, edit, delete, reveal, test notification and deliveries;
members read, viewers get 403 on writes, another team's pages are 404, and changes are audited."""

from __future__ import annotations

import ipaddress

import pytest
from django.contrib.admin.sites import site
from django.test import Client
from django.urls import reverse

from core.errors import ComponentError
from core.models import AuditEvent
from kato_console.alerts.models import Delivery, NotificationChannel
from kato_console.alerts.services import channel_create

pytestmark = pytest.mark.django_db


def _form(receiver, **changes) -> dict:
    data = {
        "name": "On call",
        "kind": "webhook",
        "target": receiver.url,
        "scope": "team",
        "on_instance_transitions": "on",
        "enabled": "on",
    }
    return {**data, **changes}


def test_the_sidebar_links_each_team_to_its_alerts(alice_client, team) -> None:
    page = alice_client.get(reverse("alerts:channels", args=[team.slug])).content.decode()
    assert f'href="/teams/{team.slug}/channels/">Alerts</a>' in page
    assert "No channels yet." in page


def test_a_developer_adds_a_webhook_and_sees_its_secret_once(alice_client, team, receiver) -> None:
    answer = alice_client.post(reverse("alerts:channel-new", args=[team.slug]), _form(receiver))

    channel = NotificationChannel.objects.get()
    url = reverse("alerts:channel", args=[team.slug, channel.pk])
    assert answer.status_code == 302 and answer["Location"] == url  # post/redirect/get
    shown = alice_client.get(url)
    assert channel.secret in shown.content.decode() and "no-cache" in shown["Cache-Control"]
    assert "Copy it now into your receiver." in shown.content.decode()
    again = alice_client.get(url).content.decode()  # the reload
    assert channel.secret not in again
    assert channel.masked_secret in again
    event = AuditEvent.objects.get(action="channel.create")
    assert event.detail["target"] == "127.0.0.1"
    assert channel.secret not in str(event.detail)


def test_an_invalid_url_is_shown_under_the_field(alice_client, team, receiver) -> None:
    answer = alice_client.post(
        reverse("alerts:channel-new", args=[team.slug]), _form(receiver, target="ftp://x")
    )

    assert answer.status_code == 200
    assert "Enter an http:// or https:// URL." in answer.content.decode()
    assert not NotificationChannel.objects.exists()


def test_a_url_in_a_denied_network_is_refused_with_the_reason(alice_client, team, receiver, settings) -> None:
    settings.KATO_DENIED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    answer = alice_client.post(reverse("alerts:channel-new", args=[team.slug]), _form(receiver))

    assert "in the denied network 127.0.0.0/8" in answer.content.decode()
    assert not NotificationChannel.objects.exists()


def test_an_email_channel_takes_a_list_of_addresses(alice_client, team, receiver) -> None:
    bad = alice_client.post(
        reverse("alerts:channel-new", args=[team.slug]), _form(receiver, kind="email", target="ops@, x")
    )
    assert "ops@ is not an email address." in bad.content.decode()
    alice_client.post(
        reverse("alerts:channel-new", args=[team.slug]),
        _form(receiver, kind="email", target=" ops@example.test ,dba@example.test"),
    )
    assert NotificationChannel.objects.get().target == "ops@example.test, dba@example.test"


def test_chosen_components_need_at_least_one(alice_client, team, receiver, static_component) -> None:
    url = reverse("alerts:channel-new", args=[team.slug])
    answer = alice_client.post(url, _form(receiver, scope="components"))
    assert "Choose at least one component, or notify for the whole team." in answer.content.decode()
    alice_client.post(url, _form(receiver, scope="components", components=[static_component.pk]))
    assert list(NotificationChannel.objects.get().components.all()) == [static_component]


def test_a_developer_edits_and_deletes_a_channel(alice_client, team, webhook, receiver) -> None:
    edited = alice_client.post(
        reverse("alerts:channel-edit", args=[team.slug, webhook.pk]), _form(receiver, name="Pager")
    )
    assert edited.status_code == 302
    webhook.refresh_from_db()
    assert webhook.name == "Pager"
    assert alice_client.get(reverse("alerts:channel-delete", args=[team.slug, webhook.pk])).status_code == 200
    alice_client.post(reverse("alerts:channel-delete", args=[team.slug, webhook.pk]))
    assert not NotificationChannel.objects.exists()
    actions = (
        AuditEvent.objects.filter(action__startswith="channel.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert list(actions) == ["channel.create", "channel.update", "channel.delete"]


def test_send_test_notification_delivers_a_signed_test(
    alice_client, team, webhook, receiver, eager_celery, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = alice_client.post(reverse("alerts:channel-test", args=[team.slug, webhook.pk]), follow=True)

    [request] = receiver.requests
    assert request.json["event"] == "test"
    assert Delivery.objects.get().status == "sent"
    page = answer.content.decode()
    assert "A test notification is on its way" in page
    assert "A test notification from Kato Console for the channel On call." in page
    assert AuditEvent.objects.filter(action="channel.test").exists()


def test_the_deliveries_fragment_stops_polling_when_nothing_is_pending(alice_client, team, webhook) -> None:
    url = reverse("alerts:channel-deliveries", args=[team.slug, webhook.pk])
    assert alice_client.get(url, headers={"HX-Request": "true", "HX-Target": "deliveries"}).status_code == 286
    Delivery.objects.create(channel=webhook, key="k", event="test", summary="s")
    polled = alice_client.get(url, headers={"HX-Request": "true", "HX-Target": "deliveries"})
    assert polled.status_code == 200
    assert 'hx-trigger="every 2s"' in polled.content.decode()


def test_reveal_and_regenerate_show_the_secret_and_are_audited(alice_client, team, webhook) -> None:
    url = reverse("alerts:channel-secret", args=[team.slug, webhook.pk])
    page = reverse("alerts:channel", args=[team.slug, webhook.pk])
    assert alice_client.post(url)["Location"] == page
    assert webhook.secret in alice_client.get(page).content.decode()
    assert webhook.secret not in alice_client.get(page).content.decode()  # shown once
    old = webhook.secret
    answer = alice_client.post(url, {"regenerate": "1"}, follow=True).content.decode()
    webhook.refresh_from_db()
    assert webhook.secret != old
    assert webhook.secret in answer and "A new signing secret is set" in answer
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "channel.reveal",
        "channel.regenerate",
    }


def test_a_viewer_reads_but_cannot_write(client, team, webhook, victor_the_viewer, receiver) -> None:
    client.force_login(victor_the_viewer)
    assert client.get(reverse("alerts:channels", args=[team.slug])).status_code == 200
    page = client.get(reverse("alerts:channel", args=[team.slug, webhook.pk])).content.decode()
    assert "Send test notification" not in page
    for name, method in [
        ("alerts:channel-edit", "get"),
        ("alerts:channel-test", "post"),
        ("alerts:channel-secret", "post"),
        ("alerts:channel-delete", "post"),
    ]:
        answer = getattr(client, method)(reverse(name, args=[team.slug, webhook.pk]))
        assert answer.status_code == 403, name
    assert client.post(reverse("alerts:channel-new", args=[team.slug]), _form(receiver)).status_code == 403


def test_another_teams_channels_are_not_found(client, team, webhook, bob_from_another_team) -> None:
    client.force_login(bob_from_another_team)
    assert client.get(reverse("alerts:channels", args=[team.slug])).status_code == 404
    assert client.get(reverse("alerts:channel", args=[team.slug, webhook.pk])).status_code == 404
    assert client.post(reverse("alerts:channel-test", args=[team.slug, webhook.pk])).status_code == 404


def test_the_list_needs_the_same_queries_for_one_channel_and_for_twenty(
    alice_client, team, alice_actor, receiver, django_assert_max_num_queries
) -> None:
    url = reverse("alerts:channels", args=[team.slug])
    channel_create(team=team, actor=alice_actor, name="c0", kind="webhook", target=receiver.url)
    with django_assert_max_num_queries(20) as few:
        alice_client.get(url)
    for number in range(1, 20):
        channel_create(team=team, actor=alice_actor, name=f"c{number}", kind="webhook", target=receiver.url)
    with django_assert_max_num_queries(20) as many:
        alice_client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_admin_writes_channels_through_the_services(admin_client, team, receiver) -> None:
    assert NotificationChannel in site._registry
    answer = admin_client.post(
        reverse("admin:alerts_notificationchannel_add"),
        {
            "team": team.pk,
            "name": "From admin",
            "kind": "webhook",
            "target": receiver.url,
            "scope": "team",
            "on_instance_transitions": "on",
            "enabled": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert NotificationChannel.objects.get().name == "From admin"
    assert AuditEvent.objects.filter(action="channel.create").exists()


def test_the_admin_refuses_a_denied_url_on_the_field(admin_client, team, settings) -> None:
    answer = admin_client.post(
        reverse("admin:alerts_notificationchannel_add"),
        {
            "team": team.pk,
            "name": "Metadata",
            "kind": "webhook",
            "target": "http://169.254.169.254/",
            "scope": "team",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 200
    assert "in the denied network 169.254.0.0/16" in answer.content.decode()


def test_a_signed_out_visitor_is_sent_to_log_in(team) -> None:
    assert Client().get(reverse("alerts:channels", args=[team.slug])).status_code == 302


def test_a_viewer_sees_a_webhook_s_host_but_not_its_path(
    client, team, alice_actor, victor_the_viewer
) -> None:
    slack = channel_create(
        team=team,
        actor=alice_actor,
        name="Slack",
        kind="slack",
        target="http://127.0.0.1:9/services/T000/B000/hush-hush-token",
    )
    client.force_login(victor_the_viewer)
    page = client.get(reverse("alerts:channel", args=[team.slug, slack.pk])).content.decode()
    assert "hush-hush-token" not in page and "/services/" not in page
    assert "http://127.0.0.1:9/…" in page


def test_a_second_test_within_a_minute_is_refused_and_says_so(
    alice_client, team, webhook, receiver, eager_celery, django_capture_on_commit_callbacks
) -> None:
    url = reverse("alerts:channel-test", args=[team.slug, webhook.pk])
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(url)
        answer = alice_client.post(url, follow=True)

    assert len(receiver.requests) == 1
    assert Delivery.objects.filter(event="test").count() == 1
    assert "less than 60 seconds ago" in answer.content.decode()


def test_an_email_channel_takes_at_most_twenty_recipients(team, alice_actor) -> None:
    many = ", ".join(f"user{number}@example.test" for number in range(21))
    with pytest.raises(ComponentError, match="at most 20 addresses"):
        channel_create(team=team, actor=alice_actor, name="Everyone", kind="email", target=many)


def _reload(client, response):
    """What F5 does on the page a post led to: the browser asks for the URL it shows again."""
    assert response.status_code == 302, "a post that succeeded must redirect, or a reload posts again"
    return client.get(response["Location"])


def test_a_reload_after_add_channel_adds_no_second_channel_and_the_secret_was_shown(
    alice_client, team, receiver
):
    posted = alice_client.post(reverse("alerts:channel-new", args=[team.slug]), _form(receiver))
    channel = NotificationChannel.objects.get()
    assert channel.secret in _reload(alice_client, posted).content.decode()
    assert channel.secret not in _reload(alice_client, posted).content.decode()
    assert NotificationChannel.objects.count() == 1


def test_a_reload_after_regenerate_keeps_the_new_signing_secret(alice_client, team, webhook):
    url = reverse("alerts:channel-secret", args=[team.slug, webhook.pk])
    posted = alice_client.post(url, {"regenerate": "1"})
    webhook.refresh_from_db()
    assert webhook.secret in _reload(alice_client, posted).content.decode()
    new = webhook.secret
    _reload(alice_client, posted)
    webhook.refresh_from_db()
    assert webhook.secret == new
    assert AuditEvent.objects.filter(action="channel.regenerate").count() == 1
