"""The OpenAPI description of the Kato-compatible endpoint (``kato_console.kato_api.views``), for drf-spectacular.

The serializers here describe the envelope and the bodies; they validate nothing (the view reads
the body itself, so that every refusal keeps its own status and word).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from instances.models import Status

TAG = "Kato-compatible instance API"


class KatoInstanceSerializer(serializers.Serializer):
    ep_id = serializers.CharField()
    address = serializers.CharField(help_text="As registered, e.g. 10.0.0.7:3306.")
    ip = serializers.CharField(help_text="The host, e.g. 10.0.0.7.")
    port = serializers.IntegerField(
        allow_null=True, help_text="The component's port when the address has none."
    )
    status = serializers.ChoiceField(choices=Status.choices)
    is_online = serializers.BooleanField()
    is_static = serializers.BooleanField()
    latency_ms = serializers.FloatField(allow_null=True)
    last_checked_at = serializers.DateTimeField(allow_null=True)


class KatoDataSerializer(serializers.Serializer):
    bean = serializers.DictField(help_text="GET: {endpoint_num: the number of instances}; otherwise {}.")
    list = KatoInstanceSerializer(many=True)  # Kato's name for the field


class KatoEnvelopeSerializer(serializers.Serializer):
    msg = serializers.CharField(help_text="A stable machine word: `success`, or the refusal's name.")
    code = serializers.IntegerField(help_text="The HTTP status.")
    data = KatoDataSerializer()  # type: ignore[assignment]  # the envelope's field is Kato's `data`
    msg_show = serializers.CharField(help_text="A sentence for people.")


class KatoPutSerializer(serializers.Serializer):
    secret_key = serializers.CharField(
        required=False, help_text="The component's secret key (or send Authorization: Bearer)."
    )
    ip = serializers.CharField(
        help_text="host, host:port, [ipv6]:port or http(s)://host[:port], e.g. 10.0.0.7"
    )
    is_online = serializers.BooleanField(default=True)


class KatoDeleteSerializer(serializers.Serializer):
    secret_key = serializers.CharField(
        required=False, help_text="The component's secret key (or send Authorization: Bearer)."
    )
    ip = serializers.CharField(help_text="The address of the instance to remove.")


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "kato_console.kato_api.views.SecretKeyAuthentication"
    name = "katoSecretKey"

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list]]:
        # The key may come in the body or the query string instead: the header is optional.
        return [{self.name: []}, {}]

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The component's API secret key, as Authorization: Bearer <key> "
            "(or in the body / query).",
        }


_ERRORS = {
    400: "Malformed JSON, a body that is not an object, a missing, unparseable or refused `ip`, a "
    "non-boolean `is_online`, or (GET) a `page` that is not a whole number from 1.",
    401: "The secret key is missing or wrong.",
    404: "No such component (or, for DELETE, no such instance).",
    405: "Another method than GET, PUT and DELETE.",
    409: "The component does not use API registration, or (PUT) it has as many instances as "
    "KATO_MAX_INSTANCES_PER_COMPONENT allows.",
    411: "The body was sent in chunks without a Content-Length.",
    413: "The body is larger than 64 KiB.",
    415: "The body is not JSON.",
    429: "Too many wrong secret keys from this client address; try again later.",
}
_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until this client address may try this component again.",
)
_SERVICE_ID = OpenApiParameter(
    "service_id",
    str,
    OpenApiParameter.PATH,
    description="The component's 32-hex-digit service id, from its API URL.",
)


def _responses(success: str, codes: tuple[int, ...]) -> dict[int, OpenApiResponse]:
    answers = {200: OpenApiResponse(KatoEnvelopeSerializer, description=success)}
    answers.update(
        {code: OpenApiResponse(KatoEnvelopeSerializer, description=_ERRORS[code]) for code in codes}
    )
    return answers


_COMMON = (401, 404, 405, 409, 429)
_BODY_ERRORS = (400, 411, 413, 415)

endpoint = extend_schema_view(
    get=extend_schema(
        operation_id="kato_third_party_list",
        summary="List instances",
        description="The component's instances with their status, a page at a time "
        "(by default every one, up to the maximum page size).",
        tags=[TAG],
        parameters=[
            _SERVICE_ID,
            _RETRY_AFTER,
            OpenApiParameter(
                "secret_key", str, description="The secret key (or send Authorization: Bearer)."
            ),
            OpenApiParameter("page", OpenApiTypes.INT, description="The page, from 1; past the last, empty."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Instances a page, up to 1,000."),
        ],
        responses=_responses(
            "The instances (`data.bean.endpoint_num`, the total; `data.list`).", (400, *_COMMON)
        ),
    ),
    put=extend_schema(
        operation_id="kato_third_party_put",
        summary="Add or update an instance",
        description="Adds the instance, or sets `is_online` of the one with the same normalised "
        "address. Idempotent.",
        tags=[TAG],
        parameters=[_SERVICE_ID, _RETRY_AFTER],
        request=KatoPutSerializer,
        responses=_responses(
            'Done: exactly `{"msg":"success","code":200,"data":{"bean":{},"list":[]},'
            '"msg_show":"Successfully modified"}`.',
            _BODY_ERRORS + _COMMON,
        ),
    ),
    delete=extend_schema(
        operation_id="kato_third_party_delete",
        summary="Remove an instance",
        description="Removes the instance with this normalised address.",
        tags=[TAG],
        parameters=[_SERVICE_ID, _RETRY_AFTER],
        request=KatoDeleteSerializer,
        responses=_responses("Removed.", _BODY_ERRORS + _COMMON),
    ),
)
