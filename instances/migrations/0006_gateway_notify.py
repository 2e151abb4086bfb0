"""Triggers that tell the gateway (``manage.py run_gateway``) when routing changes.

Each sends ``NOTIFY kato_gateway`` after a row change that can change what the gateway routes: an
instance's address, intent or health; a port's number, protocol, switches or gateway ports; a health
check turned on or off; a component renamed (its HTTP route's host name). Other updates, such as the
sweep writing a latency or a timestamp, send nothing. PostgreSQL folds identical notifications of one
transaction into one, so a bulk write sends one per component. PostgreSQL only: elsewhere the gateway
polls.
"""

from django.db import migrations

# The payload is the component's id (the trigger's argument names the column that holds it), so the
# gateway reads that component again, not all of them.
FUNCTION = """
CREATE OR REPLACE FUNCTION kato_gateway_notify() RETURNS trigger AS $$
DECLARE
    affected record;
BEGIN
    IF TG_OP = 'DELETE' THEN affected := OLD; ELSE affected := NEW; END IF;
    PERFORM pg_notify('kato_gateway', (to_jsonb(affected) ->> TG_ARGV[0]));
    IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) ->> TG_ARGV[0]) IS DISTINCT FROM (to_jsonb(NEW) ->> TG_ARGV[0]) THEN
        PERFORM pg_notify('kato_gateway', (to_jsonb(OLD) ->> TG_ARGV[0]));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

# table: (the column holding the component's id, the columns whose change matters)
WATCHED = {
    "instances_instance": ("component_id", ["component_id", "host", "port", "scheme", "is_online", "health"]),
    "components_port": (
        "component_id",
        [
            "component_id",
            "number",
            "protocol",
            "inner_service",
            "outer_service",
            "gateway_port",
            "public_port",
        ],
    ),
    "instances_healthcheck": ("component_id", ["component_id", "enabled"]),
    "components_component": ("id", ["service_name", "application_id"]),
}


def _triggers(table, component_column, columns):
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
    return f"""
CREATE TRIGGER kato_gateway_change AFTER UPDATE OF {", ".join(columns)} ON {table}
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION kato_gateway_notify('{component_column}');
CREATE TRIGGER kato_gateway_insert_delete AFTER INSERT OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION kato_gateway_notify('{component_column}');
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table, (component_column, columns) in WATCHED.items():
        schema_editor.execute(_triggers(table, component_column, columns))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in WATCHED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS kato_gateway_change ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS kato_gateway_insert_delete ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS kato_gateway_notify()")


class Migration(migrations.Migration):
    dependencies = [
        ("instances", "0005_health_check_limits_and_credential_networks"),
        ("components", "0006_port_gateway_ports"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
