"""The migrations as the architecture has them: one 0001 per app, nothing left to write, and core's
at the bottom, depending on no other app of the project (docs/architecture.md, "Migrations")."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

PROJECT_APPS = {"core", "components", "instances", "alerts", "monitoring"}


def test_each_app_has_one_initial_migration() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = {(app, name) for app, name in loader.disk_migrations if app in PROJECT_APPS}
    assert names == {(app, "0001_initial") for app in PROJECT_APPS}


def test_core_depends_on_no_other_app_of_the_project() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    core = loader.disk_migrations["core", "0001_initial"]
    assert {app for app, _ in core.dependencies} & PROJECT_APPS == set()


@pytest.mark.django_db
def test_the_models_need_no_new_migration() -> None:
    out = StringIO()
    call_command("makemigrations", check=True, dry_run=True, stdout=out)  # exits 1 on a change
    assert "No changes detected" in out.getvalue()


def test_the_audit_event_keeps_its_link_to_its_component() -> None:
    state = MigrationLoader(None, ignore_no_migrations=True).project_state()
    field = state.models["core", "auditevent"].fields["component"]
    assert field.remote_field.model == "components.component"
