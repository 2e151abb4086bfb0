"""A NUL byte in a path names nothing: a 404, never a 500 (PostgreSQL refuses NUL in a query)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PATHS = [
    "/components/%00/",
    "/components/%00/ports/",
    "/components/%00/events/",
    "/apps/%00/",
    "/console/third_party/%00",
    "/api/v1/components/%00/",
    "/teams/%00/channels/",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_nul_byte_in_a_path_is_a_404(alice_client, path: str) -> None:
    assert alice_client.get(path).status_code == 404
