"""What any client input must be before a service sees it, for the socket and REST alike:
JSON that parses within bounds, text that PostgreSQL can store, ids that fit a bigint.

A malformed value is refused here with InvalidInput, so that it never reaches the database as
a DataError (or a UnicodeEncodeError in the driver) and never costs the client its socket.
"""

import json
import re
from typing import IO, Any

from assist.errors import InvalidInput

# PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate (JSON's "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A frame or request body is a flat object of scalars or short lists; deeper is not ours.
MAX_DEPTH = 8
# PostgreSQL's bigint: the widest id column.
MAX_ID = 2**63 - 1


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_loads(data: str | bytes | IO[Any]) -> Any:
    """Parse JSON, refusing NaN/Infinity, over-long numbers and deep nesting with one error."""
    try:
        if isinstance(data, str | bytes):
            value = json.loads(data, parse_constant=_no_constant)
        else:
            value = json.load(data, parse_constant=_no_constant)
    # ValueError: bad JSON, or an integer over Python's 4,300-digit limit; RecursionError:
    # nesting deeper than the interpreter's stack.
    except (ValueError, RecursionError) as error:
        detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)[:100]
        raise InvalidInput(f"not JSON: {detail or 'too deeply nested'}", code="bad_json") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """InvalidInput if any string (key or value) cannot be stored, an integer is out of the
    database's range, or the nesting is deeper than MAX_DEPTH."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput("the JSON is nested too deeply")
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -MAX_ID <= item <= MAX_ID:
                raise InvalidInput("a number is out of range")
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def check_text(text: str, *, name: str = "a string") -> str:
    if _UNSTORABLE.search(text):
        raise InvalidInput(f"{name} contains a NUL or an unpaired surrogate character")
    return text


def is_id(value: Any) -> bool:
    """A positive integer that fits an id column (bool is not an int here)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
