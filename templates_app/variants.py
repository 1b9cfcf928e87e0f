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
