"""A key's texts per locale: the CSV round trip, bad rows, revisions, the admin, the fallback."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from templates_app.catalog_csv import catalog_csv_text, parse_catalog_csv
from templates_app.models import ResponseTemplate, TemplateVariant, VariantRevision
from templates_app.services import catalog_import
from templates_app.variants import template_text, variant_delete, variant_save
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CATALOG = """key,title,body,category,locale,active
cards.lost,Lost card,"Sorry {customer_first_name}, the card is blocked.",cards,en,1
cards.lost,Tarjeta perdida,"Lo siento {customer_first_name}, la tarjeta está bloqueada.",,es,
cards.lost,Karte verloren,"Es tut mir leid {customer_first_name}, die Karte ist gesperrt.",,de,
greet,Greeting,"Hello, this is {agent_first_name} from {company_name}.",general,en,1
greet,Saludo,"Hola, soy {agent_first_name} de {company_name}.",,es,
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text(text, encoding="utf-8")
    return path


def export() -> str:
    templates = ResponseTemplate.objects.order_by("key").prefetch_related("variants")
    return catalog_csv_text(templates, variants=True)


def test_a_catalog_with_variants_round_trips(tmp_path):
    out = io.StringIO()
    call_command("import_catalog", write(tmp_path, CATALOG), stdout=out)
    assert "5 created" in out.getvalue()
    lost = ResponseTemplate.objects.get(key="cards.lost")
    assert (lost.locale, lost.title) == ("en", "Lost card")
    assert dict(lost.variants.values_list("locale", "title")) == {
        "es": "Tarjeta perdida",
        "de": "Karte verloren",
    }
    exported = export()
    # Each key's own row, then its variants by locale, category and active left to the key.
    assert exported.splitlines()[1:4] == [
        'cards.lost,Lost card,"Sorry {customer_first_name}, the card is blocked.",cards,en,1',
        "cards.lost,Karte verloren,"
        '"Es tut mir leid {customer_first_name}, die Karte ist gesperrt.",,de,',
        "cards.lost,Tarjeta perdida,"
        '"Lo siento {customer_first_name}, la tarjeta está bloqueada.",,es,',
    ]
    revisions = VariantRevision.objects.count()

    out = io.StringIO()
    call_command("import_catalog", write(tmp_path, exported), stdout=out)
    assert "0 created, 0 updated, 5 unchanged" in out.getvalue()
    assert export() == exported
    assert VariantRevision.objects.count() == revisions


def test_a_changed_variant_row_updates_it_with_a_revision(tmp_path):
    call_command("import_catalog", write(tmp_path, CATALOG), stdout=io.StringIO())
    changed = CATALOG.replace("Tarjeta perdida", "Tarjeta extraviada")
    out = io.StringIO()
    call_command("import_catalog", write(tmp_path, changed), stdout=out)
    assert "0 created, 1 updated, 4 unchanged" in out.getvalue()
    history = VariantRevision.objects.filter(template__key="cards.lost", locale="es")
    assert list(history.values_list("number", "title", "note")) == [
        (2, "Tarjeta extraviada", "imported"),
        (1, "Tarjeta perdida", "imported"),
    ]


def test_a_file_of_one_locale_adds_variants_to_existing_keys(tmp_path):
    """A translator's file: rows in one locale only, the keys' own texts left alone."""
    call_command("import_catalog", write(tmp_path, CATALOG), stdout=io.StringIO())
    call_command(
        "import_catalog",
        write(tmp_path, "key,title,body,category,locale\ngreet,Hallo,Hallo!,,de\n"),
        stdout=io.StringIO(),
    )
    greet = ResponseTemplate.objects.get(key="greet")
    assert greet.title == "Greeting"
    assert sorted(greet.variants.values_list("locale", flat=True)) == ["de", "es"]


@pytest.mark.parametrize(
    ("extra", "line", "reason"),
    [
        ("greet,Hallo,Hallo {customer name},,de,\n", 7, "{customer name}"),
        ("greet,Hallo,,,de,\n", 7, "body"),
        ("greet,Hallo,Hallo,,Deutsch,\n", 7, "language code"),
        ("greet,Saludo,Otra vez,,es,\n", 7, "key 'greet' in locale es repeats line 6"),
        ("greet,Hello again,Hi,general,,1\n", 7, "two rows for its own text (en): lines 5 and 7"),
    ],
)
def test_a_bad_variant_row_is_reported_by_line_and_nothing_changes(tmp_path, extra, line, reason):
    call_command("import_catalog", write(tmp_path, CATALOG), stdout=io.StringIO())
    before = export()
    bad = CATALOG.replace("Tarjeta perdida", "Tarjeta extraviada") + extra
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_catalog", write(tmp_path, bad), stdout=io.StringIO(), stderr=err)
    assert f"line {line}: " in err.getvalue()
    assert reason in err.getvalue()
    assert export() == before


