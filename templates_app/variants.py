"""A template key's texts per locale: writes (with their revisions) and the choice of text.

A key's own title and body are its text in its own `locale`, the deployment's
DEFAULT_TEMPLATE_LOCALE unless set otherwise; a TemplateVariant holds its text in another
locale. Serving asks `template_text(template, variants, locale)` for the text in the
conversation's language, and gets the key's own text, marked as a fallback, where no variant
exists. Every write stores a VariantRevision (a removal too), like templates_app.services does
for the key's own text.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from templates_app.catalog_csv import CatalogRow
from templates_app.import_errors import MAX_REPORTED_ERRORS, ImportRejected, RowError
from templates_app.models import ResponseTemplate, TemplateVariant, VariantRevision

# Who made a change; None for changes made by no one signed in (a management command).
Editor = User | None


def _revision(
    variant: TemplateVariant, *, user: Editor, note: str, deleted: bool = False
) -> VariantRevision:
    last = VariantRevision.objects.filter(
        template_id=variant.template_id, locale=variant.locale
    ).aggregate(last=Max("number"))["last"]
    return VariantRevision.objects.create(
        template_id=variant.template_id,
        locale=variant.locale,
        number=(last or 0) + 1,
        title=variant.title,
        body=variant.body,
        deleted=deleted,
        changed_by=user,
        note=note[:200],
    )


@transaction.atomic
def variant_save(
    *,
    template: ResponseTemplate,
    locale: str,
    title: str,
    body: str,
    user: Editor = None,
    note: str = "",
) -> tuple[TemplateVariant, bool]:
    """Create or change the key's text in `locale`; returns (variant, changed).

    The key's own locale is refused: that text is the template's own title and body. An
    unchanged text stores nothing.
    """
    if locale == template.locale:
        raise ValidationError(
            {"locale": f"{locale} is the template's own locale: edit its title and body."}
        )
    # Lock the key so that concurrent edits of its variants get consecutive revision numbers.
    ResponseTemplate.objects.select_for_update().filter(pk=template.pk).first()
    variant = TemplateVariant.objects.filter(template=template, locale=locale).first()
    if variant is None:
        variant = TemplateVariant(template=template, locale=locale, title=title, body=body)
        variant.updated_by = user
        variant.full_clean()
        variant.save()
        _revision(variant, user=user, note=note or "created")
        return variant, True
    if (variant.title, variant.body) == (title, body):
        return variant, False
    variant.title, variant.body = title, body
    variant.updated_by = user
    variant.full_clean()
    variant.save(update_fields=["title", "body", "updated_by", "updated_at"])
    _revision(variant, user=user, note=note or "changed")
    return variant, True


@transaction.atomic
def variant_delete(*, variant: TemplateVariant, user: Editor = None) -> None:
    """Remove a variant; its history stays, ending in a `deleted` revision."""
    _revision(variant, user=user, note="deleted", deleted=True)
    variant.delete()


def missing_locales(template: ResponseTemplate, variant_locales: set[str]) -> list[str]:
    """The deployment's TEMPLATE_LOCALES that the key has no text in."""
    have = {template.locale, *variant_locales}
    return [locale for locale in settings.TEMPLATE_LOCALES if locale not in have]


@dataclass(frozen=True)
class TemplateText:
    """The text an agent gets for a key: in `locale`, or the key's own (`fallback`)."""

    title: str
    body: str
    locale: str
    fallback: bool


def template_text(
    template: ResponseTemplate,
    variants: Mapping[str, tuple[str, str]],
    locale: str,
) -> TemplateText:
    """The key's text in `locale` (`variants`: locale -> (title, body) of this key); its own
    text, marked as a fallback, where it has none. Blank `locale` (not known): its own text."""
    if locale and locale != template.locale:
        found = variants.get(locale) or variants.get(locale.split("-")[0])
        if found is not None:
            return TemplateText(title=found[0], body=found[1], locale=locale, fallback=False)
        return TemplateText(
            title=template.title, body=template.body, locale=template.locale, fallback=True
        )
    return TemplateText(
        title=template.title, body=template.body, locale=template.locale, fallback=False
    )


def variants_by_key(keys: list[str], locale: str) -> dict[str, dict[str, tuple[str, str]]]:
    """key -> {locale: (title, body)} for these keys' variants in `locale` (one query; none
    for a blank locale)."""
    if not locale:
        return {}
    found: dict[str, dict[str, tuple[str, str]]] = {}
    rows = TemplateVariant.objects.filter(
        template__key__in=keys, locale__in={locale, locale.split("-")[0]}
    ).values_list("template__key", "locale", "title", "body")
    for key, variant_locale, title, body in rows:
        found.setdefault(key, {})[variant_locale] = (title, body)
    return found


def catalog_rows_split(
    rows: list[CatalogRow], locales: Mapping[str, str]
) -> tuple[list[CatalogRow], list[CatalogRow]]:
    """A catalog file's rows as (the keys' own texts, their variants), or ImportRejected.

    `locales`: the own locale of each key that exists already. A key's row in that locale, or
    with none, is its own text; a new key's is its row in DEFAULT_TEMPLATE_LOCALE (or with
    none), else its first. Every other row is a variant, checked here as the model would.
    """
    default = settings.DEFAULT_TEMPLATE_LOCALE
    by_key: dict[str, list[CatalogRow]] = {}
    for row in rows:
        by_key.setdefault(row.key, []).append(row)
    own: list[CatalogRow] = []
    variants: list[CatalogRow] = []
    errors: list[RowError] = []
    for key, key_rows in by_key.items():
        own_locale = locales.get(key)
        if own_locale is None:
            own_locale = default
            if not any(row.locale in (None, default) for row in key_rows):
                own_locale = key_rows[0].locale or default
        own_rows = [row for row in key_rows if row.locale in (None, own_locale)]
        if len(own_rows) > 1:
            lines = " and ".join(str(row.line) for row in own_rows)
            errors.append(
                RowError(
                    own_rows[1].line,
                    f"key '{key}' has two rows for its own text ({own_locale}): lines {lines}",
                )
            )
        own.extend(own_rows[:1])
        for row in key_rows:
            if row in own_rows:
                continue
            candidate = TemplateVariant(locale=row.locale or "", title=row.title, body=row.body)
            try:
                candidate.clean_fields(exclude=["template", "updated_by"])
            except ValidationError as error:
                errors.extend(
                    RowError(row.line, f"{field}: {message}")
                    for field, messages in error.message_dict.items()
                    for message in messages
                )
                continue
            variants.append(row)
    if errors:
        raise ImportRejected(sorted(errors, key=lambda error: error.line)[:MAX_REPORTED_ERRORS])
    return own, variants


def catalog_variants_import(
    *, rows: list[CatalogRow], templates: Mapping[str, ResponseTemplate], user: Editor
) -> tuple[int, int]:
    """Upsert variant rows (split by catalog_rows_split) of these templates, by key; returns
    (created, updated). Unchanged variants store nothing."""
    keys = sorted({row.key for row in rows})
    existing = {
        (variant.template.key, variant.locale): variant
        for variant in TemplateVariant.objects.filter(template__key__in=keys).select_related(
            "template"
        )
    }
    created = updated = 0
    for row in rows:
        locale = row.locale or ""
        current = existing.get((row.key, locale))
        if current is not None and (current.title, current.body) == (row.title, row.body):
            continue
        variant_save(
            template=templates[row.key],
            locale=locale,
            title=row.title,
            body=row.body,
            user=user,
            note="imported",
        )
        if current is None:
            created += 1
        else:
            updated += 1
    return created, updated
