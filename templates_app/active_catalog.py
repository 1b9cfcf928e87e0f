"""The active templates, kept in memory per process and checked against CatalogVersion.

A worker ranks against the active catalog for every customer message; reading it from the
database each time cost two queries a ranking (the keys, then the texts of the top K).
Instead the caller reads `CATALOG_VERSION_SQL` as part of a query it makes anyway and passes
the number here: the catalog is read again only when the database says it changed.
"""

import threading
from dataclasses import dataclass

from templates_app.models import ResponseTemplate


@dataclass(frozen=True)
class ActiveCatalog:
    version: int | None
    templates: dict[str, ResponseTemplate]  # the active ones, by key, in catalog order

    @property
    def keys(self) -> list[str]:
        return list(self.templates)


_cached: ActiveCatalog | None = None
_lock = threading.Lock()


# The catalog's version as an SQL expression, for a statement the caller makes anyway (the
# one row that migration 0002 creates and its triggers bump).
CATALOG_VERSION_SQL = "(SELECT version FROM templates_app_catalogversion WHERE id = 1)"


def active_catalog(version: int | None) -> ActiveCatalog:
    """The active templates at `version` or later; read from the database only if it moved.

    `version` must have been read before this call (a reload then sees at least that
    state). None, a database without the counter row, reads the catalog every time.
    """
    global _cached
    cached = _cached
    if version is not None and cached is not None and cached.version == version:
        return cached
    templates = ResponseTemplate.objects.filter(is_active=True).only(
        "key", "title", "body", "category"
    )
    fresh = ActiveCatalog(version=version, templates={t.key: t for t in templates})
    if version is not None:
        with _lock:
            _cached = fresh
    return fresh


def active_catalog_reset() -> None:
    """Forget the cached catalog (tests: a rolled-back test reuses version numbers)."""
    global _cached
    with _lock:
        _cached = None
