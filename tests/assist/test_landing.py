"""Where each role lands after signing in, and the styled error pages (HTTP client)."""

import pytest
from django.test import Client

from assist.views import server_error
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-pass-phrase"


def signed_in(user) -> tuple[Client, str]:
    """Signs in through the login form (no `next`); the client and where it was sent."""
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    return client, response.redirect_chain[-1][0]


@pytest.mark.parametrize(
    ("make", "landing"),
    [
        (factories.agent, "/panel/"),
        (factories.supervisor, "/review/"),
        (factories.catalog_admin, "/admin/templates_app/responsetemplate/"),
    ],
)
def test_sign_in_lands_where_the_role_works(make, landing):
    _, url = signed_in(make())
    assert url == landing


def test_an_agent_who_also_supervises_lands_on_the_panel(db):
    user = factories.agent()
    user.groups.add(*factories.supervisor().groups.all())
    assert signed_in(user)[1] == "/panel/"


def test_a_user_without_a_role_lands_home_and_is_told_why(db):
    client, url = signed_in(factories.UserFactory())
    assert url == "/"
    assert b"has no role yet" in client.get("/").content


def test_a_requested_page_wins_over_the_landing(db):
    user = factories.supervisor()
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    response = Client().post(
        "/accounts/login/?next=/review/dashboard/",
        {"username": user.username, "password": PASSWORD, "next": "/review/dashboard/"},
    )
    assert response["Location"] == "/review/dashboard/"


def test_a_catalog_admin_at_the_panel_gets_a_styled_403_with_the_way_to_the_catalog(
    catalog_admin_user,
):
    response = client_for(catalog_admin_user).get("/panel/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page is not for your role" in page
    assert "This needs the role agent or supervisor." in page
    assert 'href="/admin/templates_app/responsetemplate/"' in page
    assert "<style>" in page  # the site's look, not Django's bare page


def test_an_agent_at_review_is_sent_back_to_the_panel(agent_user):
    response = client_for(agent_user).get("/review/")
    assert response.status_code == 403
    assert 'class="start" href="/panel/"' in response.content.decode()


def test_a_styled_404_links_home_for_everyone(agent_user):
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page and "/no/such/page/" in page
    assert 'class="start" href="/"' in page
    unknown = client_for(agent_user).get("/nope")
    assert 'class="start" href="/panel/"' in unknown.content.decode()


def test_a_404_does_not_echo_markup_from_the_path():
    page = Client().get("/%3Cscript%3Ealert(1)%3C/script%3E").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_the_500_page_renders_without_a_database_or_a_user(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and 'href="/"' in page


def test_home_offers_each_role_only_its_pages(agent_user, catalog_admin_user):
    agent_page = client_for(agent_user).get("/").content.decode()
    assert "Agent panel" in agent_page and "Template catalog" not in agent_page
    admin_page = client_for(catalog_admin_user).get("/").content.decode()
    assert "Template catalog" in admin_page and "Agent panel" not in admin_page
