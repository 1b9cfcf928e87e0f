from django.contrib.auth.management import create_permissions
from django.db import migrations

# Catalog admins promote and roll back model versions in the admin (issue 7); versions come
# from training, so nobody adds or deletes them by hand.
CATALOG_ADMIN_PERMISSIONS = ["view_modelversion", "change_modelversion"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("assist")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="catalog_admin")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="assist", codename__in=CATALOG_ADMIN_PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="catalog_admin"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="assist", codename__in=CATALOG_ADMIN_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [("assist", "0005_experiments")]

    operations = [migrations.RunPython(grant, revoke)]
