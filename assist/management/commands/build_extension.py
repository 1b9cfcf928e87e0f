"""`manage.py build_extension --out dist`: the browser extension as a versioned zip.

The zip holds static/extension/ as it is (load it unpacked from there while developing) and is
named after the version in its manifest.json: dist/agent-assist-extension-<version>.zip.
"""

import argparse
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

SOURCE = Path(settings.BASE_DIR) / "static" / "extension"
VERSION = re.compile(r"^\d+(\.\d+){0,3}$")  # what Chrome accepts in "version"
# Editor and OS droppings never belong in the package.
SKIP = re.compile(r"(^|/)(\.[^/]*|__pycache__|.*~|.*\.swp)$")
# Fixed timestamps, so that the same source gives the same bytes.
EPOCH = (1980, 1, 1, 0, 0, 0)


def extension_version(source: Path) -> str:
    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(f"cannot read {source / 'manifest.json'}: {error}") from error
    if manifest.get("manifest_version") != 3:
        raise CommandError("manifest.json must say manifest_version 3")
    version = str(manifest.get("version", ""))
    if not VERSION.match(version):
        raise CommandError(f"manifest.json has no valid version: {version!r}")
    return version


def build(source: Path, out: Path) -> Path:
    version = extension_version(source)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"agent-assist-extension-{version}.zip"
    files = sorted(
        path
        for path in source.rglob("*")
        if path.is_file() and not SKIP.search(path.relative_to(source).as_posix())
    )
    partial = target.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    partial.replace(target)  # never a half-written zip under the real name
    return target


class Command(BaseCommand):
    help = "Zip static/extension into OUT/agent-assist-extension-<version>.zip."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="dist", help="output folder (default: dist)")
        parser.add_argument("--source", default=str(SOURCE), help=argparse.SUPPRESS)

    def handle(self, *args: Any, out: str, source: str, **options: Any) -> None:
        target = build(Path(source), Path(out))
        self.stdout.write(str(target))
