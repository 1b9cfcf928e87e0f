"""The conversation's language (issue 22 item 2)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0013_model_artifacts"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="language",
            field=models.CharField(blank=True, db_default="", default="", max_length=16),
        ),
        migrations.AddField(
            model_name="conversation",
            name="language_source",
            field=models.CharField(
                blank=True,
                choices=[("detected", "Detected"), ("helpdesk", "Helpdesk"), ("agent", "Agent")],
                db_default="",
                default="",
                max_length=16,
            ),
        ),
    ]
