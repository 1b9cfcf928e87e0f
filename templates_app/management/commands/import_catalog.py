"""`manage.py import_catalog FILE.csv`: upsert the catalog from CSV, all or nothing."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from templates_app.catalog_csv import parse_catalog_bytes
from templates_app.import_errors import ImportRejected
from templates_app.services import catalog_import


class Command(BaseCommand):
    help = "Import response templates from a CSV file (key,title,body,category)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            summary = catalog_import(rows=parse_catalog_bytes(file.read_bytes()))
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error}") from error
        except ImportRejected as rejected:
            raise rejected.command_error(file, self.stderr) from rejected
        self.stdout.write(
            f"{file}: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged"
        )
