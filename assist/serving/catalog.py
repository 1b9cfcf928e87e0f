"""The active catalog a ranking runs against, kept per process while its version holds."""

from assist.serving.state import STATE
from templates_app.active_catalog import ActiveCatalog, active_catalog_read


def active_catalog(version: int | None) -> ActiveCatalog:
    """The active templates at `version` or later; read from the database only if it moved.

    `version` (templates_app.active_catalog.CATALOG_VERSION_SQL) must have been read before
    this call, so that a reload sees at least that state. None, a database without the
    counter row, reads the catalog every time.
    """
    cached = STATE.catalog
    if version is not None and cached is not None and cached.version == version:
        return cached
    fresh = active_catalog_read(version)
    if version is not None:
        with STATE.lock:
            STATE.catalog = fresh
    return fresh
