"""One text per locale for each template key (issue 22 item 1)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0003_search"),
    ]

    operations: list[migrations.operations.base.Operation] = []
