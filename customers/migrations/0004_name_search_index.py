"""GIN index for finding customers by the words of their name (tickets.selectors.search),
PostgreSQL only; the expression is exactly what ``SearchVector("name", config="simple")`` compiles to."""

from django.db import migrations

NAME = (
    "CREATE INDEX IF NOT EXISTS customer_name_search_idx ON customers_customer USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(name, '')))"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NAME)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_name_search_idx")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_sign_in_link")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
