"""The live loop's hand-written SQL, in one place, and the helpers its statements share.

Why by hand (docs/architecture.md, "Hand-written SQL on the live loop"): every statement here
runs once per customer message. The ORM's query compiling and model building cost about 10 ms
of Python a ranking, a third of the model's own time; a message is one statement because the
write rule is the INSERT's own condition. Each statement runs as is on PostgreSQL (production,
CI) and SQLite (the embedded default); the suite passes on either. A statement that names
every column of a table needs a new column added here (the suite fails otherwise).
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

from django.db import connection, models, transaction

from templates_app.active_catalog import CATALOG_VERSION_SQL


def single_statement() -> AbstractContextManager[Any]:
    """Around one INSERT whose IntegrityError the caller handles (a duplicate, a lost race).

    A savepoint when a transaction is already open (a request's, a test's, eager mode), so
    that the failed statement does not break it; nothing in autocommit mode (the workers, the
    WebSocket consumer), where one statement is atomic by itself and `transaction.atomic()`
    would add BEGIN and COMMIT: two more round trips on the live loop's hot path.
    """
    return transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()


def db_value(model: type[models.Model], field: str, value: Any) -> Any:
    """`value` as the ORM would send it for `model.field` in a hand-written statement (JSON,
    time zones: SQLite stores datetimes as text)."""
    # A column of the model's own table: a concrete field, never a reverse relation.
    column = cast("models.Field[Any, Any]", model._meta.get_field(field))
    return column.get_db_prep_save(value, connection)


def as_inserted(instance: Any, pk: int) -> Any:
    """`instance`, built from the values a hand-written INSERT stored, with the row's key and
    marked as stored, as if the ORM had read it back (a later save() updates that row)."""
    instance.pk = pk
    instance._state.adding, instance._state.db = False, connection.alias
    return instance


def from_db(model: type[models.Model], **values: Any) -> Any:
    """An instance of `model` as a query for these fields would make it (the rest deferred)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


# A message is one statement on the live loop's hot path: the write rule (assist/access.py:
# the conversation is open and the sender's, or the sender may act in any) is the INSERT's own
# condition, so no read precedes it; RETURNING says whether the conversation is in an
# experiment's control arm (ExperimentArm.is_control: no model version; no ranking then).
# Refused: no row, and _refusal says why. The statement names every column of assist_message:
# a new column needs adding here (the suite fails otherwise). Runs as is on PostgreSQL and
# SQLite.
MESSAGE_INSERT = """
INSERT INTO assist_message
    (conversation_id, role, text, client_id, sent_at, created_at, template_id,
     shown_suggestion_id, shown_model_version_id, shown_rank, selection_ms, edit_similarity)
SELECT c.id, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s
FROM assist_conversation c
WHERE c.id = %s AND c.status = %s AND (%s OR c.assigned_agent_id = %s)
RETURNING id, EXISTS (
    SELECT 1 FROM assist_conversation c
    JOIN assist_experimentarm a ON a.id = c.experiment_arm_id
    WHERE c.id = assist_message.conversation_id AND a.model_version_id IS NULL)
"""

# The worker's hot path is three statements written by hand: the ORM's compiling and model
# building cost about 10 ms of Python a ranking here, a third of the model's own time, and
# every millisecond of it is paid once per customer message. Each statement runs as is on
# PostgreSQL (production, CI) and SQLite (the embedded default); the suite passes on either.

# Everything a ranking needs before the model runs: is the message stale (a newer customer
# message) or ranked already, the conversation with its agent (for the placeholders) and
# experiment arm, the active model version and the catalog's version (the process keeps both
# in memory while they do not move), and the last sequence number.
JOB = f"""
SELECT
    m.conversation_id,
    EXISTS (SELECT 1 FROM assist_message n
            WHERE n.conversation_id = m.conversation_id AND n.role = %s AND n.id > m.id),
    EXISTS (SELECT 1 FROM assist_suggestion s WHERE s.message_id = m.id),
    (SELECT v.id FROM assist_modelversion v WHERE v.is_active LIMIT 1),
    {CATALOG_VERSION_SQL},
    (SELECT MAX(s.seq) FROM assist_suggestion s WHERE s.conversation_id = m.conversation_id),
    c.external_id, c.customer_name, c.assigned_agent_id, c.experiment_arm_id,
    c.language, c.language_source,
    u.username, u.first_name, u.last_name,
    a.model_version_id, mv.name, mv.path
FROM assist_message m
JOIN assist_conversation c ON c.id = m.conversation_id
LEFT JOIN auth_user u ON u.id = c.assigned_agent_id
LEFT JOIN assist_experimentarm a ON a.id = c.experiment_arm_id
LEFT JOIN assist_modelversion mv ON mv.id = a.model_version_id
WHERE m.id = %s
"""

# The turns of the conversation and the templates already sent in it.
TURNS = """
SELECT m.id, m.role, m.text, m.sent_at, t."key"
FROM assist_message m
LEFT JOIN templates_app_responsetemplate t ON t.id = m.template_id
WHERE m.conversation_id = %s
ORDER BY m.sent_at, m.id
"""

# The list, unless a newer customer message came in while the model ran: no row returned
# then. The unique (conversation, seq) and (message) constraints settle races.
SUGGESTION_INSERT = """
INSERT INTO assist_suggestion
    (conversation_id, message_id, seq, model_version_id, items, latency_ms, used, created_at)
SELECT %s, %s, %s, %s, %s, %s, %s, %s
WHERE NOT EXISTS (SELECT 1 FROM assist_message n
                  WHERE n.conversation_id = %s AND n.role = %s AND n.id > %s)
RETURNING id
"""

LAST_SEQ = "SELECT MAX(seq) FROM assist_suggestion WHERE conversation_id = %s"
