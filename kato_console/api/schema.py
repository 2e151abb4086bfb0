"""How drf-spectacular describes what it cannot see for itself: token authentication and named enums.

Imported by every console API view module (for ``error_responses``), so that the extensions are
registered before any schema is built.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse

from kato_console.api.pagination import MAX_PAGE_SIZE
from kato_console.serializers import VALIDATION_ERROR_SCHEMA, ErrorSerializer


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "kato_console.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Token <key>`. Create a key with `python manage.py create_api_token "
            "<username>` or on the page /account/tokens/.",
        }


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    """Every use of one choice set refers to one named schema (``ComponentKindEnum``, ``CheckKindEnum``),
    so fields that share a name but not their choices (``kind``, ``status``) never collide."""

    target_class = "kato_console.serializers.EnumField"
    match_subclasses = True

    def get_name(self) -> str:
        return f"{self.target.enum_name}Enum"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": [str(value) for value in self.target.choices]}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation, in DRF's usual shapes."""
    described = {
        400: OpenApiResponse(
            VALIDATION_ERROR_SCHEMA, description="Invalid input; each field names its problem."
        ),
        401: OpenApiResponse(ErrorSerializer, description="No or an invalid token (or session)."),
        403: OpenApiResponse(
            ErrorSerializer, description="Viewers can read but not change anything, nor reveal secrets."
        ),
        404: OpenApiResponse(ErrorSerializer, description="No such object in your teams."),
    }
    return {code: described[code] for code in codes}


def list_error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of a list (paged, ``kato_console.api.pagination``): ``codes``, and
    a ``page_size`` that is not a whole number (400) or a page past the last (404)."""
    responses = error_responses(*sorted({400, 401, 404, *codes}))
    responses[400] = OpenApiResponse(
        VALIDATION_ERROR_SCHEMA,
        description=f"Invalid input, such as a page_size that is not a whole number from 1 to {MAX_PAGE_SIZE}.",
    )
    responses[404] = OpenApiResponse(
        ErrorSerializer, description="No such object in your teams, or no such page (`Invalid page.`)."
    )
    return responses
