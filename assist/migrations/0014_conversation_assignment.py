"""Conversation assignment from the helpdesk and closing (issue 19 item 5)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0013_model_artifacts"),
    ]

    operations: list[migrations.operations.base.Operation] = []
