"""`manage.py import_conversations FILE.jsonl`: import conversation logs, all or nothing."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.imports.conversations import conversations_import
from templates_app.import_errors import ImportRejected


class Command(BaseCommand):
    help = "Import conversations (JSONL, one a line); import the catalog first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"cannot read {file}: no such file")
        try:
            summary = conversations_import(path=file)
        except ImportRejected as rejected:
            raise rejected.command_error(file, self.stderr) from rejected
        self.stdout.write(
            f"{file}: {summary.created} conversations created ({summary.messages} messages), "
            f"{summary.skipped} already imported"
        )
        if summary.undated:
            # Not an error: logs often lack times. But retraining must know (train split only).
            self.stdout.write(
                f"{summary.undated} conversations have no 'started_at': stored at the import "
                "time and flagged as undated, so retraining uses them for training only, never "
                "for the time-ordered dev and test splits"
            )
