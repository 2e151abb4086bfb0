from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core.models import Membership, Role

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_admin", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_superuser_who_owns_the_default_team_and_prints_the_password_once():
    first = run("--username", "ops")
    password = first.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    user = get_user_model().objects.get(username="ops")
    assert user.is_superuser and user.check_password(password)
    assert Membership.objects.get(user=user).role == Role.OWNER
    second = run("--username", "ops")
    assert "already exists" in second and password not in second
    assert get_user_model().objects.filter(username="ops").count() == 1
    assert Membership.objects.filter(user=user).count() == 1


def test_it_uses_the_given_password():
    output = run("--username", "ops", "--password", "a-given-password")
    assert "a-given-password" not in output
    assert get_user_model().objects.get(username="ops").check_password("a-given-password")
