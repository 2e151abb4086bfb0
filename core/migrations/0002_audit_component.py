# The audit event's link to its component. It is its own migration so that core's first one, at the
# bottom of the layers, depends on no other app; only this foreign key needs components.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("components", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="component",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="audit_events",
                to="components.component",
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["component", "-created_at", "-id"], name="audit_component_recent"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["component", "action", "-created_at", "-id"], name="audit_component_action"
            ),
        ),
    ]
