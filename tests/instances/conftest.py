"""Throwaway accounts on the real MariaDB and Redis, for the probe and sweep tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import support


@pytest.fixture
def mariadb_account() -> Iterator[tuple[str, str]]:
    """A MariaDB account (user, password) that may read `test`; dropped after the test."""
    with support.mariadb_account("kato_test") as account:
        yield account


@pytest.fixture
def redis_account() -> Iterator[tuple[str, str]]:
    """A Redis ACL user (user, password) with every permission; deleted after the test."""
    with support.redis_account("kato_test") as account:
        yield account
