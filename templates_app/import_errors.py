"""The error shape shared by every importer: each bad row with its line number and reason."""

from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import CommandError, OutputWrapper

# Enough to fix a file in one go without flooding a terminal with a wholly wrong file.
MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportRejected(Exception):
    """Raised before anything is written when any row of an import is bad."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))

    def command_error(self, file: Path, stderr: OutputWrapper) -> CommandError:
        """For an import command: every bad row on `stderr`, then the error to raise."""
        for error in self.errors:
            stderr.write(f"{file}: {error}")
        return CommandError("nothing was imported")
