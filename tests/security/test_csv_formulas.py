"""CSV exports open in spreadsheets: a cell that starts like a formula (= + - @, a tab, a carriage
return) is exported with a leading ' so that it is shown as text, never run. Customer names and
ids come from outside; template text from catalog admins. The catalog's export re-imports
unchanged."""

import csv
import io

import pytest
from django.urls import reverse

from templates_app.models import ResponseTemplate
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_review_export_neutralises_formulas(supervisor_user):
    for index, formula in enumerate(FORMULAS):
        factories.ConversationFactory(external_id=formula, channel=f"c{index}")
    factories.ConversationFactory(external_id="plain")
    response = client_for(supervisor_user).get(reverse("review:export"), {"days": 3650})
    exported = rows(b"".join(response.streaming_content).decode())
    ids = sorted(row["external_id"] for row in exported)
    assert ids == sorted(["plain", *("'" + formula for formula in FORMULAS)])


def test_the_catalog_export_neutralises_formulas_and_reimports_unchanged(catalog_admin_user):
    for index, formula in enumerate(FORMULAS):
        factories.TemplateFactory(key=f"t{index}", title=formula.strip() or "t", body=f"{formula}")
    factories.TemplateFactory(key="plain", title="Hello", body="- a list item, not a formula")
    before = list(ResponseTemplate.objects.order_by("key").values_list("key", "title", "body"))
    client = client_for(catalog_admin_user)
    text = client.get(reverse("admin:templates_app_responsetemplate_export")).content.decode()
    for row in rows(text):
        for column in ("title", "body"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row

    ResponseTemplate.objects.all().delete()
    upload = io.BytesIO(text.encode())
    upload.name = "catalog.csv"
    response = client.post(reverse("admin:templates_app_responsetemplate_import"), {"file": upload})
    assert response.status_code == 302
    after = list(ResponseTemplate.objects.order_by("key").values_list("key", "title", "body"))
    assert after == before
