"""The deployment recipe (Dockerfile, compose.yaml, deploy/nginx.conf) checked without a
container engine: hadolint on the Dockerfile, and the compose file read as data against the
Procfile, which is the one list of production roles."""

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def procfile_roles() -> dict[str, list[str]]:
    roles = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            name, command = line.split(":", 1)
            roles[name.strip()] = shlex.split(command)
    return roles


def normalised(argv: list[str]) -> list[str]:
    """A command with its ${VAR:-default} parameters reduced to the variable name, so that the
    Procfile's and compose's spellings of the same command compare equal."""
    return [re.sub(r"\$\{(\w+)(?::?-[^}]*)?\}", r"$\1", arg) for arg in argv]


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(ROOT / ".venv" / "bin" / "hadolint"))
    result = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_installs_the_pinned_cpu_torch_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pin = re.search(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pin is not None
    assert f"download.pytorch.org/whl/cpu torch=={pin.group(1)}" in dockerfile
    assert "-r requirements.txt -c requirements.txt" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_every_procfile_role_runs_in_compose_with_the_same_command() -> None:
    services = compose()["services"]
    by_command = {tuple(normalised(s.get("command", []))): name for name, s in services.items()}
    for role, argv in procfile_roles().items():
        if role == "web":
            # compose's web servers sit behind the proxy and trust its forwarded headers.
            argv = [a for a in argv if a not in {"--port", "${PORT:-8000}"}]
            matches = [
                name
                for name, s in services.items()
                if name.startswith("web")
                and all(a in s["command"] for a in argv if not a.startswith("${"))
            ]
            assert len(matches) == 2, f"two web servers expected, found {matches}"
            continue
        if role == "beat":
            # The Procfile's --schedule file is celery's local default; compose's beat keeps
            # its schedule where the scheduler setting says (one per deployment).
            argv = argv[: argv.index("--schedule")] if "--schedule" in argv else argv
            found = [n for n, s in services.items() if s.get("command", [])[: len(argv)] == argv]
            assert found == ["beat"], f"exactly one beat expected, found {found}"
            continue
        key = tuple(normalised(argv))
        assert key in by_command, f"Procfile role {role!r} has no compose service: {argv}"


def test_two_inference_workers_and_a_training_worker() -> None:
    services = compose()["services"]
    queues = [
        s["command"][s["command"].index("--queues") + 1]
        for s in services.values()
        if "--queues" in s.get("command", [])
    ]
    assert sorted(queues) == ["inference,default", "inference,default", "training"]


def test_long_running_services_have_health_checks_and_start_after_migrate() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if name in {"migrate", "beat"}:
            continue
        assert "healthcheck" in service, f"{name} has no health check"
    for name in ("web1", "web2", "worker1", "worker2", "training-worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_secrets_come_from_the_environment_with_no_default() -> None:
    text = (ROOT / "compose.yaml").read_text()
    assert "${SECRET_KEY:?" in text and "${POSTGRES_PASSWORD:?" in text
    env = compose()["services"]["web1"]["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_the_proxy_upgrades_websockets_and_balances_both_web_servers() -> None:
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"server web1:8000", nginx) and re.search(r"server web2:8000", nginx)
    websocket = nginx[nginx.index("location /ws/") :]
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket
    assert "proxy_set_header Connection $connection_upgrade;" in websocket
    mount = compose()["services"]["proxy"]["volumes"][0]
    assert mount.startswith("./deploy/nginx.conf:")
