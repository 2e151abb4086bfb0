"""Database triggers for the dependency rules that span rows.

A check constraint sees one row only, so "a third-party component never depends on another
component" and "no dependency cycle" are enforced by triggers: on PostgreSQL both (the cycle check
walks the graph with a recursive query); on SQLite the third-party rule (SQLite triggers cannot
hold a recursive query, and the embedded database serialises writers anyway).
"""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION kato_dependency_guard() RETURNS trigger AS $$
BEGIN
    IF (SELECT kind FROM components_component WHERE id = NEW.component_id) = 'third_party' THEN
        RAISE EXCEPTION 'a third-party component cannot depend on another component'
            USING ERRCODE = 'check_violation';
    END IF;
    -- Serialise concurrent additions so two of them cannot close a cycle together.
    PERFORM pg_advisory_xact_lock(7312001);
    IF EXISTS (
        WITH RECURSIVE reach(id) AS (
            SELECT NEW.target_id
            UNION
            SELECT d.target_id FROM components_dependency d JOIN reach r ON d.component_id = r.id
        )
        SELECT 1 FROM reach WHERE id = NEW.component_id
    ) THEN
        RAISE EXCEPTION 'this dependency would make a cycle' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kato_dependency_guard BEFORE INSERT OR UPDATE ON components_dependency
    FOR EACH ROW EXECUTE FUNCTION kato_dependency_guard();
"""

PG_REVERSE = """
DROP TRIGGER IF EXISTS kato_dependency_guard ON components_dependency;
DROP FUNCTION IF EXISTS kato_dependency_guard();
"""

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER kato_dependency_third_party_insert BEFORE INSERT ON components_dependency
    WHEN (SELECT kind FROM components_component WHERE id = NEW.component_id) = 'third_party'
    BEGIN SELECT RAISE(ABORT, 'a third-party component cannot depend on another component'); END;
    """,
    """
    CREATE TRIGGER kato_dependency_third_party_update BEFORE UPDATE ON components_dependency
    WHEN (SELECT kind FROM components_component WHERE id = NEW.component_id) = 'third_party'
    BEGIN SELECT RAISE(ABORT, 'a third-party component cannot depend on another component'); END;
    """,
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
    elif vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS kato_dependency_third_party_insert")
        schema_editor.execute("DROP TRIGGER IF EXISTS kato_dependency_third_party_update")


class Migration(migrations.Migration):
    dependencies = [("components", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
