# The audit trail now belongs to core (its migration 0001): the table stays.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("components", "0004_audit_user_index_where_set"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
