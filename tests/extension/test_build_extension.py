"""`manage.py build_extension` and the manifest it packages; the node tests of the adapters."""

import json
import shutil
import zipfile

import pytest
from django.core.management import CommandError, call_command

from tests.extension.browser import EXTENSION


def test_builds_a_versioned_zip_of_the_extension(tmp_path):
    call_command("build_extension", out=str(tmp_path / "dist"), stdout=open("/dev/null", "w"))  # noqa: SIM115
    version = json.loads((EXTENSION / "manifest.json").read_text())["version"]
    target = tmp_path / "dist" / f"agent-assist-extension-{version}.zip"
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    expected = {p.relative_to(EXTENSION).as_posix() for p in EXTENSION.rglob("*") if p.is_file()}
    assert names == expected
    assert {"background.js", "content.js", "sidepanel.html", "options.html"} <= names
    assert manifest["manifest_version"] == 3
    # Host permissions: loopback only; anything else is asked for from the options page.
    assert manifest["host_permissions"] == ["http://127.0.0.1/*", "http://localhost/*"]
    for script in manifest["content_scripts"]:
        assert all(
            m.startswith(("http://127.0.0.1/", "http://localhost/")) for m in script["matches"]
        )
    assert manifest["side_panel"]["default_path"] in names
    for script in manifest["content_scripts"][0]["js"]:
        assert script in names
    # Same source, same bytes.
    first = target.read_bytes()
    call_command("build_extension", out=str(tmp_path / "dist"), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert target.read_bytes() == first


def test_refuses_a_manifest_without_a_valid_version(tmp_path):
    source = tmp_path / "ext"
    shutil.copytree(EXTENSION, source)
    manifest = json.loads((source / "manifest.json").read_text())
    (source / "manifest.json").write_text(json.dumps(manifest | {"version": "1.0-beta"}))
    with pytest.raises(CommandError, match="no valid version"):
        call_command("build_extension", out=str(tmp_path / "dist"), source=str(source))
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())
