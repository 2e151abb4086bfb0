# The audit trail at a million events: newest-first lists, the events page at any depth, the
# action filter and the label search each walk an index; the single-column created_at index gives
# way to (created_at, id).

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("components", "0005_audit_event_moves_to_core"),
        ("core", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="auditevent",
            name="audit_component_recent",
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
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
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["-created_at", "-id"], name="audit_recent"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "-created_at", "-id"], name="audit_action_recent"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["component_label", "-created_at", "-id"], name="audit_label_recent"),
        ),
    ]
