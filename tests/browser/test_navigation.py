"""A person logs in, finds their application and component, and logs out."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_logs_in_and_walks_to_a_component(static_component, logged_in_page, live_server):
    page = logged_in_page
    assert page.get_by_role("heading", name="Applications").is_visible()
    page.get_by_role("main").get_by_role("link", name="Shop").click()
    assert page.get_by_role("heading", name="Shop").is_visible()
    page.get_by_role("link", name="mysql", exact=True).click()
    page.wait_for_url(f"{live_server.url}/components/{static_component.service_id}/")
    assert page.get_by_role("heading", name="Instances", exact=True).is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    assert page.get_by_role("heading", name="Log in to Kato Console").is_visible()


def test_a_wrong_password_is_refused_with_a_message(page, live_server, alice):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your user name and password didn't match")


def test_the_sidebar_shows_the_users_teams_and_applications(application, logged_in_page):
    sidebar = logged_in_page.get_by_role("complementary", name="Teams and applications")
    assert sidebar.get_by_role("heading", name="Payments").is_visible()
    assert sidebar.get_by_role("link", name="Shop").is_visible()
