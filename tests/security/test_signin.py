"""Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username,
or from one address, that username or that address is refused (429) on /accounts/login/ and
/admin/login/, even with the right password, until the cool-off; other users and addresses
are not affected."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::UserWarning")]

LIMIT = 3
LOGINS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _limit():
    with override_settings(AXES_FAILURE_LIMIT=LIMIT):
        yield


def user(username: str, *, staff: bool = False):
    made = factories.supervisor(username=username) if staff else factories.agent(username=username)
    made.password = make_password(f"{username}-pass")
    made.is_staff = staff
    made.save(update_fields=["password", "is_staff"])
    return made


def sign_in(url: str, username: str, password: str, address: str = "10.0.0.1") -> int:
    """The status of one sign-in attempt; 302 is a success (a redirect to the next page)."""
    response = Client(REMOTE_ADDR=address).post(
        url, {"username": username, "password": password, "next": "/"}
    )
    return response.status_code


@pytest.mark.parametrize("url", LOGINS)
def test_wrong_passwords_for_one_user_lock_that_user_from_every_address(url):
    user("ann", staff=True)
    user("bob", staff=True)
    for attempt in range(LIMIT - 1):
        assert sign_in(url, "ann", "wrong", address=f"10.0.1.{attempt}") == 200
    assert sign_in(url, "ann", "wrong", address="10.0.1.99") == 429  # the LIMIT-th
    # The right password, from a fresh address, is refused too.
    assert sign_in(url, "ann", "ann-pass", address="10.0.2.1") == 429
    assert sign_in(url, "bob", "bob-pass", address="10.0.2.1") == 302


@pytest.mark.parametrize("url", LOGINS)
def test_wrong_passwords_from_one_address_lock_that_address_for_every_user(url):
    user("ann", staff=True)
    for attempt in range(LIMIT - 1):
        assert sign_in(url, f"guess{attempt}", "wrong", address="10.0.0.9") == 200
    assert sign_in(url, "guess-last", "wrong", address="10.0.0.9") == 429
    assert sign_in(url, "ann", "ann-pass", address="10.0.0.9") == 429
    assert sign_in(url, "ann", "ann-pass", address="10.0.0.10") == 302


def test_below_the_limit_the_right_password_still_signs_in():
    user("ann")
    for _ in range(LIMIT - 1):
        assert sign_in("/accounts/login/", "ann", "wrong") == 200
    assert sign_in("/accounts/login/", "ann", "ann-pass") == 302


def test_the_lock_ends_after_the_cool_off():
    user("ann")
    for _ in range(LIMIT):
        sign_in("/accounts/login/", "ann", "wrong")
    assert sign_in("/accounts/login/", "ann", "ann-pass") == 429
    # As if the cool-off had passed: the failures are older than AXES_COOLOFF_TIME.
    AccessAttempt.objects.update(attempt_time=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert sign_in("/accounts/login/", "ann", "ann-pass") == 302
