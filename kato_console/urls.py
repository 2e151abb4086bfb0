from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from components import views as component_views

urlpatterns = [
    path("", component_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("apps/", component_views.application_list, name="apps"),
    path("apps/<slug:slug>/", component_views.application_detail, name="application"),
    path("components/<str:service_id>/", component_views.component_overview, name="component"),
    path("admin/", admin.site.urls),
]
