"""The conversation's language (issue 22 item 2)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0014_conversation_assignment"),
    ]

    operations: list[migrations.operations.base.Operation] = []
