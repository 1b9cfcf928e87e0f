"""`manage.py serve`: the ASGI server, plus Celery worker processes when REDIS_URL is set, all
under supervisord.

`make run` calls it. In embedded mode (no REDIS_URL) tasks run inside the server process, so
only the server starts. The command writes a supervisord configuration for this machine's
processes and becomes supervisord: a process that dies is started again (at once after a
crash, then with a delay growing by a second per failed start), and no process is ever stopped
because another one died. Ctrl-C or SIGTERM stops everything it started. The production roles,
one process each, are in the Procfile (docs/architecture.md#processes).
"""

import fcntl
import os
import shlex
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.settings.base import env_bool

# supervisord's restart policy (http://supervisord.org/configuration.html#program-x-section-values).
# A process that exits after STARTSECS of running is restarted at once; one that dies sooner
# counts as a failed start and waits 1 s, 2 s, 3 s, ... before the next, for STARTRETRIES tries
# (about an hour and a half), after which supervisord logs it as FATAL and leaves it.
STARTSECS = 5
STARTRETRIES = 100
# What a process gets between SIGTERM and SIGKILL on the way down: a Celery worker's warm
# shutdown finishes the task it runs.
STOPWAITSECS = 15


def uvicorn_limits() -> list[str]:
    """uvicorn's own bounds on what a client may send, for every way the product starts it.

    A WebSocket frame over WS_MAX_FRAME_BYTES is refused by the server (close 1009) as its
    header arrives, before the payload is read into memory: the consumer's own size check
    would come only after uvicorn had buffered the whole frame (16 MB by default).
    """
    return ["--ws-max-size", str(settings.WS_MAX_FRAME_BYTES)]


class Command(BaseCommand):
    help = "Run the ASGI server (uvicorn) and, with REDIS_URL, the Celery workers, supervised."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("INFERENCE_WORKERS", "1")),
            help="Celery worker processes for the inference queue (REDIS_URL only)",
        )
        parser.add_argument(
            "--allow-debug-remote-database",
            action="store_true",
            default=env_bool("ALLOW_DEBUG_REMOTE_DATABASE", False),
            help="start with DEBUG on although the database is not on this machine",
        )
        parser.add_argument(
            "--preflight",
            action="store_true",
            help="only check that it is safe to start, then exit (`make run` does, before it "
            "migrates and seeds the demo)",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        workers: int,
        allow_debug_remote_database: bool,
        preflight: bool,
        **options: Any,
    ) -> None:
        if settings.DEBUG and not allow_debug_remote_database:
            remote = remote_database_host()
            if remote:
                # DEBUG pages show settings and SQL to anyone who triggers an error, and the
                # demo seeds users whose passwords are published: never against real data.
                raise CommandError(
                    f"DEBUG is on and the database is on {remote}, not this machine. Turn DEBUG "
                    "off (DEBUG=0, or the production settings), or, if this database holds no "
                    "real data, set ALLOW_DEBUG_REMOTE_DATABASE=1 (or pass "
                    "--allow-debug-remote-database)."
                )
        if preflight:
            return
        python = sys.executable
        # The roles of the Procfile, by the same names.
        programs: dict[str, list[str]] = {}
        programs["web"] = [
            python, "-m", "uvicorn", "config.asgi:application", "--host", host,
            "--port", str(port), "--no-access-log", *uvicorn_limits(),
        ]  # fmt: skip
        if settings.REDIS_URL:
            programs["worker"] = [
                python, "-m", "celery", "-A", "config.celery_app", "worker",
                "--queues", "inference,default",
                "--concurrency", str(workers),
                "--hostname", f"assist-{port}@%h",
                "--loglevel", "INFO",
            ]  # fmt: skip
            # Retraining gets its own single, niced worker and the beat scheduler, so a
            # training run never takes a process or a core share that rankings need.
            programs["training-worker"] = [
                "nice", "-n", "10", python, "-m", "celery", "-A", "config.celery_app",
                "worker",
                "--queues", "training", "--concurrency", "1",
                "--hostname", f"assist-training-{port}@%h", "--loglevel", "INFO",
            ]  # fmt: skip
            if settings.RETRAIN_EVERY_HOURS > 0:
                # Every host may start one: RedBeat's lock in Redis lets one of them dispatch
                # and keeps the others waiting (config/settings/base.py).
                programs["beat"] = [
                    python, "-m", "celery", "-A", "config.celery_app", "beat",
                    "--loglevel", "INFO",
                ]  # fmt: skip

        # One folder per port, rewritten at every start, so that two servers on one machine
        # do not share a pid file and runs do not pile up configuration files.
        workdir = Path(tempfile.gettempdir()) / f"assist-serve-{port}"
        workdir.mkdir(exist_ok=True)
        config = workdir / "supervisord.conf"
        config.write_text(supervisord_config(programs, workdir=workdir))

        mode = "Redis + Celery workers" if settings.REDIS_URL else "embedded mode"
        self.stdout.write(f"\nAgent assist ({mode}): http://{host}:{port}/")
        self.stdout.write(f"  agent panel:   http://{host}:{port}/panel/")
        if settings.DEMO_HELPDESK:
            self.stdout.write(
                f"  demo helpdesk: http://{host}:{port}/demo/helpdesk/  (agent: alice / alice-demo)"
            )
        self.stdout.write(f"  admin:         http://{host}:{port}/admin/")
        self.stdout.write(f"  processes:     {', '.join(programs)} (supervisord, {config})\n")
        self.stdout.flush()
        sys.stdout.flush()
        # supervisord writes its processes' output to /dev/stdout opened anew (appending) and
        # its own lines to the inherited descriptor: on a file opened without O_APPEND
        # (`serve > log`) these would overwrite those.
        if stat.S_ISREG(os.fstat(1).st_mode):
            fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_APPEND)
        # Become supervisord (same pid): whoever started `serve` signals the supervisor itself,
        # and it stops its processes before it exits.
        os.execv(
            python,
            [python, "-m", "supervisor.supervisord", "--nodaemon", "--configuration", str(config)],
        )


LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}


def remote_database_host() -> str | None:
    """The default database's host when it is not on this machine (SQLite, a loopback address
    or a Unix socket are); None otherwise."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return None
    host = str(database.get("HOST") or "")
    if host in LOCAL_HOSTS or host.startswith("/") or host.startswith("127."):
        return None
    return host


def supervisord_config(programs: dict[str, list[str]], *, workdir: Path) -> str:
    """A supervisord configuration running each command as a program of that name, its output
    on supervisord's standard output."""
    sections = [
        "[supervisord]",
        "nodaemon=true",
        # In the foreground supervisord also logs to its standard output; no log file.
        "logfile=/dev/null",
        "logfile_maxbytes=0",
        f"pidfile={workdir / 'supervisord.pid'}",
        "",
    ]
    for name, command in programs.items():
        # supervisord expands %(name)s in its values: a literal % (Celery's %h) is written %%.
        line = shlex.join(command).replace("%", "%%")
        sections += [
            f"[program:{name}]",
            f"command={line}",
            f"directory={settings.BASE_DIR}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={STARTSECS}",
            f"startretries={STARTRETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOPWAITSECS}",
            # A Celery worker's pool processes go down with it.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "",
        ]
    return "\n".join(sections)
