"""A real OpenID Connect provider on loopback for the sign-in tests: oidc-provider-mock (authlib
and Flask) in a thread, with its authorization form, token, userinfo, JWKS, discovery and
end-session endpoints.

The mock does not check PKCE itself, so this wrapper does, as a strict provider would: the
authorization request must carry an S256 code challenge, and the token request must bring the
verifier that hashes to it for that code; otherwise the token endpoint answers invalid_grant."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import flask
import werkzeug.serving

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider on plain loopback HTTP

from oidc_provider_mock import User, app  # noqa: E402


@dataclass
class Provider:
    issuer: str
    authorization_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    challenges: dict[str, str] = field(default_factory=dict)

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """Change a user's claims (their groups) as the company's directory would."""
        import requests

        requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10).raise_for_status()


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@contextmanager
def running_provider(users: dict[str, dict[str, Any]]) -> Iterator[Provider]:
    application = app(require_nonce=True, user_claims=[User(sub=s, claims=c) for s, c in users.items()])
    server = werkzeug.serving.make_server("localhost", 0, application, threaded=True)
    provider = Provider(issuer=f"http://localhost:{server.server_port}")

    @application.before_request
    def _pkce_checked() -> Any:
        request = flask.request
        if request.path == "/oauth2/authorize" and request.method == "GET":
            provider.authorization_requests.append(dict(request.args))
        if request.path == "/oauth2/token" and request.form.get("grant_type") == "authorization_code":
            provider.token_requests.append(dict(request.form))
            challenge = provider.challenges.get(request.form.get("code", ""))
            verifier = request.form.get("code_verifier", "")
            if challenge is None or not verifier or _s256(verifier) != challenge:
                return flask.jsonify(error="invalid_grant", error_description="PKCE verification failed"), 400
        return None

    @application.after_request
    def _code_remembered(response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == "/oauth2/authorize" and request.method == "POST" and response.location:
            code = parse_qs(urlparse(response.location).query).get("code", [""])[0]
            if code and request.args.get("code_challenge_method") == "S256":
                provider.challenges[code] = request.args.get("code_challenge", "")
        return response

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
