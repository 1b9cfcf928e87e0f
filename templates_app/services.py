"""Every write to the catalog. Each change of a template's content stores a revision."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, QuerySet

from templates_app.catalog_csv import CatalogRow
from templates_app.models import ResponseTemplate, TemplateRevision
from templates_app.variants import catalog_rows_split, catalog_variants_import

# The fields a revision snapshots; everything an admin can edit.
CONTENT_FIELDS = ("title", "body", "category", "locale", "is_active")
# What restoring a revision brings back: its text. Whether the template is in use is today's
# decision (an admin's switch), not the old revision's.
RESTORED_FIELDS = ("title", "body", "category", "locale")
# Rows a statement reads or writes at a time: PostgreSQL takes at most 65,535 parameters a
# statement and SQLite fewer, and a catalog may have hundreds of thousands of rows.
IMPORT_BATCH = 1000

# Who made a change; None for changes made by no one signed in (a management command).
Editor = User | None


def _snapshot(template: ResponseTemplate, *, user: Editor, note: str = "") -> TemplateRevision:
    last = template.revisions.aggregate(last=Max("number"))["last"] or 0
    return TemplateRevision.objects.create(
        template=template,
        number=last + 1,
        changed_by=user,
        note=note[:200],
        **{field: getattr(template, field) for field in CONTENT_FIELDS},
    )


@transaction.atomic
def template_create(
    *,
    key: str,
    title: str,
    body: str,
    category: str = "",
    locale: str = "en",
    is_active: bool = True,
    user: Editor = None,
    note: str = "created",
) -> ResponseTemplate:
    template = ResponseTemplate(
        key=key,
        title=title,
        body=body,
        category=category,
        locale=locale,
        is_active=is_active,
        updated_by=user,
    )
    template.full_clean()
    template.save()
    _snapshot(template, user=user, note=note)
    return template


@transaction.atomic
def template_update(
    *, template: ResponseTemplate, user: Editor = None, note: str = "", **changes: Any
) -> ResponseTemplate:
    """Apply `changes` (a subset of CONTENT_FIELDS); a no-op change stores nothing."""
    unknown = set(changes) - set(CONTENT_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    # Lock the row so that two concurrent edits get consecutive revision numbers.
    locked = ResponseTemplate.objects.select_for_update().get(pk=template.pk)
    changed = [field for field, value in changes.items() if getattr(locked, field) != value]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, changes[field])
    locked.updated_by = user
    locked.full_clean()
    locked.save(update_fields=[*changed, "updated_by", "updated_at"])
    _snapshot(locked, user=user, note=note or f"changed {', '.join(changed)}")
    return locked


def template_restore_revision(*, revision: TemplateRevision, user: Editor) -> ResponseTemplate:
    """Make a past revision's text the current one again (not its active flag); the restore is
    itself a new revision."""
    return template_update(
        template=revision.template,
        user=user,
        note=f"restored revision {revision.number}",
        **{field: getattr(revision, field) for field in RESTORED_FIELDS},
    )


def templates_set_active(
    *, templates: QuerySet[ResponseTemplate], is_active: bool, user: Editor
) -> int:
    """Activate or deactivate many templates; returns how many changed."""
    changed = 0
    with transaction.atomic():
        for template in templates.exclude(is_active=is_active):
            template_update(template=template, user=user, is_active=is_active)
            changed += 1
    return changed


@dataclass(frozen=True)
class CatalogImportSummary:
    created: int
    updated: int
    unchanged: int


@transaction.atomic
def catalog_import(*, rows: list[CatalogRow], user: Editor = None) -> CatalogImportSummary:
    """Upsert parsed catalog rows by key, all or nothing.

    Templates that the file does not mention are left as they are: deactivating them is an
    explicit admin action, never a side effect of a partial file. So are the locale and active
    flag of a template whose row does not give them.

    The rows were validated by the parser (the model's field validators, keys unique in the
    file), so new templates and their first revisions are inserted in batches; the database's
    constraints still refuse anything else, and then nothing is imported.
    """
    keys = list(dict.fromkeys(row.key for row in rows))
    existing: dict[str, ResponseTemplate] = {}
    for start in range(0, len(keys), IMPORT_BATCH):
        batch = ResponseTemplate.objects.filter(key__in=keys[start : start + IMPORT_BATCH])
        existing.update((template.key, template) for template in batch)
    # A key's rows in other locales than its own are its variants (templates_app.variants).
    rows, variant_rows = catalog_rows_split(
        rows, {key: template.locale for key, template in existing.items()}
    )
    new: list[ResponseTemplate] = []
    updated = 0
    for row in rows:
        content: dict[str, Any] = {"title": row.title, "body": row.body, "category": row.category}
        if row.locale is not None:
            content["locale"] = row.locale
        if row.is_active is not None:
            content["is_active"] = row.is_active
        template = existing.get(row.key)
        if template is None:
            content.setdefault("locale", settings.DEFAULT_TEMPLATE_LOCALE)
            new.append(ResponseTemplate(key=row.key, updated_by=user, **content))
        elif any(getattr(template, field) != value for field, value in content.items()):
            template_update(template=template, user=user, note="imported", **content)
            updated += 1
    created = ResponseTemplate.objects.bulk_create(new, batch_size=IMPORT_BATCH)
    TemplateRevision.objects.bulk_create(
        [
            TemplateRevision(
                template=template,
                number=1,
                changed_by=user,
                note="imported",
                **{field: getattr(template, field) for field in CONTENT_FIELDS},
            )
            for template in created
        ],
        batch_size=IMPORT_BATCH,
    )
    # Counted with the templates: a summary counts rows.
    variants_created, variants_updated = catalog_variants_import(
        rows=variant_rows,
        templates={**existing, **{template.key: template for template in created}},
        user=user,
    )
    total = len(rows) + len(variant_rows)
    created_rows = len(created) + variants_created
    updated_rows = updated + variants_updated
    return CatalogImportSummary(
        created=created_rows, updated=updated_rows, unchanged=total - created_rows - updated_rows
    )
