"""The Django benchmarks run from the checkout they live in, with Django set up.

Celery's Django fixup puts the working directory first on sys.path, so a benchmark started
from another directory would measure another checkout's modules (and the servers and workers
that devtools.processes starts from its ROOT). Each script calls `setup_django` before it
imports anything of the project's.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(settings_module: str, **environ: str) -> None:
    """This checkout first on sys.path and as the working directory, then django.setup().

    `settings_module` and `environ` are defaults: the caller's environment wins.
    """
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    for name, value in environ.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()
