"""The catalog's version, bumped by the database on every write, and the per-process cache."""

import pytest
from django.db import connection
from django.db.models import F

from assist.serving.catalog import active_catalog
from templates_app.active_catalog import CATALOG_VERSION_SQL
from templates_app.models import CatalogVersion, ResponseTemplate, TemplateVariant
from templates_app.services import template_create, template_update
from templates_app.variants import variant_delete, variant_save
from tests import factories

pytestmark = pytest.mark.django_db


def version() -> int:
    return CatalogVersion.objects.get(pk=1).version


def _through_the_service(template):
    template_update(template=template, title="New")


def _queryset_update(template):
    ResponseTemplate.objects.filter(pk=template.pk).update(is_active=False)


def _no_op_update(template):
    ResponseTemplate.objects.update(body=F("body"))


def _bulk_create(template):
    ResponseTemplate.objects.bulk_create([ResponseTemplate(key="bulk.one", title="B", body="b")])


def _delete(template):
    template.delete()


def _create(template):
    template_create(key="new.one", title="N", body="n")


@pytest.mark.parametrize(
    "write",
    [
        _through_the_service,
        _queryset_update,
        _no_op_update,
        _bulk_create,
        _delete,
        _create,
    ],
)
def test_every_write_to_the_catalog_bumps_its_version(write):
    template = factories.TemplateFactory()
    before = version()
    write(template)
    assert version() > before


@pytest.mark.parametrize(
    "write",
    [
        lambda variant: variant_save(
            template=variant.template, locale="es", title="Nuevo", body="Hola"
        ),
        lambda variant: TemplateVariant.objects.filter(pk=variant.pk).update(title="Otro"),
        lambda variant: variant_delete(variant=variant),
        lambda variant: TemplateVariant.objects.filter(pk=variant.pk).delete(),
    ],
    ids=["service", "queryset-update", "service-delete", "queryset-delete"],
)
def test_every_write_to_a_variant_bumps_the_catalog_version(write):
    """Serving caches the variants with the templates (templates_app.active_catalog)."""
    template = factories.TemplateFactory()
    variant, _ = variant_save(template=template, locale="es", title="Hola", body="Hola")
    before = version()
    write(variant)
    assert version() > before


def test_the_cache_is_reused_until_the_version_moves(django_assert_num_queries):
    kept = factories.TemplateFactory(key="keep.me")
    factories.TemplateFactory(key="drop.me")
    first = active_catalog(version())
    with django_assert_num_queries(0):
        assert active_catalog(version=first.version) is first

    ResponseTemplate.objects.filter(key="drop.me").update(is_active=False)
    ResponseTemplate.objects.filter(key="keep.me").update(title="Renamed")
    fresh = active_catalog(version())
    assert fresh.keys == ["keep.me"]
    assert fresh.templates["keep.me"].title == "Renamed"
    assert fresh.templates["keep.me"].pk == kept.pk


def test_without_a_version_the_catalog_is_read_every_time(django_assert_num_queries):
    factories.TemplateFactory(key="one")
    # The templates, then their variants.
    with django_assert_num_queries(2):
        active_catalog(None)
    with django_assert_num_queries(2):
        assert active_catalog(None).keys == ["one"]


def test_the_cache_holds_the_variants_of_active_templates():
    template = factories.TemplateFactory(key="greet")
    variant_save(template=template, locale="es", title="Saludo", body="Hola")
    hidden = factories.TemplateFactory(key="hidden", is_active=False)
    variant_save(template=hidden, locale="es", title="Oculto", body="No")
    catalog = active_catalog(version())
    assert catalog.variants == {"greet": {"es": ("Saludo", "Hola")}}


def test_the_version_reads_as_part_of_another_query():
    factories.TemplateFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {CATALOG_VERSION_SQL}, COUNT(*) FROM templates_app_responsetemplate"
        )
        assert cursor.fetchone() == (version(), 1)
