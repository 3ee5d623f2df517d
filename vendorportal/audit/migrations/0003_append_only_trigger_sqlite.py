"""On SQLite too, the database refuses to change an audit row.

A BEFORE UPDATE trigger aborts any UPDATE of audit_auditentry, whoever runs it. DELETE is
refused by the model (and on PostgreSQL by the database, 0002): SQLite has no TRUNCATE, so
emptying a table (what a test database flush does) is a DELETE that a trigger would block.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CREATE = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
BEGIN
    SELECT RAISE(ABORT, 'audit_auditentry is append-only: UPDATE refused');
END;
"""

DROP = "DROP TRIGGER IF EXISTS audit_entry_no_update;"


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE, params=None)


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [migrations.RunPython(forwards, backwards)]
