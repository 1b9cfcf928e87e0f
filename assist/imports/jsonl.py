"""Reading the conversation interchange JSONL, one conversation a line.

    {"id": "...", "turns": [{"role": "customer", "text": "..."},
                            {"role": "agent", "text": "...", "template": "KEY" | null}]}

Optional fields the importer understands: `channel`, `customer_name`, `agent` (a username to
assign the conversation to), `status` (open/closed) and `started_at` (ISO 8601).
Parsing never touches the database; the caller passes what it needs to check against.
"""

import datetime as dt
import json
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime

from assist.errors import InvalidInput
from assist.wire import check_text

ROLES = ("customer", "agent", "system")
STATUSES = ("open", "closed")
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    template: str | None


@dataclass(frozen=True)
class ConversationRecord:
    line: int
    external_id: str
    channel: str
    customer_name: str
    agent: str | None
    status: str
    started_at: dt.datetime | None
    turns: tuple[Turn, ...]


class RecordError(ValueError):
    """One line's problem; the message is the reason shown beside its line number."""


def _string(obj: dict[str, Any], field: str, *, limit: int, default: str = "") -> str:
    value = obj.get(field, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise RecordError(f"'{field}' must be a string")
    if len(value) > limit:
        raise RecordError(f"'{field}' is longer than {limit} characters")
    return _storable(value, f"'{field}'")


def _storable(text: str, name: str) -> str:
    """`text`, or RecordError if the database cannot store it (a NUL, a lone surrogate)."""
    try:
        return check_text(text, name=name)
    except InvalidInput as error:
        raise RecordError(str(error)) from None


def _turn(index: int, raw: Any, *, template_keys: Container[str], max_chars: int) -> Turn:
    where = f"turn {index + 1}"
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: must be an object")
    role = raw.get("role")
    if role not in ROLES:
        raise RecordError(f"{where}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RecordError(f"{where}: missing or empty 'text'")
    if len(text) > max_chars:
        raise RecordError(f"{where}: text is longer than {max_chars} characters")
    _storable(text, f"{where}: text")
    template = raw.get("template")
    if template is not None:
        if role != "agent":
            raise RecordError(f"{where}: only agent turns may name a template")
        if not isinstance(template, str) or template not in template_keys:
            raise RecordError(f"{where}: template {template!r} is not in the catalog")
    return Turn(role=role, text=text, template=template)


def parse_record(
    line: int, text: str, *, template_keys: Container[str], max_chars: int
) -> ConversationRecord:
    """One JSONL line as a record, or RecordError with the reason."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"invalid JSON: {error.msg} at column {error.colno}") from error
    except RecursionError:
        raise RecordError("invalid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise RecordError("a line must be a JSON object")
    external_id = _string(obj, "id", limit=MAX_ID_CHARS).strip()
    if not external_id:
        raise RecordError("missing 'id'")
    turns = obj.get("turns")
    if not isinstance(turns, list) or not turns:
        raise RecordError("missing 'turns' (a non-empty list)")
    status = _string(obj, "status", limit=16, default="closed")
    if status not in STATUSES:
        raise RecordError(f"unknown status {status!r}")
    started_raw = _string(obj, "started_at", limit=64)
    started_at = None
    if started_raw:
        started_at = parse_datetime(started_raw)
        if started_at is None or started_at.tzinfo is None:
            raise RecordError("'started_at' must be an ISO 8601 time with a time zone")
    return ConversationRecord(
        line=line,
        external_id=external_id,
        channel=_string(obj, "channel", limit=32, default="import").strip() or "import",
        customer_name=_string(obj, "customer_name", limit=200),
        agent=_string(obj, "agent", limit=150) or None,
        status=status,
        started_at=started_at,
        turns=tuple(
            _turn(i, raw, template_keys=template_keys, max_chars=max_chars)
            for i, raw in enumerate(turns)
        ),
    )


def iter_records(
    lines: Iterable[str],
    *,
    template_keys: Container[str],
    max_chars: int,
    on_error: Callable[[int, str], None],
) -> Iterator[ConversationRecord]:
    """Stream the valid records; report each bad line (blank lines are skipped) to `on_error`.

    A UTF-8 byte order mark before the first line is dropped."""
    seen: dict[tuple[str, str], int] = {}
    for line, text in enumerate(lines, start=1):
        if line == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        try:
            record = parse_record(line, text, template_keys=template_keys, max_chars=max_chars)
        except RecordError as error:
            on_error(line, str(error))
            continue
        identity = (record.channel, record.external_id)
        if identity in seen:
            on_error(line, f"conversation id {record.external_id!r} repeats line {seen[identity]}")
            continue
        seen[identity] = line
        yield record
