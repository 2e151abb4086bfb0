"""Every page sends a Content-Security-Policy that allows only the console's own resources, and no
page relies on what it refuses: inline scripts, event-handler attributes, inline styles, CDNs."""

from __future__ import annotations

import re

import pytest

PAGES = ["/accounts/login/", "/apps/", "/account/tokens/", "/api/docs/", "/admin/"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_policy_of_the_consoles_own_resources_only(path, client, alice) -> None:
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/apps/", "/account/tokens/", "/api/docs/"])
def test_the_consoles_pages_have_no_inline_script_or_style(path, client, alice) -> None:
    client.force_login(alice)
    html = client.get(path).content.decode()
    assert not INLINE_SCRIPT.findall(html)
    assert not HANDLER_ATTRIBUTE.findall(html)
    assert not STYLE.findall(html)


@pytest.mark.django_db
def test_the_overview_with_a_revealed_key_has_no_inline_handler(api_component, client, alice) -> None:
    client.force_login(alice)
    html = client.post(
        f"/components/{api_component.service_id}/secret-key/reveal/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="api-registration",
    ).content.decode()
    assert 'data-copy="#secret-key"' in html
    assert not HANDLER_ATTRIBUTE.findall(html) and not INLINE_SCRIPT.findall(html)


@pytest.mark.django_db
def test_swagger_ui_comes_from_the_consoles_static_files_not_a_cdn(client, alice) -> None:
    client.force_login(alice)
    html = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources)
    assert all(source.startswith("/") for source in sources), sources
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
