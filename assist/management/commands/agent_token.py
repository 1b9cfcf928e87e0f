"""`manage.py agent_token USERNAME`: print a new token for an agent or a helpdesk's service
account (role integration), shown once, never stored."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.roles import AGENT, INTEGRATION, has_role
from assist.tokens import token_issue


class Command(BaseCommand):
    help = "Issue an API token for an agent or a service account (role integration); print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--label", default="command line")

    def handle(self, *args: Any, username: str, label: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        if not (has_role(user, AGENT) or has_role(user, INTEGRATION)):
            raise CommandError(f"{username!r} is neither an agent nor a service account")
        self.stdout.write(token_issue(user=user, label=label))
