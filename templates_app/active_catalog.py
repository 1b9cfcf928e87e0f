"""The active templates as a ranking needs them, and the catalog's version to cache them by.

A worker ranks against the active catalog for every customer message; reading it from the
database each time cost two queries a ranking (the keys, then the texts of the top K).
Instead the caller reads `CATALOG_VERSION_SQL` as part of a query it makes anyway, and keeps
the catalog in memory while that number does not move (assist/serving/catalog.py).
"""

from dataclasses import dataclass, field

from templates_app.models import ResponseTemplate, TemplateVariant


@dataclass(frozen=True)
class ActiveCatalog:
    version: int | None
    templates: dict[str, ResponseTemplate]  # the active ones, by key, in catalog order
    # Their texts in other locales: key -> {locale: (title, body)} (templates_app.variants).
    variants: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return list(self.templates)


# The catalog's version as an SQL expression, for a statement the caller makes anyway (the
# one row that migration 0002 creates and its triggers bump).
CATALOG_VERSION_SQL = "(SELECT version FROM templates_app_catalogversion WHERE id = 1)"


def active_catalog_read(version: int | None) -> ActiveCatalog:
    """The active templates, read now; `version` is the catalog version read before."""
    templates = ResponseTemplate.objects.filter(is_active=True).only(
        "key", "title", "body", "category", "locale"
    )
    variants: dict[str, dict[str, tuple[str, str]]] = {}
    rows = TemplateVariant.objects.filter(template__is_active=True).values_list(
        "template__key", "locale", "title", "body"
    )
    for key, locale, title, body in rows:
        variants.setdefault(key, {})[locale] = (title, body)
    return ActiveCatalog(
        version=version, templates={t.key: t for t in templates}, variants=variants
    )
