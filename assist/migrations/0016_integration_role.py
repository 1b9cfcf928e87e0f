"""The integration role: a helpdesk's service account (issue 19 item 5).

Its model permissions only matter in the admin, which a service account (not staff) never
reaches; the API decides by role (assist/access.py). Frozen here, as in 0002.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE = "integration"
PERMISSIONS = [
    "assist.view_conversation",
    "assist.add_conversation",
    "assist.change_conversation",
    "assist.view_message",
    "assist.add_message",
]


def create_group(apps, schema_editor):
    # Permissions are normally made after all migrations ran (post_migrate); make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ROLE)
    for name in PERMISSIONS:
        app_label, codename = name.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ROLE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0015_helpdesk_events"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
