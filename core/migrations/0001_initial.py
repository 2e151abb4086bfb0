# The audit trail moves from the components app to core: the table and its rows stay where they
# are (components_auditevent); only Django's idea of which app owns the model changes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("components", "0004_audit_user_index_where_set"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("component_label", models.CharField(blank=True, max_length=64)),
                        (
                            "actor",
                            models.CharField(
                                choices=[
                                    ("user", "User"),
                                    ("api-key", "API key"),
                                    ("api-token", "API token"),
                                    ("system", "System"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("action", models.CharField(max_length=64)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        ("remote_addr", models.GenericIPAddressField(blank=True, null=True)),
                        (
                            "component",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_events",
                                to="components.component",
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="audit_events",
                                to="components.team",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "components_auditevent",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["team", "-created_at"], name="audit_team_recent"),
                            models.Index(fields=["component", "-created_at"], name="audit_component_recent"),
                            models.Index(
                                condition=models.Q(("user__isnull", False)),
                                fields=["user"],
                                name="audit_user",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
