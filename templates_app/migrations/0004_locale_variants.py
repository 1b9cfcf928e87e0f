"""One text per locale for each template key (issue 22 item 1).

TemplateVariant and VariantRevision, and the catalog-version triggers of migration 0002 on the
variants' table too: a variant written anywhere moves the version, so serving caches refresh.
Catalog admins edit variants as they edit templates; every role that sees templates sees them.
"""

from django.contrib.auth.management import create_permissions

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import templates_app.models
import templates_app.placeholders

TABLE = "templates_app_templatevariant"
BUMP = "UPDATE templates_app_catalogversion SET version = version + 1 WHERE id = 1"
# SQLite has no statement-level triggers: a bump per row written is as good.
SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


ROLE_PERMISSIONS = {
    "catalog_admin": [
        "add_templatevariant",
        "change_templatevariant",
        "delete_templatevariant",
        "view_templatevariant",
        "view_variantrevision",
    ],
    "supervisor": ["view_templatevariant", "view_variantrevision"],
    "agent": ["view_templatevariant"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("templates_app")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="templates_app", codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="templates_app",
                codename__in=ROLE_PERMISSIONS[group.name],
            )
        )


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # The function migration 0002 made for the templates' table.
        schema_editor.execute(
            f"CREATE TRIGGER templates_app_variant_changed "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION templates_app_catalog_bump()"
        )
    elif vendor == "sqlite":
        for event in SQLITE_EVENTS:
            schema_editor.execute(
                f"CREATE TRIGGER templates_app_variant_{event.lower()} AFTER {event} ON {TABLE} "
                f"BEGIN {BUMP}; END"
            )
    else:
        raise NotImplementedError(f"no catalog-version triggers for {vendor}")


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER templates_app_variant_changed ON {TABLE}")
    else:
        for event in SQLITE_EVENTS:
            schema_editor.execute(f"DROP TRIGGER templates_app_variant_{event.lower()}")


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0003_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="TemplateVariant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "locale",
                    models.CharField(
                        max_length=16, validators=[templates_app.models.validate_locale]
                    ),
                ),
                ("title", models.CharField(max_length=255)),
                (
                    "body",
                    models.TextField(validators=[templates_app.placeholders.validate_placeholders]),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variants",
                        to="templates_app.responsetemplate",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["template", "locale"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("template", "locale"), name="one_variant_per_locale"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("title__length__gt", 0)),
                        name="variant_title_set",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("body", ""), _negated=True), name="variant_body_set"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="VariantRevision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("locale", models.CharField(max_length=16)),
                ("number", models.PositiveIntegerField()),
                ("title", models.CharField(max_length=255)),
                ("body", models.TextField()),
                ("deleted", models.BooleanField(default=False)),
                ("changed_at", models.DateTimeField(auto_now_add=True)),
                ("note", models.CharField(blank=True, max_length=200)),
                (
                    "changed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="variant_revisions",
                        to="templates_app.responsetemplate",
                    ),
                ),
            ],
            options={
                "ordering": ["template", "locale", "-number"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("template", "locale", "number"),
                        name="one_variant_revision_number",
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(grant, revoke),
    ]
