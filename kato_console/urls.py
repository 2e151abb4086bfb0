from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from components import views as component_views
from components import views_applications, views_tokens, views_wizard
from instances import kato_api

urlpatterns = [
    path("", component_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("apps/", views_applications.application_list, name="apps"),
    path("apps/<slug:slug>/", views_applications.application_detail, name="application"),
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
    path("components/<str:service_id>/", component_views.component_overview, name="component"),
    path(
        "components/<str:service_id>/secret-key/reveal/",
        component_views.secret_key_reveal,
        name="component-secret-key-reveal",
    ),
    path(
        "components/<str:service_id>/secret-key/regenerate/",
        component_views.secret_key_regenerate,
        name="component-secret-key-regenerate",
    ),
    path("account/tokens/", views_tokens.api_tokens, name="api-tokens"),
    path("admin/", admin.site.urls),
    # The Kato-compatible, secret-keyed instance endpoint (trailing slash optional).
    re_path(
        kato_api.API_PATH,
        kato_api.ThirdPartyInstancesApi.as_view(),
        name="kato-third-party",
    ),
    path("api/v1/", include("components.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
