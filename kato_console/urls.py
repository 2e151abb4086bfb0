from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from components import views as component_views
from components import views_tokens
from instances import kato_api

urlpatterns = [
    path("", component_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("apps/", component_views.application_list, name="apps"),
    path("apps/<slug:slug>/", component_views.application_detail, name="application"),
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
    # The split view serves Swagger UI's start-up script as a file: no inline script, as the CSP asks.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]
