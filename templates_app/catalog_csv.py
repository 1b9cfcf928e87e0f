"""Reading and writing the catalog interchange CSV: columns key,title,body,category.

Optional columns `locale` and `active` (1/0, true/false) round-trip what the admin shows; a
file without one of them (or a row with the cell empty) leaves that field of an existing
template as it is, and a new template gets the default (`en`, active). Parsing validates every
row with the model's own field validators and reports all bad rows at once, each with its line;
it never touches the database.

One row per key and locale: a key's row in its own locale (or with no locale) is its own text;
its rows in other locales are its variants (templates_app.variants), whose `category` and
`active` cells are left empty (the key's own row says those). A new key's own text is its row
in DEFAULT_TEMPLATE_LOCALE, or else its first row. `write_catalog_csv(..., variants=True)`
writes the variants after each key's own row; without it (the ranker's training catalog) one
row per key.

Exported cells that a spreadsheet would run as a formula get a leading `'`, which the importer
takes off again, so an export re-imports unchanged.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError

from templates_app.import_errors import MAX_REPORTED_ERRORS, ImportRejected, RowError
from templates_app.models import ResponseTemplate

REQUIRED_COLUMNS = ("key", "title", "body", "category")
OPTIONAL_COLUMNS = ("locale", "active")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection,
# https://owasp.org/www-community/attacks/CSV_Injection); a leading ' makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


@dataclass(frozen=True)
class CatalogRow:
    line: int
    key: str
    title: str
    body: str
    category: str
    # None: not in the file, so the import leaves the template's value alone.
    locale: str | None = None
    is_active: bool | None = None


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: `'` before a formula's first character."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _from_spreadsheet_safe(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def _row_errors(row: CatalogRow) -> list[str]:
    candidate = ResponseTemplate(
        key=row.key,
        title=row.title,
        body=row.body,
        category=row.category,
        locale="en" if row.locale is None else row.locale,
    )
    try:
        candidate.clean_fields(exclude=["updated_by"])
    except ValidationError as error:
        return [
            f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return []


def decode_catalog(data: bytes) -> str:
    """The file's text (a UTF-8 byte order mark dropped), or ImportRejected naming the line of
    the first byte that is not UTF-8 (an encoded surrogate included)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportRejected([RowError(line, f"not UTF-8 text ({error.reason})")]) from error


def parse_catalog_bytes(data: bytes) -> list[CatalogRow]:
    """parse_catalog_csv over a whole file's bytes."""
    return parse_catalog_csv(io.StringIO(decode_catalog(data), newline=""))


def parse_catalog_csv(stream: IO[str]) -> list[CatalogRow]:
    """All rows of a catalog CSV, or ImportRejected naming every bad row's line."""
    # strict: a quoted field still open at the end of the file (a truncated last line) is an
    # error, not a value.
    reader = csv.DictReader(stream, strict=True)
    errors: list[RowError] = []
    try:
        header = reader.fieldnames or []
    except (csv.Error, UnicodeDecodeError) as error:
        raise ImportRejected([RowError(1, f"unreadable header: {error}")]) from error
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ImportRejected([RowError(1, f"missing column(s): {', '.join(missing)}")])

    rows: list[CatalogRow] = []
    seen: dict[tuple[str, str | None], int] = {}
    line = reader.line_num
    while len(errors) < MAX_REPORTED_ERRORS:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as error:
            errors.append(RowError(start, f"unreadable row: {error}"))
            break
        line = reader.line_num
        if None in record:
            errors.append(RowError(start, "more fields than columns in the header"))
            continue
        if None in record.values():
            # A row cut short, such as the last line of a truncated file.
            errors.append(RowError(start, "fewer fields than columns in the header"))
            continue
        values = {name: _from_spreadsheet_safe((record.get(name) or "").strip()) for name in header}
        if any("\x00" in value for value in values.values()):
            # PostgreSQL text cannot hold NUL.
            errors.append(RowError(start, "contains a NUL character"))
            continue
        active = values.get("active", "")
        if active and active.lower() not in _TRUE | _FALSE:
            errors.append(RowError(start, f"active: '{active}' is not 1/0 or true/false"))
            continue
        row = CatalogRow(
            line=start,
            key=values["key"],
            title=values["title"],
            body=values["body"],
            category=values["category"],
            locale=values.get("locale") or None,
            is_active=active.lower() in _TRUE if active else None,
        )
        problems = _row_errors(row)
        if (row.key, row.locale) in seen:
            where = f" in locale {row.locale}" if row.locale else ""
            problems.append(f"key '{row.key}'{where} repeats line {seen[(row.key, row.locale)]}")
        seen.setdefault((row.key, row.locale), start)
        errors.extend(RowError(start, problem) for problem in problems)
        rows.append(row)
    if errors:
        raise ImportRejected(errors[:MAX_REPORTED_ERRORS])
    return rows


def write_catalog_csv(
    templates: Iterable[ResponseTemplate], stream: IO[str], *, variants: bool = False
) -> None:
    """One row per template; with `variants`, each followed by its variants' rows (the
    templates should come with `prefetch_related("variants")`)."""
    writer = csv.writer(stream)
    writer.writerow([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
    for template in templates:
        cells: list[Any] = [
            template.key,
            template.title,
            template.body,
            template.category,
            template.locale,
            int(template.is_active),
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
        if variants:
            for variant in sorted(template.variants.all(), key=lambda v: v.locale):
                cells = [template.key, variant.title, variant.body, "", variant.locale, ""]
                writer.writerow([spreadsheet_safe(cell) for cell in cells])


def catalog_csv_text(templates: Iterable[ResponseTemplate], *, variants: bool = False) -> str:
    buffer = io.StringIO()
    write_catalog_csv(templates, buffer, variants=variants)
    return buffer.getvalue()
