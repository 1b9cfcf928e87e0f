"""The three role groups and their model permissions.

The table is frozen here, as data migrations should be; a later change of what a role may do
is a new migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "agent": [
        "templates_app.view_responsetemplate",
        "assist.view_conversation",
        "assist.view_message",
        "assist.add_message",
        "assist.view_suggestion",
        "assist.add_pick",
    ],
    "catalog_admin": [
        "templates_app.add_responsetemplate",
        "templates_app.change_responsetemplate",
        "templates_app.view_responsetemplate",
        "templates_app.view_templaterevision",
        "assist.view_modelversion",
        "assist.change_modelversion",
    ],
    "supervisor": [
        "templates_app.view_responsetemplate",
        "templates_app.view_templaterevision",
        "assist.view_conversation",
        "assist.view_message",
        "assist.view_suggestion",
        "assist.view_pick",
        "assist.view_modelversion",
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations ran (post_migrate); make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("assist", "0001_initial"),
        ("templates_app", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
