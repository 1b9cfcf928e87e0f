"""`manage.py seed_demo`: demo users, the demo catalog, generated demo conversations and four
weeks of assisted work on them (assist/demo/usage.py).

Idempotent: running it again changes nothing but resetting the demo passwords. The users have
published passwords, so it refuses to run without DEBUG unless given --force.
"""

import datetime as dt
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from assist.demo.generator import CATALOG_PATH, generate_conversations
from assist.demo.usage import write_usage
from assist.imports.conversations import conversations_import
from assist.roles import AGENT, CATALOG_ADMIN, SUPERVISOR
from templates_app.catalog_csv import parse_catalog_csv
from templates_app.services import catalog_import

# username, password, first name, last name, role (None: superuser), staff
DEMO_USERS = [
    ("alice", "alice-demo", "Alice", "Martin", AGENT, False),
    ("bob", "bob-demo", "Bob", "Okafor", AGENT, False),
    ("carol", "carol-demo", "Carol", "Nguyen", CATALOG_ADMIN, True),
    ("sam", "sam-demo", "Sam", "Keller", SUPERVISOR, True),
    ("admin", "admin-demo", "Ada", "Admin", None, True),
]
DEMO_AGENTS = [user[0] for user in DEMO_USERS if user[4] == AGENT]
OPEN_CONVERSATIONS_PER_AGENT = 4
VARIANTS_PATH = CATALOG_PATH.with_name("catalog_variants.csv")


def demo_logins() -> list[str]:
    return [
        f"{username} / {password}  ({role or 'superuser'})"
        for username, password, _, _, role, _ in DEMO_USERS
    ]


class Command(BaseCommand):
    help = "Create demo users, the demo catalog and demo conversations (local use only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, default=300)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (never in production)"
        )

    def handle(
        self, *args: Any, conversations: int, seed: int, force: bool, **options: Any
    ) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with published passwords: run it with the local settings "
                "(DJANGO_SETTINGS_MODULE=config.settings.local), "
                "or pass --force on a machine that is not production."
            )
        with transaction.atomic():
            self._users()
            with CATALOG_PATH.open(encoding="utf-8", newline="") as stream:
                catalog = catalog_import(rows=parse_catalog_csv(stream))
            # Spanish and German texts of the most used templates (a key's rows in other
            # locales are its variants: templates_app/catalog_csv.py).
            with VARIANTS_PATH.open(encoding="utf-8", newline="") as stream:
                variants = catalog_import(rows=parse_catalog_csv(stream))
        self.stdout.write(
            f"catalog: {catalog.created} created, {catalog.updated} updated, "
            f"{catalog.unchanged} unchanged; texts in other locales: {variants.created} created, "
            f"{variants.updated} updated, {variants.unchanged} unchanged"
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "demo.jsonl"
            self._write_conversations(path, conversations, seed)
            imported = conversations_import(path=path)
        self.stdout.write(
            f"conversations: {imported.created} created, {imported.skipped} already there"
        )
        # What the review pages show: lists, picks, edits and a finished experiment.
        usage = write_usage(seed=seed, now=timezone.now())
        self.stdout.write(
            f"usage: {usage.lists} suggestion lists and {usage.picks} picks over "
            f"{usage.conversations} conversations"
            if usage.conversations
            else "usage: already there"
        )
        self.stdout.write("Demo logins (local use only):")
        for line in demo_logins():
            self.stdout.write(f"  {line}")

    def _users(self) -> None:
        users = get_user_model().objects
        for username, password, first, last, role, staff in DEMO_USERS:
            user, _ = users.get_or_create(username=username)
            user.first_name, user.last_name, user.is_staff = first, last, staff
            user.is_superuser = role is None
            user.set_password(password)
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])

    def _write_conversations(self, path: Path, count: int, seed: int) -> None:
        """The generator's conversations, spread over 30 days and assigned to the agents."""
        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        records = generate_conversations(count, seed=seed)
        with path.open("w", encoding="utf-8") as out:
            for index, record in enumerate(records):
                agent = DEMO_AGENTS[index % len(DEMO_AGENTS)]
                is_open = index < OPEN_CONVERSATIONS_PER_AGENT * len(DEMO_AGENTS)
                started = now - (
                    dt.timedelta(minutes=rng.randint(1, 50))
                    if is_open
                    else dt.timedelta(days=rng.uniform(1, 30))
                )
                record = {
                    **record,
                    "agent": agent,
                    "status": "open" if is_open else "closed",
                    "started_at": started.isoformat(),
                }
                out.write(json.dumps(record) + "\n")
