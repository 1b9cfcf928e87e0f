"""Catalog search over the templates' texts in other locales too (issue 22 item 3).

What templates_app/search.py reads, kept by the database itself as in migration 0003:

- PostgreSQL: on the variants' table, a generated `search_vector` column with the weighted
  vector of title (A) and body (C), with a GIN index, and a trigram GIN index on the title
  (typos: the search's `<%` filter names that same column to use it). The vector uses the
  `english` configuration, as 0003's does, whatever the variant's locale: the query is stemmed
  once, the same way for both tables, and matched as prefixes (`tarjeta:*` finds "tarjetas").
  ts_rank reads nothing but the row, so the two tables' ranks compare as they are.
- SQLite: 0003's FTS5 table becomes one index over both tables, a template's own text under
  its id and a variant's under minus its id (its `key` column blank: the key is the
  template's). bm25 weighs a word by how many rows have it; over two tables, a word in half of
  a few variants would rank next to nothing against the templates. The index is contentless
  (it stores no copy of the text; an external-content table reads one table only), kept by
  triggers on both tables, with its fts5vocab table as before.

SQLite drops a table's triggers when Django rebuilds the table (some AlterField operations):
a migration that does so must create these triggers, and those of 0002 and 0004, again.
"""

import importlib

from django.db import migrations

TABLE = "templates_app_templatevariant"
TEMPLATES = "templates_app_responsetemplate"
FTS = "templates_app_search"

POSTGRESQL = (
    f"""
    ALTER TABLE {TABLE} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', body), 'C')
    ) STORED;
    CREATE INDEX templates_app_variant_search_vector ON {TABLE} USING gin (search_vector);
    CREATE INDEX templates_app_variant_search_trigram ON {TABLE} USING gin (title gin_trgm_ops);
    """,
    f"""
    DROP INDEX templates_app_variant_search_trigram;
    DROP INDEX templates_app_variant_search_vector;
    ALTER TABLE {TABLE} DROP COLUMN search_vector;
    """,
)

# 0003's index, triggers and vocabulary, dropped to be made again over both tables (and made
# again by 0003's own statements when this migration is reversed).
DROP_0003 = [
    f"DROP TABLE {FTS}_vocab",
    f"DROP TRIGGER {FTS}_update",
    f"DROP TRIGGER {FTS}_delete",
    f"DROP TRIGGER {FTS}_insert",
    f"DROP TABLE {FTS}",
]

# A contentless table's rows are removed with the 'delete' command and the text they were
# indexed with: https://sqlite.org/fts5.html#contentless_tables
SQLITE = (
    [
        *DROP_0003,
        f"""
        CREATE VIRTUAL TABLE {FTS} USING fts5(
            title, key, body, content='', tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        f"""
        CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TEMPLATES} BEGIN
            INSERT INTO {FTS}(rowid, title, key, body)
                VALUES (new.id, new.title, new.key, new.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TEMPLATES} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, key, body)
                VALUES ('delete', old.id, old.title, old.key, old.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_update AFTER UPDATE OF title, key, body ON {TEMPLATES} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, key, body)
                VALUES ('delete', old.id, old.title, old.key, old.body);
            INSERT INTO {FTS}(rowid, title, key, body)
                VALUES (new.id, new.title, new.key, new.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_variant_insert AFTER INSERT ON {TABLE} BEGIN
            INSERT INTO {FTS}(rowid, title, key, body) VALUES (-new.id, new.title, '', new.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_variant_delete AFTER DELETE ON {TABLE} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, key, body)
                VALUES ('delete', -old.id, old.title, '', old.body);
        END
        """,
        f"""
        CREATE TRIGGER {FTS}_variant_update AFTER UPDATE OF title, body ON {TABLE} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, key, body)
                VALUES ('delete', -old.id, old.title, '', old.body);
            INSERT INTO {FTS}(rowid, title, key, body) VALUES (-new.id, new.title, '', new.body);
        END
        """,
        f"INSERT INTO {FTS}(rowid, title, key, body) SELECT id, title, key, body FROM {TEMPLATES}",
        f"INSERT INTO {FTS}(rowid, title, key, body) SELECT -id, title, '', body FROM {TABLE}",
        f"CREATE VIRTUAL TABLE {FTS}_vocab USING fts5vocab({FTS}, 'row')",
    ],
    [
        f"DROP TRIGGER {FTS}_variant_update",
        f"DROP TRIGGER {FTS}_variant_delete",
        f"DROP TRIGGER {FTS}_variant_insert",
        *DROP_0003,
        *importlib.import_module("templates_app.migrations.0003_search").SQLITE[0],
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
        ("templates_app", "0004_locale_variants"),
    ]

    operations = [migrations.RunPython(create_search, drop_search)]
