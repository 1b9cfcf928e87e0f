import csv
import io

import pytest
from django.urls import reverse

from templates_app.models import ResponseTemplate
from templates_app.services import template_create, template_update
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:templates_app_responsetemplate_changelist")
ADD = reverse("admin:templates_app_responsetemplate_add")


def form_data(**overrides):
    data = {
        "key": "cards.lost",
        "title": "Lost card",
        "body": "Sorry {customer_first_name}, I have blocked the card.",
        "category": "cards",
        "locale": "en",
        "is_active": "on",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": "0",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_template_with_a_first_revision(catalog_admin_user):
    response = client_for(catalog_admin_user).post(ADD, form_data())
    assert response.status_code == 302
    template = ResponseTemplate.objects.get(key="cards.lost")
    assert template.updated_by == catalog_admin_user
    assert template.revisions.count() == 1


def test_a_malformed_placeholder_is_a_form_error_naming_it(catalog_admin_user):
    response = client_for(catalog_admin_user).post(
        ADD, form_data(body="Hello {customer name}, welcome")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["body"]
    assert any("{customer name}" in error for error in errors)
    assert not ResponseTemplate.objects.exists()


def test_search_and_filters(catalog_admin_user):
    factories.TemplateFactory(key="fees.atm", title="ATM fees", category="fees", body="Cash fee")
    factories.TemplateFactory(key="cards.lost", title="Lost", category="cards", is_active=False)
    client = client_for(catalog_admin_user)

    by_body = client.get(CHANGELIST, {"q": "cash"}).context["cl"].result_list
    assert [t.key for t in by_body] == ["fees.atm"]
    inactive = client.get(CHANGELIST, {"is_active__exact": "0"}).context["cl"].result_list
    assert [t.key for t in inactive] == ["cards.lost"]
    by_category = client.get(CHANGELIST, {"category": "fees"}).context["cl"].result_list
    assert [t.key for t in by_category] == ["fees.atm"]


def test_bulk_deactivate_action(catalog_admin_user):
    templates = factories.TemplateFactory.create_batch(2)
    response = client_for(catalog_admin_user).post(
        CHANGELIST,
        {"action": "deactivate", "_selected_action": [t.pk for t in templates]},
    )
    assert response.status_code == 302
    assert not ResponseTemplate.objects.filter(is_active=True).exists()


def test_csv_export_then_import_round_trips(catalog_admin_user):
    factories.TemplateFactory(key="a.one", body="Hi, {customer_name}, with a comma")
    factories.TemplateFactory(key="b.two", is_active=False)
    client = client_for(catalog_admin_user)
    exported = client.get(reverse("admin:templates_app_responsetemplate_export"))
    text = exported.content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["key"], r["active"]) for r in rows] == [("a.one", "1"), ("b.two", "0")]

    ResponseTemplate.objects.all().delete()
    upload = io.BytesIO(text.encode())
    upload.name = "catalog.csv"
    response = client.post(reverse("admin:templates_app_responsetemplate_import"), {"file": upload})
    assert response.status_code == 302
    assert list(
        ResponseTemplate.objects.order_by("key").values_list("key", "body", "is_active")
    ) == [
        ("a.one", "Hi, {customer_name}, with a comma", True),
        ("b.two", factories.TemplateFactory.body, False),
    ]


def test_admin_import_of_a_bad_file_shows_the_line_and_imports_nothing(catalog_admin_user):
    upload = io.BytesIO(b"key,title,body,category\nok,T,B,c\nbad,T,{oops,c\n")
    upload.name = "catalog.csv"
    response = client_for(catalog_admin_user).post(
        reverse("admin:templates_app_responsetemplate_import"), {"file": upload}
    )
    assert response.status_code == 200
    assert "line 3: " in response.content.decode()
    assert not ResponseTemplate.objects.exists()


def test_view_and_restore_a_revision(catalog_admin_user):
    template = template_create(key="k", title="T", body="first")
    template_update(template=template, body="second")
    first = template.revisions.get(number=1)
    client = client_for(catalog_admin_user)

    page = client.get(reverse("admin:templates_app_templaterevision_change", args=[first.pk]))
    assert page.status_code == 200
    assert "first" in page.content.decode()
    assert "Restore this revision" in page.content.decode()

    response = client.post(reverse("admin:templates_app_responsetemplate_restore", args=[first.pk]))
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body == "first"


def test_supervisor_reads_the_catalog_but_cannot_change_or_restore(supervisor_user):
    template = template_create(key="k", title="T", body="first")
    client = client_for(supervisor_user)
    change_url = reverse("admin:templates_app_responsetemplate_change", args=[template.pk])

    assert client.get(CHANGELIST).status_code == 200
    assert client.post(change_url, form_data(key="k", body="hacked")).status_code == 403
    assert client.post(ADD, form_data()).status_code == 403
    revision = template.revisions.get()
    restore = reverse("admin:templates_app_responsetemplate_restore", args=[revision.pk])
    assert client.post(restore).status_code == 403
    assert client.get(reverse("admin:templates_app_responsetemplate_import")).status_code == 403
    template.refresh_from_db()
    assert template.body == "first"
    assert ResponseTemplate.objects.count() == 1


def test_agents_cannot_reach_the_catalog_admin(agent_user):
    response = client_for(agent_user).get(CHANGELIST)
    # Agents are not staff: the admin sends them to its login page rather than showing data.
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
