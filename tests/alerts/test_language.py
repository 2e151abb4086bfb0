"""A channel's language: emails, Slack texts and Alertmanager summaries have no browser to ask, so
each channel says which language its messages are written in (English or Simplified Chinese; the
installation's LANGUAGE_CODE by default). Real deliveries to a loopback SMTP server, HTTP receiver
and the channel pages."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from instances.signals import HealthTransition
from kato_console.alerts import services
from kato_console.alerts.models import Delivery, NotificationChannel
from tests.alerts import support

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]
receiver = support.receiver

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def _unhealthy(component) -> HealthTransition:
    return HealthTransition(
        instance_id=1,
        component_id=component.pk,
        team_id=component.team_id,
        address="10.0.0.7:3306",
        old="healthy",
        new="unhealthy",
        stage="connect",
        error="connection refused",
        at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_a_new_channel_speaks_the_installation_s_language(team, alice_actor, receiver, settings) -> None:
    english = services.channel_create(
        team=team, actor=alice_actor, name="A", kind="slack", target=receiver.url
    )
    settings.LANGUAGE_CODE = "zh-hans"
    chinese = services.channel_create(
        team=team, actor=alice_actor, name="B", kind="slack", target=receiver.url
    )

    assert (english.language, chinese.language) == ("en", "zh-hans")


def test_a_chinese_slack_channel_gets_chinese_text_and_an_english_one_english(
    team, alice_actor, receiver, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(
        team=team,
        actor=alice_actor,
        name="值班",
        kind="slack",
        target=receiver.url + "&lang=zh",
        language="zh-hans",
    )
    services.channel_create(
        team=team, actor=alice_actor, name="On call", kind="slack", target=receiver.url + "&lang=en"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_unhealthy(static_component)])

    texts = {request.path.rsplit("=", 1)[1]: request.json["text"] for request in receiver.requests}
    assert texts["zh"].startswith(
        f"Kato 控制台：Shop / {static_component.name} 的实例 10.0.0.7:3306 变为不健康（之前为健康）"
        "：connect: connection refused"
    )
    assert texts["en"].startswith(
        f"Kato Console: instance 10.0.0.7:3306 of Shop / {static_component.name} is unhealthy (was healthy)"
    )
    # The deliveries table shows what was sent, in the channel's language.
    summaries = dict(Delivery.objects.values_list("channel__name", "summary"))
    assert summaries["值班"].startswith(f"Shop / {static_component.name} 的实例 10.0.0.7:3306 变为不健康")


def test_a_chinese_email_channel_sends_a_chinese_subject_and_body_through_a_real_smtp_server(
    team, alice_actor, smtp_server, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(
        team=team, actor=alice_actor, name="邮件", kind="email", target="ops@example.test", language="zh-hans"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_unhealthy(static_component)])

    [(_, _, content)] = smtp_server.messages
    message = email.message_from_bytes(content.encode(), policy=email.policy.default)
    assert str(message["Subject"]).strip() == (
        f"[Kato Console] Shop / {static_component.name} 的实例 10.0.0.7:3306 变为不健康（之前为健康）"
        "：connect: connection refused"
    )
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert body.startswith(f"Kato 控制台：Shop / {static_component.name} 的实例 10.0.0.7:3306 变为不健康")
    assert Delivery.objects.get().status == "sent"


def test_the_channel_form_sets_the_language_and_the_test_notification_speaks_it(
    team, alice_client, receiver, django_capture_on_commit_callbacks
) -> None:
    page = alice_client.get(reverse("alerts:channel-new", args=[team.slug]), **ZH).content.decode()
    assert "消息语言" in page and '<option value="zh-hans">简体中文</option>' in page

    alice_client.post(
        reverse("alerts:channel-new", args=[team.slug]),
        {
            "name": "值班",
            "kind": "webhook",
            "target": receiver.url,
            "scope": "team",
            "language": "zh-hans",
            "on_instance_transitions": "on",
            "enabled": "on",
        },
    )
    channel = NotificationChannel.objects.get()
    assert channel.language == "zh-hans"
    shown = alice_client.get(reverse("alerts:channel", args=[team.slug, channel.pk]), **ZH).content.decode()
    assert "<dd>简体中文</dd>" in shown

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("alerts:channel-test", args=[team.slug, channel.pk]))

    [request] = receiver.requests
    assert request.json["event"] == "test"  # the payload's fields stay machine words
    assert request.json["message"] == "这是 Kato 控制台发给通知渠道 值班 的测试通知。"
