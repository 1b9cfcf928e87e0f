"""`manage.py serve`: the ASGI server, plus Celery worker processes when REDIS_URL is set.

`make run` calls it. In embedded mode (no REDIS_URL) tasks run inside the server process, so
only the server starts. Ctrl-C stops everything it started.
"""

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the ASGI server (uvicorn) and, with REDIS_URL, the Celery workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("INFERENCE_WORKERS", "1")),
            help="Celery worker processes for the inference queue (REDIS_URL only)",
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        python = sys.executable
        processes = []
        if settings.REDIS_URL:
            processes.append(
                subprocess.Popen(
                    [
                        python, "-m", "celery", "-A", "config.celery_app", "worker",
                        "--queues", "inference,default",
                        "--concurrency", str(workers),
                        "--hostname", f"assist-{port}@%h",
                        "--loglevel", "INFO",
                    ]
                )
            )  # fmt: skip
            # Retraining gets its own single, niced worker and the beat scheduler, so a
            # training run never takes a process or a core share that rankings need.
            processes.append(
                subprocess.Popen(
                    [
                        "nice", "-n", "10", python, "-m", "celery", "-A", "config.celery_app",
                        "worker",
                        "--queues", "training", "--concurrency", "1",
                        "--hostname", f"assist-training-{port}@%h", "--loglevel", "INFO",
                    ]
                )
            )  # fmt: skip
            if settings.RETRAIN_EVERY_HOURS > 0:
                settings.MODELS_DIR.mkdir(parents=True, exist_ok=True)
                processes.append(
                    subprocess.Popen(
                        [python, "-m", "celery", "-A", "config.celery_app", "beat",
                         "--loglevel", "INFO",
                         "--schedule", str(settings.MODELS_DIR / "celerybeat-schedule")]
                    )
                )  # fmt: skip
        processes.append(
            subprocess.Popen(
                [python, "-m", "uvicorn", "config.asgi:application", "--host", host,
                 "--port", str(port), "--no-access-log"]
            )
        )  # fmt: skip
        mode = "Redis + Celery workers" if settings.REDIS_URL else "embedded mode"
        self.stdout.write(f"\nAgent assist ({mode}): http://{host}:{port}/")
        self.stdout.write(f"  agent panel:   http://{host}:{port}/panel/")
        if settings.DEMO_HELPDESK:
            self.stdout.write(
                f"  demo helpdesk: http://{host}:{port}/demo/helpdesk/  (agent: alice / alice-demo)"
            )
        self.stdout.write(f"  admin:         http://{host}:{port}/admin/\n")
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
