"""Every write to the catalog. Each change of a template's content stores a revision."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, QuerySet

from templates_app.catalog_csv import CatalogRow
from templates_app.models import ResponseTemplate, TemplateRevision

# The fields a revision snapshots; everything an admin can edit.
CONTENT_FIELDS = ("title", "body", "category", "locale", "is_active")

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
    """Make a past revision the current text again; the restore is itself a new revision."""
    return template_update(
        template=revision.template,
        user=user,
        note=f"restored revision {revision.number}",
        **{field: getattr(revision, field) for field in CONTENT_FIELDS},
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
    explicit admin action, never a side effect of a partial file.
    """
    existing = {
        template.key: template
        for template in ResponseTemplate.objects.filter(key__in=[row.key for row in rows])
    }
    created = updated = 0
    for row in rows:
        content: dict[str, Any] = {
            "title": row.title,
            "body": row.body,
            "category": row.category,
            "locale": row.locale,
            "is_active": row.is_active,
        }
        template = existing.get(row.key)
        if template is None:
            template_create(key=row.key, user=user, note="imported", **content)
            created += 1
        elif any(getattr(template, field) != value for field, value in content.items()):
            template_update(template=template, user=user, note="imported", **content)
            updated += 1
    return CatalogImportSummary(
        created=created, updated=updated, unchanged=len(rows) - created - updated
    )
