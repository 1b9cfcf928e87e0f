import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from templates_app.models import ResponseTemplate
from templates_app.services import (
    template_create,
    template_restore_revision,
    template_update,
    templates_set_active,
)
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_change_keeps_the_previous_text_and_restore_brings_it_back(catalog_admin_user):
    template = template_create(key="fees.atm", title="ATM fees", body="v1", user=catalog_admin_user)
    template = template_update(template=template, body="v2", user=catalog_admin_user)
    template = template_update(template=template, title="ATM fee", user=catalog_admin_user)

    revisions = list(template.revisions.order_by("number"))
    assert [(r.number, r.title, r.body) for r in revisions] == [
        (1, "ATM fees", "v1"),
        (2, "ATM fees", "v2"),
        (3, "ATM fee", "v2"),
    ]
    restored = template_restore_revision(revision=revisions[0], user=catalog_admin_user)
    assert (restored.title, restored.body) == ("ATM fees", "v1")
    assert restored.revisions.count() == 4
    assert restored.updated_by == catalog_admin_user


def test_restoring_a_revision_restores_its_text_not_its_active_flag(catalog_admin_user):
    template = template_create(key="fees.atm", title="ATM fees", body="v1", user=catalog_admin_user)
    template = template_update(template=template, body="v2", user=catalog_admin_user)
    template = template_update(template=template, is_active=False, user=catalog_admin_user)
    first = template.revisions.get(number=1)
    assert first.is_active

    restored = template_restore_revision(revision=first, user=catalog_admin_user)
    assert (restored.body, restored.is_active) == ("v1", False)
    restored.refresh_from_db()
    assert (restored.body, restored.is_active) == ("v1", False)


def test_a_no_op_update_stores_no_revision():
    template = template_create(key="a", title="A", body="b")
    template_update(template=template, body="b")
    assert template.revisions.count() == 1


def test_update_rejects_a_malformed_placeholder_and_changes_nothing():
    template = template_create(key="a", title="A", body="fine")
    with pytest.raises(ValidationError):
        template_update(template=template, body="Hi {customer name}")
    template.refresh_from_db()
    assert template.body == "fine"
    assert template.revisions.count() == 1


def test_key_is_unique_in_the_database():
    factories.TemplateFactory(key="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponseTemplate.objects.create(key="dup", title="t", body="b")


@pytest.mark.parametrize("field", ["key", "title", "body"])
def test_database_rejects_empty_identity_fields(field):
    values = {"key": "k", "title": "t", "body": "b", field: ""}
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponseTemplate.objects.create(**values)


def test_bulk_deactivate_records_revisions(catalog_admin_user):
    templates = factories.TemplateFactory.create_batch(3)
    changed = templates_set_active(
        templates=ResponseTemplate.objects.all(), is_active=False, user=catalog_admin_user
    )
    assert changed == 3
    assert not ResponseTemplate.objects.filter(is_active=True).exists()
    assert all(t.revisions.filter(is_active=False).exists() for t in templates)
