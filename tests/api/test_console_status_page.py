"""/api/v1/applications/<slug>: one application, and publishing its status page or taking it down."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from instances import maintenance
from instances.models import StatusPage

pytestmark = pytest.mark.django_db


def test_an_application_reads_without_a_status_page_until_one_is_published(api, application, client):
    body = api.get(f"/api/v1/applications/{application.slug}").json()
    assert (body["slug"], body["status_page"], body["status_page_url"]) == ("shop", False, None)

    response = api.patch(f"/api/v1/applications/{application.slug}", {"status_page": True}, format="json")
    assert response.status_code == 200
    page = StatusPage.objects.get(application=application)
    assert response.json()["status_page"] is True
    assert response.json()["status_page_url"] == f"http://testserver/status/{page.token}/"
    assert AuditEvent.objects.filter(team=application.team, action="status_page.publish").count() == 1
    # The address answers, without a login.
    public = client.get(f"/status/{page.token}/")
    assert public.status_code == 200
    assert b"Shop" in public.content

    # Publishing a published page keeps its address.
    again = api.patch(f"/api/v1/applications/{application.slug}/", {"status_page": True}, format="json")
    assert again.json()["status_page_url"] == response.json()["status_page_url"]
    assert AuditEvent.objects.filter(action="status_page.publish").count() == 1

    listed = api.get("/api/v1/applications/").json()["results"]
    assert [(row["slug"], row["status_page"]) for row in listed] == [("shop", True)]

    down = api.patch(f"/api/v1/applications/{application.slug}", {"status_page": False}, format="json")
    assert (down.json()["status_page"], down.json()["status_page_url"]) == (False, None)
    assert not StatusPage.objects.exists()
    assert AuditEvent.objects.filter(team=application.team, action="status_page.unpublish").exists()
    assert client.get(f"/status/{page.token}/").status_code == 404


def test_a_viewer_sees_the_status_page_but_cannot_switch_it(viewer_api, application, alice_actor):
    page = maintenance.status_page_publish(application=application, actor=alice_actor)
    body = viewer_api.get(f"/api/v1/applications/{application.slug}").json()
    assert body["status_page_url"].endswith(f"/status/{page.token}/")
    refused = viewer_api.patch(
        f"/api/v1/applications/{application.slug}", {"status_page": False}, format="json"
    )
    assert refused.status_code == 403
    assert "Viewers can read" in refused.json()["detail"]
    assert StatusPage.objects.filter(pk=page.pk).exists()
    assert not AuditEvent.objects.filter(action="status_page.unpublish").exists()


def test_another_team_gets_404(bob_api, application):
    assert bob_api.get(f"/api/v1/applications/{application.slug}").json() == {
        "detail": "No such application."
    }
    refused = bob_api.patch(f"/api/v1/applications/{application.slug}", {"status_page": True}, format="json")
    assert refused.status_code == 404
    assert not StatusPage.objects.exists()
    assert not AuditEvent.objects.filter(action="status_page.publish").exists()


@pytest.mark.parametrize("body", [{}, {"status_page": "maybe"}, {"status_page": None}])
def test_a_missing_or_bad_status_page_is_a_400(api, application, body):
    response = api.patch(f"/api/v1/applications/{application.slug}", body, format="json")
    assert response.status_code == 400
    assert response.json()["status_page"][0] in (
        "This field is required.",
        "Must be a valid boolean.",
        "This field may not be null.",
    )
    assert not StatusPage.objects.exists()
