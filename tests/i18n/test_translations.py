"""The console in English and Simplified Chinese: every message marked in the templates and the
Python code has a Chinese translation (makemessages on a copy of the sources, then compared with
the committed catalogue), the committed .mo is the .po compiled, the language follows
Accept-Language and the footer's switch, and the Kato-compatible instance API stays as it is."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from tests.support import _absent

ROOT = Path(__file__).resolve().parent.parent.parent
CATALOGUE = Path("locale/zh_Hans/LC_MESSAGES")
SOURCES = ("core", "components", "instances", "kato_console", "templates", "locale", "manage.py")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        _absent(f"{name} is not installed (apt-get install gettext)")
    return str(found)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """makemessages over a copy of the sources, merging the committed catalogue: what a developer
    gets after marking new messages. Returns the copy's .po."""
    _tool("xgettext"), _tool("msgmerge")
    copy = tmp_path_factory.mktemp("sources")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / name)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kato_console.settings",
        "KATO_VAR_DIR": str(copy / "var"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-i", "var/*"],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return copy / CATALOGUE / "django.po"


def _entries(po: Path, *flags: str) -> str:
    result = subprocess.run(
        [_tool("msgattrib"), *flags, "--no-wrap", str(po)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def test_every_marked_message_has_a_chinese_translation(regenerated) -> None:
    untranslated = _entries(regenerated, "--untranslated")
    fuzzy = _entries(regenerated, "--only-fuzzy")
    assert untranslated == "", (
        f"Messages without a Chinese translation (add them to {CATALOGUE}/django.po):\n{untranslated}"
    )
    assert fuzzy == "", f"Translations marked fuzzy (check them, then remove the flag):\n{fuzzy}"


def test_the_committed_catalogue_holds_every_marked_message_and_no_stale_one(regenerated) -> None:
    def ids(po: Path) -> set[str]:
        return {line for line in _entries(po).splitlines() if line.startswith(("msgid ", "msgid_plural "))}

    assert ids(ROOT / CATALOGUE / "django.po") == ids(regenerated)


def test_the_committed_mo_is_the_po_compiled(tmp_path) -> None:
    compiled = tmp_path / "django.mo"
    subprocess.run(
        [_tool("msgfmt"), "--check", "-o", str(compiled), str(ROOT / CATALOGUE / "django.po")], check=True
    )
    with compiled.open("rb") as fresh, (ROOT / CATALOGUE / "django.mo").open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_the_login_page_follows_accept_language_and_the_switch_keeps_the_choice() -> None:
    client = Client()
    assert (
        "登录 Kato 控制台"
        in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    )
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Log in to Kato Console" in english and '<html lang="en">' in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "登录 Kato 控制台" in page and '<html lang="zh-hans">' in page
    assert '<option value="zh-hans" lang="zh-hans" selected>简体中文</option>' in page


@pytest.mark.django_db
def test_the_instance_api_answers_byte_for_byte_the_same_in_any_language(api_component) -> None:
    url = f"/console/third_party/{api_component.service_id}"
    answers = []
    for language in ("en-US", "zh-CN,zh;q=0.9"):
        for body in ('{"secret_key": "wrong", "ip": "10.0.0.7"}', "{not json"):
            response = Client().put(url, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)
            answers.append((response.status_code, response.content, response.get("Content-Language")))
    assert answers[:2] == answers[2:]
    assert all(language is None for _, _, language in answers)


ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


@pytest.mark.django_db
def test_the_team_profile_and_token_pages_speak_chinese(alice_client, team) -> None:
    team_page = alice_client.get(f"/teams/{team.slug}/", **ZH).content.decode()
    assert "你是该团队的开发者。" in team_page and "加入时间" in team_page
    assert "You are a developer" not in team_page
    profile = alice_client.get("/account/", **ZH).content.decode()
    assert "修改密码" in profile and "退出其他会话" in profile and "开发者" in profile
    tokens = alice_client.get("/account/tokens/", **ZH).content.decode()
    assert "创建令牌" in tokens and "还没有令牌。" in tokens


@pytest.mark.django_db
def test_the_events_sentences_follow_the_request_language_on_the_page_and_in_the_api(
    alice, alice_client, static_component
) -> None:
    from rest_framework.test import APIClient

    page = alice_client.get(f"/components/{static_component.service_id}/events/", **ZH).content.decode()
    assert f"在应用 {static_component.application.slug} 中创建了组件 {static_component.name}" in page
    api = APIClient()
    api.force_authenticate(alice)
    url = f"/api/v1/components/{static_component.service_id}/events/"
    chinese = api.get(url, **ZH).json()["results"][-1]["sentence"]
    english = api.get(url, HTTP_ACCEPT_LANGUAGE="en-US").json()["results"][-1]["sentence"]
    assert chinese == f"alice 在应用 {static_component.application.slug} 中创建了组件 {static_component.name}"
    assert (
        english
        == f"alice created the component {static_component.name} in {static_component.application.slug}"
    )


@pytest.mark.django_db
def test_the_error_pages_speak_chinese(settings, alice, alice_client) -> None:
    settings.ROOT_URLCONF = "tests.people.failing_urls"
    missing = alice_client.get("/no/such/page/", **ZH)
    assert missing.status_code == 404 and "此页面不存在" in missing.content.decode()
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    failing = client.get("/fails/", **ZH)
    page = failing.content.decode()
    assert failing.status_code == 500 and "出错了" in page and '<html lang="zh-hans">' in page


def test_every_probe_failure_label_has_a_page_word() -> None:
    from instances.probes._net import FAILURES
    from kato_console.templatetags.console import FAILURE_WORDS

    assert set(FAILURES.values()) | {"failed"} == set(FAILURE_WORDS)
    with translation.override("zh-hans"):
        assert all(str(word) != label for label, word in FAILURE_WORDS.items() if label != "TLS failed")


@pytest.mark.django_db
def test_the_instance_api_refuses_in_english_in_a_chinese_installation(settings, api_component) -> None:
    """The services' refusals it passes on (an address, the instance limit) are translated at every
    other door; here they stay Kato's English, byte for byte, even when Chinese is the default."""
    url = f"/console/third_party/{api_component.service_id}"
    body = f'{{"secret_key": "{api_component.secret_key}", "ip": "10.0.0.300"}}'

    def refusal() -> tuple[int, bytes]:
        response = Client().put(url, body, content_type="application/json", **ZH)
        return response.status_code, response.content

    english = refusal()
    settings.LANGUAGE_CODE = "zh-hans"
    chinese_installation = refusal()

    assert english == chinese_installation
    assert english[0] == 400 and b"is not a valid IPv4 address" in english[1]
    assert "不是有效".encode() not in chinese_installation[1]


@pytest.mark.django_db
def test_a_service_refusal_speaks_the_user_s_language_on_the_page_and_in_the_console_api(
    alice, alice_client, static_component
) -> None:
    from rest_framework.test import APIClient

    url = f"/components/{static_component.service_id}/instances/"
    page = alice_client.post(url, {"address": "10.0.0.300"}, **ZH).content.decode()
    assert "&#x27;10.0.0.300&#x27; 不是有效的 IPv4 地址" in page
    api = APIClient()
    api.force_authenticate(alice)
    answer = api.post(
        f"/api/v1/components/{static_component.service_id}/instances/", {"address": "10.0.0.300"}, **ZH
    ).json()
    assert "不是有效的 IPv4 地址" in str(answer)
    english = api.post(
        f"/api/v1/components/{static_component.service_id}/instances/",
        {"address": "10.0.0.300"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert "is not a valid IPv4 address" in str(english)


def test_every_audit_action_is_told_in_a_sentence_in_both_languages() -> None:
    from core.models import AUDIT_ACTIONS, AuditEvent
    from kato_console.events import _SENTENCES, event_sentence

    assert set(AUDIT_ACTIONS) <= set(_SENTENCES)  # none falls back to "maintenance: create"
    event = AuditEvent(action="maintenance.create", actor="alice", detail={"reason": "Upgrade to 11.4"})
    assert event_sentence(event) == "alice added the maintenance window Upgrade to 11.4"
    with translation.override("zh-hans"):
        assert event_sentence(event) == "alice 添加了维护窗口“Upgrade to 11.4”"
