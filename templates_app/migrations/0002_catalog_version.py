"""CatalogVersion and the triggers that bump it on every write to the catalog."""

from django.db import migrations, models

TABLE = "templates_app_responsetemplate"
BUMP = "UPDATE templates_app_catalogversion SET version = version + 1 WHERE id = 1"

POSTGRESQL = (
    f"""
    CREATE FUNCTION templates_app_catalog_bump() RETURNS trigger AS $$
    BEGIN
        {BUMP};
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER templates_app_catalog_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION templates_app_catalog_bump();
    """,
    f"""
    DROP TRIGGER templates_app_catalog_changed ON {TABLE};
    DROP FUNCTION templates_app_catalog_bump();
    """,
)
# SQLite has no statement-level triggers: a bump per row written is as good.
SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def create_triggers(apps, schema_editor):
    apps.get_model("templates_app", "CatalogVersion").objects.create(pk=1, version=0)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL[0])
    elif vendor == "sqlite":
        for event in SQLITE_EVENTS:
            schema_editor.execute(
                f"CREATE TRIGGER templates_app_catalog_{event.lower()} AFTER {event} ON {TABLE} "
                f"BEGIN {BUMP}; END"
            )
    else:
        raise NotImplementedError(f"no catalog-version triggers for {vendor}")


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL[1])
    else:
        for event in SQLITE_EVENTS:
            schema_editor.execute(f"DROP TRIGGER templates_app_catalog_{event.lower()}")


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="CatalogVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
