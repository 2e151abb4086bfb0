"""Token authentication for the console API: ``Authorization: Token <key>``."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.models import ApiToken, token_digest


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # Not for this class: let session authentication try.
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: expected 'Authorization: Token <key>'."
            )
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        digest = token_digest(key)
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        # The lookup is by digest; comparing again in constant time keeps timing flat either way.
        if token is None or not hmac.compare_digest(token.digest, digest) or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
