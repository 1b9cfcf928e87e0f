"""`make run` / `manage.py serve` refuse DEBUG against a database on another machine (DEBUG
pages show settings and SQL; the demo seeds users with published passwords) unless told the
database holds no real data. `make run` runs the same check (`serve --preflight`) first."""

import copy
import io
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.live import ROOT

# Only the settings the command reads change here; no test touches the database.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


def database_on(host: str) -> dict:
    databases = copy.deepcopy(settings.DATABASES)
    databases["default"].update(ENGINE="django.db.backends.postgresql", HOST=host)
    return databases


@pytest.mark.parametrize("host", ["db.example.com", "10.0.0.5"])
def test_debug_with_a_remote_database_is_refused(host):
    refused = pytest.raises(CommandError, match=f"database is on {host}")
    with override_settings(DEBUG=True, DATABASES=database_on(host)), refused:
        call_command("serve", "--preflight")


@pytest.mark.parametrize("host", ["", "127.0.0.1", "localhost", "::1", "/var/run/postgresql"])
def test_debug_with_a_local_database_starts(host):
    with override_settings(DEBUG=True, DATABASES=database_on(host)):
        call_command("serve", "--preflight", stdout=io.StringIO())


def test_told_otherwise_or_without_debug_it_starts(monkeypatch):
    remote = database_on("db.example.com")
    with override_settings(DEBUG=True, DATABASES=remote):
        call_command("serve", "--preflight", "--allow-debug-remote-database")
    with override_settings(DEBUG=False, DATABASES=remote):
        call_command("serve", "--preflight")


def test_the_environment_can_allow_it_too(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": "postgres://u@db.example.com:5432/assist",
        "DEBUG": "1",
    }
    command = [sys.executable, "manage.py", "serve", "--preflight"]
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "ALLOW_DEBUG_REMOTE_DATABASE=1" in refused.stderr
    allowed = subprocess.run(
        command, cwd=ROOT, env={**env, "ALLOW_DEBUG_REMOTE_DATABASE": "1"}, capture_output=True
    )
    assert allowed.returncode == 0, allowed.stderr
