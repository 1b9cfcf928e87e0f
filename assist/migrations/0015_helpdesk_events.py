"""Helpdesk webhook events, one row per event id (issue 19 item 5)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0014_conversation_language"),
    ]

    operations = [
        migrations.CreateModel(
            name="HelpdeskEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.CharField(max_length=200, unique=True)),
                ("type", models.CharField(max_length=32)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                (
                    "conversation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="helpdesk_events",
                        to="assist.conversation",
                    ),
                ),
            ],
        ),
    ]
