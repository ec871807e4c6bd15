"""Drop the two NULLS LAST indexes of 0003: since the list pages by keyset (0006), its deadline
orders use ``esc_next_due_soonest`` / ``esc_next_due_latest`` (``COALESCE`` of the deadline, then
id) and nothing orders by ``next_due_at NULLS LAST, id`` any more; each index only cost every
write to an escalation. PostgreSQL only, as 0003 was; reversing puts them back."""

from django.db import migrations

DROP = ["DROP INDEX IF EXISTS esc_next_due_asc", "DROP INDEX IF EXISTS esc_next_due_desc"]
CREATE = [
    "CREATE INDEX IF NOT EXISTS esc_next_due_asc ON escalations_escalation (next_due_at ASC NULLS LAST, id ASC)",
    "CREATE INDEX IF NOT EXISTS esc_next_due_desc ON escalations_escalation (next_due_at DESC NULLS LAST, id DESC)",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0006_next_due_keyset_indexes")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
