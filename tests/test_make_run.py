"""What `make run` does, end to end: migrate, seed, serve the admin over a real ASGI server."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_embedded_defaults_serve_the_admin_with_the_demo_catalog(tmp_path):
    # Only what a fresh laptop has: no DATABASE_URL, no REDIS_URL; the settings `make run` uses.
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    python = [sys.executable, "manage.py"]
    subprocess.run([*python, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [*python, "seed_demo", "--conversations", "30"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert "carol / carol-demo" in seeded.stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.RequestException:  # not listening yet, or still starting up
                time.sleep(0.1)
        session = requests.Session()
        login = session.get(f"{base}/admin/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        session.post(
            f"{base}/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": "carol", "password": "carol-demo"},
            headers={"Referer": f"{base}/admin/login/"},
            timeout=5,
        )
        catalog = session.get(f"{base}/admin/templates_app/responsetemplate/", timeout=10)
        assert catalog.status_code == 200
        assert "greeting.standard" in catalog.text
        css = session.get(f"{base}/static/admin/css/base.css", timeout=5)
        assert css.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
