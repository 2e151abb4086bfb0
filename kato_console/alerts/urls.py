from __future__ import annotations

from django.urls import path

from kato_console.alerts import views

app_name = "alerts"

urlpatterns = [
    path("teams/<slug:slug>/channels/", views.channel_list, name="channels"),
    path("teams/<slug:slug>/channels/new/", views.channel_new, name="channel-new"),
    path("teams/<slug:slug>/channels/<int:pk>/", views.channel_detail, name="channel"),
    path(
        "teams/<slug:slug>/channels/<int:pk>/deliveries/", views.channel_deliveries, name="channel-deliveries"
    ),
    path("teams/<slug:slug>/channels/<int:pk>/edit/", views.channel_edit, name="channel-edit"),
    path("teams/<slug:slug>/channels/<int:pk>/test/", views.channel_test, name="channel-test"),
    path("teams/<slug:slug>/channels/<int:pk>/secret/", views.channel_reveal, name="channel-secret"),
    path("teams/<slug:slug>/channels/<int:pk>/delete/", views.channel_delete, name="channel-delete"),
]