def test_variant_revisions_outlive_a_removed_variant():
    template = factories.TemplateFactory(key="greet")
    _, created = variant_save(template=template, locale="es", title="Hola", body="Hola")
    assert created
    assert variant_save(template=template, locale="es", title="Hola", body="Hola")[1] is False
    variant_save(template=template, locale="es", title="Hola", body="¡Hola!")
    variant_delete(variant=TemplateVariant.objects.get(template=template, locale="es"))
    assert not TemplateVariant.objects.filter(template=template).exists()
    history = VariantRevision.objects.filter(template=template, locale="es")
    assert list(history.values_list("number", "body", "deleted")) == [
        (3, "¡Hola!", True),
        (2, "¡Hola!", False),
        (1, "Hola", False),
    ]


def test_the_own_locale_is_not_a_variant():
    from django.core.exceptions import ValidationError

    template = factories.TemplateFactory(locale="en")
    with pytest.raises(ValidationError, match="own locale"):
        variant_save(template=template, locale="en", title="T", body="B")


def test_the_text_in_a_locale_falls_back_to_the_key_s_own_marked_as_such():
    template = factories.TemplateFactory(title="Hello", body="Hi", locale="en")
    variants = {"es": ("Hola", "Hola")}
    spanish = template_text(template, variants, "es")
    assert (spanish.title, spanish.locale, spanish.fallback) == ("Hola", "es", False)
    # A regional locale takes the language's variant.
    assert template_text(template, variants, "es-MX").title == "Hola"
    german = template_text(template, variants, "de")
    assert (german.title, german.locale, german.fallback) == ("Hello", "en", True)
    for unknown_or_own in ("", "en"):
        text = template_text(template, variants, unknown_or_own)
        assert (text.title, text.fallback) == ("Hello", False)


def test_the_parser_alone_accepts_one_row_per_key_and_locale():
    rows = parse_catalog_csv(io.StringIO(CATALOG))
    assert [(row.key, row.locale) for row in rows] == [
        ("cards.lost", "en"),
        ("cards.lost", "es"),
        ("cards.lost", "de"),
        ("greet", "en"),
        ("greet", "es"),
    ]
    summary = catalog_import(rows=rows)
    assert (summary.created, summary.updated, summary.unchanged) == (5, 0, 0)


def test_the_admin_shows_the_variants_side_by_side_and_flags_missing_locales(
    catalog_admin_user, settings
):
    settings.TEMPLATE_LOCALES = ["en", "es", "de"]
    template = factories.TemplateFactory(key="greet", locale="en")
    variant_save(template=template, locale="es", title="Saludo", body="Hola")
    client = client_for(catalog_admin_user)
    url = reverse("admin:templates_app_responsetemplate_change", args=[template.pk])
    page = client.get(url).content.decode()
    assert "Saludo" in page
    assert "missing: de" in page

    # The inline saves through the service: a revision, and the missing locale filled.
    data = {
        "title": template.title,
        "body": template.body,
        "category": template.category,
        "locale": "en",
        "is_active": "on",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": "0",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "1",
        "variants-0-id": str(template.variants.get().pk),
        "variants-0-template": str(template.pk),
        "variants-0-locale": "es",
        "variants-0-title": "Saludo",
        "variants-0-body": "¡Hola!",
        "variants-1-template": str(template.pk),
        "variants-1-locale": "de",
        "variants-1-title": "Gruß",
        "variants-1-body": "Hallo",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert dict(template.variants.values_list("locale", "body")) == {"es": "¡Hola!", "de": "Hallo"}
    assert VariantRevision.objects.filter(template=template).count() == 3
    assert "missing:" not in client.get(url).content.decode()

    # The key's own locale is refused as a variant, and nothing changes.
    refused = {**data, "variants-1-locale": "en", "variants-1-body": "Other"}
    response = client.post(url, refused)
    assert response.status_code == 200
    assert "own locale" in response.content.decode()
    assert dict(template.variants.values_list("locale", "body")) == {"es": "¡Hola!", "de": "Hallo"}
