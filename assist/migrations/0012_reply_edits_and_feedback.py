"""Replies carry their pick and edit similarity; per-suggestion feedback (issue 18 items 1-2)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0011_conversation_started_at_known_db_default"),
    ]

    operations = [
        # How much of the inserted template a reply kept (assist/labels.py).
        migrations.AddField(
            model_name="message",
            name="edit_similarity",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("edit_similarity__isnull", True),
                    models.Q(
                        ("template__isnull", False),
                        ("edit_similarity__gte", 0),
                        ("edit_similarity__lte", 1),
                    ),
                    _connector="OR",
                ),
                name="edit_similarity_of_a_template",
            ),
        ),
        # The review metrics' covering index now carries the similarity too.
        migrations.RemoveIndex(
            model_name="message",
            name="message_templated_sent_at",
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("template__isnull", False)),
                fields=["sent_at"],
                include=(
                    "conversation",
                    "template",
                    "shown_suggestion",
                    "shown_model_version",
                    "shown_rank",
                    "selection_ms",
                    "edit_similarity",
                ),
                name="message_templated_sent_at",
            ),
        ),
        # "Not this one": a pick row with action "rejected", on one rank of a list.
        migrations.AlterField(
            model_name="pick",
            name="action",
            field=models.CharField(
                choices=[
                    ("inserted", "Inserted"),
                    ("sent", "Sent"),
                    ("dismissed", "Dismissed"),
                    ("rejected", "Rejected"),
                ],
                max_length=16,
            ),
        ),
        migrations.RemoveConstraint(
            model_name="pick",
            name="pick_action_valid",
        ),
        migrations.AddConstraint(
            model_name="pick",
            constraint=models.CheckConstraint(
                condition=models.Q(("action__in", ["inserted", "sent", "dismissed", "rejected"])),
                name="pick_action_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="pick",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("action", "rejected"), _negated=True),
                    ("rank__isnull", False),
                    _connector="OR",
                ),
                name="rejection_names_its_rank",
            ),
        ),
    ]
