"""GIN indexes for search (tickets.selectors.search), PostgreSQL only.

Each indexed expression is exactly what ``SearchVector(..., config="simple")`` compiles to, so the
planner uses the index; tests/tickets/test_search.py checks that with EXPLAIN. Built after a bulk
load too: the loader only drops and rebuilds the indexes it finds. On SQLite search falls back to
``icontains`` and these are skipped.
"""

from django.db import migrations

TICKET = (
    "CREATE INDEX IF NOT EXISTS ticket_search_idx ON tickets_ticket USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(subject, '') || ' ' || COALESCE(description, '')))"
)
# Only the kinds a person wrote (replies, customer messages, notes): what search calls comments.
EVENT = (
    "CREATE INDEX IF NOT EXISTS ticketevent_search_idx ON tickets_ticketevent USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(body, ''))) "
    "WHERE kind IN ('reply', 'customer-message', 'note')"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TICKET)
        schema_editor.execute(EVENT)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_search_idx")
        schema_editor.execute("DROP INDEX IF EXISTS ticketevent_search_idx")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_dashboard_indexes")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
