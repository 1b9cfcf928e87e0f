"""The supervisor review pages (/review/): only supervisors get in, and markup in template
titles and bodies, customer names, messages, experiment and arm names is shown as text."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from assist.models import Experiment, ExperimentArm, Message, Pick, Suggestion
from templates_app.services import template_create
from tests import factories
from tests.conftest import client_for
from tests.security.test_http import IMG, LINK, SCRIPT, live_markup

pytestmark = pytest.mark.django_db


def review_pages(conversation_id: int, experiment_id: int | None = None) -> list[str]:
    pages = [
        reverse("review:conversations"),
        reverse("review:conversations") + "?q=probe",
        reverse("review:conversation", args=[conversation_id]),
        reverse("review:experiments"),
        reverse("review:export"),
    ]
    if experiment_id is not None:
        pages.append(reverse("review:experiment", args=[experiment_id]))
    if connection.vendor == "postgresql":  # the dashboard's medians need PostgreSQL
        pages.append(reverse("review:dashboard"))
    return pages


def test_agents_and_catalog_admins_get_403_on_every_review_page(
    agent_user, catalog_admin_user, client
):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    experiment = Experiment.objects.create(name="exp")
    for user in (agent_user, catalog_admin_user):
        for page in review_pages(conversation.pk, experiment.pk):
            assert client_for(user).get(page).status_code == 403, (user.username, page)
    for page in review_pages(conversation.pk, experiment.pk):
        response = client.get(page)  # signed out
        assert response.status_code == 302 and "/login/" in response["Location"], page


def test_markup_is_shown_as_text_on_the_review_pages(supervisor_user, catalog_admin_user):
    agent = factories.agent(username="ann")
    template = template_create(
        key="xss.probe",
        title=f"Probe {IMG}",
        body=f"Hi {SCRIPT} see {LINK}",
        category="xss",
        user=catalog_admin_user,
    )
    version = factories_model_version()
    experiment = Experiment.objects.create(name=f"exp {SCRIPT}", is_active=False)
    arm = ExperimentArm.objects.create(experiment=experiment, name=f"arm {IMG}"[:50])
    ExperimentArm.objects.create(experiment=experiment, name="v1", model_version=version)
    conversation = factories.ConversationFactory(
        assigned_agent=agent, customer_name=SCRIPT, experiment_arm=arm
    )
    customer = factories.MessageFactory(conversation=conversation, text=f"{IMG} {LINK}")
    suggestion = Suggestion.objects.create(
        conversation=conversation,
        message=customer,
        seq=1,
        model_version=version,
        items=[{"key": template.key, "probability": 0.9, "confident": True}],
    )
    Pick.objects.create(
        conversation=conversation,
        agent=agent,
        suggestion=suggestion,
        template=template,
        rank=1,
        action="inserted",
        client_id="p1",
        picked_at=timezone.now(),
        time_to_pick_ms=1200,
    )
    Message.objects.create(
        conversation=conversation,
        role="agent",
        text=f"Hi {SCRIPT}",
        template=template,
        client_id="a1",
        sent_at=timezone.now(),
        shown_suggestion=suggestion,
        shown_rank=1,
        selection_ms=4000,
    )
    client = client_for(supervisor_user)
    for page in review_pages(conversation.pk, experiment.pk):
        response = client.get(page)
        assert response.status_code == 200, page
        if page.endswith(".csv"):
            assert response["Content-Type"].startswith("text/csv")
            continue
        html = response.content.decode()
        assert live_markup(html) == [], page
    detail = client.get(reverse("review:conversation", args=[conversation.pk])).content.decode()
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in detail
    assert "&lt;img src=x onerror=" in detail


def factories_model_version():
    from assist.models import ModelVersion

    return ModelVersion.objects.create(name="v1", path="/nonexistent")
