from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from kato_console.kato_api import views as kato_api
from kato_console.monitoring.views import metrics
from kato_console.pages import applications as views_applications
from kato_console.pages import component as pages
from kato_console.pages import down as views_down
from kato_console.pages import home as component_views
from kato_console.pages import kubernetes as views_kubernetes
from kato_console.pages import profile as views_profile
from kato_console.pages import signin as views_signin
from kato_console.pages import status as views_status
from kato_console.pages import team as views_team
from kato_console.pages import tokens as views_tokens
from kato_console.pages import wizard as views_wizard

# A 503 in each door's format when the database is away (kato_console/unavailable.py).
handler500 = "kato_console.unavailable.server_error"

urlpatterns = [
    path("", component_views.home, name="home"),
    path("accounts/login/", views_signin.LoginView.as_view(), name="login"),
    path("accounts/logout/", views_signin.SignOutView.as_view(), name="logout"),
    # OpenID Connect (mozilla-django-oidc's names, which its views look up).
    path("oidc/authenticate/", views_signin.oidc_start, name="oidc_authentication_init"),
    path("oidc/callback/", views_signin.oidc_callback, name="oidc_authentication_callback"),
    # The footer's language switch (a cookie), on every page, the login page included.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("apps/", views_applications.application_list, name="apps"),
    path("down/", views_down.down_now, name="down-now"),
    path("status/<str:token>/", views_status.status_page, name="status-page"),
    path("status/<str:token>/badge/<str:what>.svg", views_status.badge, name="status-badge"),
    path(
        "apps/<slug:slug>/status-page/", views_applications.status_page_switch, name="application-status-page"
    ),
    path("apps/<slug:slug>/", views_applications.application_detail, name="application"),
    path(
        "apps/<slug:slug>/kubernetes.yaml",
        views_kubernetes.application_kubernetes,
        name="application-kubernetes",
    ),
    path(
        "apps/<slug:slug>/components/new/internal/",
        views_applications.internal_component_new,
        name="internal-component-new",
    ),
    path("apps/<slug:slug>/components/new/third-party/", views_wizard.wizard_start, name="wizard-new-in-app"),
    path("apps/components/new/third-party/", views_wizard.wizard_start, name="wizard-new"),
    path("apps/components/new/third-party/validate/", views_wizard.wizard_validate, name="wizard-validate"),
    path(
        "apps/components/new/third-party/address-row/",
        views_wizard.wizard_address_row,
        name="wizard-address-row",
    ),
    path("apps/components/new/third-party/<uuid:run>/", views_wizard.wizard_edit, name="wizard-edit"),
    path("apps/components/new/third-party/<uuid:run>/test/", views_wizard.wizard_test, name="wizard-test"),
    path(
        "apps/components/new/third-party/<uuid:run>/results/",
        views_wizard.wizard_results,
        name="wizard-results",
    ),
    path(
        "apps/components/new/third-party/<uuid:run>/create/", views_wizard.wizard_create, name="wizard-create"
    ),
    path(
        "apps/components/new/third-party/<uuid:run>/abandon/",
        views_wizard.wizard_abandon,
        name="wizard-abandon",
    ),
    path("components/<str:service_id>/", pages.overview, name="component"),
    path(
        "components/<str:service_id>/secret-key/reveal/",
        pages.secret_key_reveal,
        name="component-secret-key-reveal",
    ),
    path(
        "components/<str:service_id>/secret-key/regenerate/",
        pages.secret_key_regenerate,
        name="component-secret-key-regenerate",
    ),
    path(
        "components/<str:service_id>/secret-key/curl/",
        pages.secret_key_curl,
        name="component-secret-key-curl",
    ),
    path("components/<str:service_id>/instances/", pages.instance_add, name="component-instance-add"),
    path(
        "components/<str:service_id>/instances/<int:pk>/online/",
        pages.instance_set_online,
        name="component-instance-online",
    ),
    path(
        "components/<str:service_id>/instances/<int:pk>/delete/",
        pages.instance_delete,
        name="component-instance-delete",
    ),
    path(
        "components/<str:service_id>/instances/<int:pk>/history/",
        pages.instance_history,
        name="component-instance-history",
    ),
    path("components/<str:service_id>/settings/", pages.settings_page, name="component-settings"),
    path("components/<str:service_id>/delete/", pages.component_delete, name="component-delete"),
    path("components/<str:service_id>/ports/", pages.ports, name="component-ports"),
    path(
        "components/<str:service_id>/ports/<int:number>/", pages.port_services, name="component-port-services"
    ),
    path(
        "components/<str:service_id>/ports/<int:number>/protocol/",
        pages.port_protocol,
        name="component-port-protocol",
    ),
    path(
        "components/<str:service_id>/ports/<int:number>/delete/",
        pages.port_delete,
        name="component-port-delete",
    ),
    path(
        "components/<str:service_id>/connection-info/",
        pages.connection_info,
        name="component-connection-info",
    ),
    path(
        "components/<str:service_id>/connection-info/<str:name>/edit/",
        pages.env_edit,
        name="component-env-edit",
    ),
    path(
        "components/<str:service_id>/connection-info/<str:name>/delete/",
        pages.env_delete,
        name="component-env-delete",
    ),
    path(
        "components/<str:service_id>/connection-info/<str:name>/reveal/",
        pages.env_reveal,
        name="component-env-reveal",
    ),
    path("components/<str:service_id>/dependencies/", pages.dependencies, name="component-dependencies"),
    path(
        "components/<str:service_id>/dependencies/<str:target_id>/remove/",
        pages.dependency_remove,
        name="component-dependency-remove",
    ),
    path("components/<str:service_id>/environment/", pages.environment_page, name="component-environment"),
    path(
        "components/<str:service_id>/environment/reveal/",
        pages.environment_reveal,
        name="component-environment-reveal",
    ),
    path(
        "components/<str:service_id>/environment.env",
        pages.environment_download,
        name="component-environment-download",
    ),
    path("components/<str:service_id>/health-check/", pages.health_check, name="component-health-check"),
    path("components/<str:service_id>/health-check/probe/", pages.probe_now, name="component-probe-now"),
    path(
        "components/<str:service_id>/health-check/pause/",
        pages.health_check_pause,
        name="component-check-pause",
    ),
    path("components/<str:service_id>/maintenance/", pages.maintenance_add, name="component-maintenance-add"),
    path(
        "components/<str:service_id>/maintenance/<int:pk>/delete/",
        pages.maintenance_delete,
        name="component-maintenance-delete",
    ),
    path("components/<str:service_id>/events/", pages.events, name="component-events"),
    path(
        "components/<str:service_id>/kubernetes.yaml",
        views_kubernetes.component_kubernetes,
        name="component-kubernetes",
    ),
    path("account/", views_profile.profile, name="profile"),
    path("account/sessions/end/", views_profile.sessions_end, name="profile-sessions-end"),
    path("account/tokens/", views_tokens.api_tokens, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", views_tokens.api_token_revoke, name="api-token-revoke"),
    path("teams/<slug:slug>/", views_team.team_page, name="team"),
    path("teams/<slug:slug>/members/<int:user_id>/role/", views_team.member_role, name="team-member-role"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/remove/", views_team.member_remove, name="team-member-remove"
    ),
    path("", include("kato_console.alerts.urls")),
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    # The Kato-compatible, secret-keyed instance endpoint (trailing slash optional).
    # The secret key authenticates these, not a session.
    path(
        kato_api.API_ROUTE,
        login_not_required(kato_api.ThirdPartyInstancesApi.as_view()),
        name="kato-third-party",
    ),
    path(f"{kato_api.API_ROUTE}/", login_not_required(kato_api.ThirdPartyInstancesApi.as_view(schema=None))),
    path("api/v1/", include("kato_console.api.urls")),
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, as the CSP asks.
    path(
        "api/docs/",
        login_not_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
]
