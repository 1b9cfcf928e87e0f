"""Model versions as artifacts in shared storage with a checksum (issue 21 item 1).

Existing versions keep their local `path` and no artifact: workers load them from that path as
before (assist/serving/model_cache.py); versions registered from now on are artifacts.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0012_reply_edits_and_feedback"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterField(
            model_name="modelversion",
            name="path",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="artifact",
            field=models.CharField(blank=True, default="", max_length=500),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="modelversion",
            name="sha256",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="modelversion",
            name="artifact_errors",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
