"""A chunked request body (no Content-Length) is refused with 411, through a real HTTP server."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from instances.models import Instance


def put_chunked(live_server, path: str, body: bytes) -> tuple[int, dict]:
    server = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    try:
        # An iterable body without a length makes http.client send Transfer-Encoding: chunked.
        connection.request(
            "PUT", path, body=iter([body[:10], body[10:]]), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_chunked_put_is_refused_with_411_not_taken_for_an_empty_body(live_server, api_component):
    body = json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.7"}).encode()
    status, answer = put_chunked(live_server, f"/console/third_party/{api_component.service_id}", body)
    assert status == 411
    assert answer["code"] == 411 and answer["msg"] == "length_required"
    assert "Content-Length" in answer["msg_show"]
    assert not Instance.objects.exists()
