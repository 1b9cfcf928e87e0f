"""Full-text and trigram search over the catalog (issue 19 item 4).

What templates_app/search.py reads, kept by the database itself on every write path (admin,
importer, `queryset.update()` in a shell), like the catalog version of 0002:

- PostgreSQL: the pg_trgm extension (typos), and a generated `search_vector` column with the
  weighted full-text vector of title (A), key (B) and body (C), with a GIN index. The column is
  not a model field: Django has no tsvector field for SQLite, and nothing but the search reads it.
  A trigram GIN index on `title || ' ' || key` finds the templates a typo may mean: the search's
  `<%` filter must name that same expression to use it.
- SQLite: an FTS5 table over title, key and body, kept by triggers, and an fts5vocab table over
  it (the vocabulary that typos are corrected against).

SQLite drops a table's triggers when Django rebuilds the table (some AlterField operations):
a migration that does so must create these triggers, and those of 0002, again.
"""

from django.db import migrations

TABLE = "templates_app_responsetemplate"
FTS = "templates_app_search"

POSTGRESQL = (
    f"""
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    ALTER TABLE {TABLE} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', regexp_replace(key, '[^[:alnum:]]+', ' ', 'g')), 'B')
        || setweight(to_tsvector('english', body), 'C')
    ) STORED;
    CREATE INDEX templates_app_search_vector ON {TABLE} USING gin (search_vector);
    CREATE INDEX templates_app_search_trigram ON {TABLE}
        USING gin ((title || ' ' || key) gin_trgm_ops);
    """,
    # The extension stays: other schemas may use it, and it costs nothing unused.
    f"""
    DROP INDEX templates_app_search_trigram;
    DROP INDEX templates_app_search_vector;
    ALTER TABLE {TABLE} DROP COLUMN search_vector;
    """,
)

# The "external content" layout of https://sqlite.org/fts5.html#external_content_tables: the
# index refers to the catalog's rows by id and stores no second copy of the text.
SQLITE = (
    [
        f"""
        CREATE VIRTUAL TABLE {FTS} USING fts5(
            title, key, body, content='{TABLE}', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        f"""
        CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TABLE} BEGIN
            INSERT INTO {FTS}(rowid, title, key, body)
                VALUES (new.id, new.title, new.key, new.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TABLE} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, key, body)
                VALUES ('delete', old.id, old.title, old.key, old.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_update AFTER UPDATE OF title, key, body ON {TABLE} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, key, body)
                VALUES ('delete', old.id, old.title, old.key, old.body);
            INSERT INTO {FTS}(rowid, title, key, body)
                VALUES (new.id, new.title, new.key, new.body);
        END
        """,
        f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
        f"CREATE VIRTUAL TABLE {FTS}_vocab USING fts5vocab({FTS}, 'row')",
    ],
    [
        f"DROP TABLE {FTS}_vocab",
        f"DROP TRIGGER {FTS}_update",
        f"DROP TRIGGER {FTS}_delete",
        f"DROP TRIGGER {FTS}_insert",
        f"DROP TABLE {FTS}",
    ],
)


def _run(schema_editor, forwards: bool) -> None:
    vendor = schema_editor.connection.vendor
    index = 0 if forwards else 1
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL[index])
    elif vendor == "sqlite":
        for statement in SQLITE[index]:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"no catalog search for {vendor}")


def create_search(apps, schema_editor):
    _run(schema_editor, forwards=True)


def drop_search(apps, schema_editor):
    _run(schema_editor, forwards=False)


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0002_catalog_version"),
    ]

    operations = [migrations.RunPython(create_search, drop_search)]
