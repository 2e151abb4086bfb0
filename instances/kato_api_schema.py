"""The OpenAPI description of the Kato-compatible endpoint.

The endpoint is a plain Django view (see ``instances.kato_api``), so drf-spectacular cannot see it;
this post-processing hook adds it to the generated schema by hand.
"""

from __future__ import annotations

from typing import Any

from instances.models import Status

PATH = "/console/third_party/{service_id}"

_ENVELOPE = {
    "type": "object",
    "description": "Every answer, success or error, is this envelope; the HTTP status equals `code`.",
    "required": ["msg", "code", "data", "msg_show"],
    "properties": {
        "msg": {"type": "string", "description": "A stable machine word: `success`, or the error's name."},
        "code": {"type": "integer", "description": "The HTTP status."},
        "data": {
            "type": "object",
            "required": ["bean", "list"],
            "properties": {
                "bean": {"type": "object", "additionalProperties": True},
                "list": {"type": "array", "items": {"$ref": "#/components/schemas/KatoInstance"}},
            },
        },
        "msg_show": {"type": "string", "description": "A sentence for people."},
    },
}

_INSTANCE = {
    "type": "object",
    "required": [
        "ep_id",
        "address",
        "ip",
        "port",
        "status",
        "is_online",
        "is_static",
        "latency_ms",
        "last_checked_at",
    ],
    "properties": {
        "ep_id": {"type": "string"},
        "address": {"type": "string", "example": "10.0.0.7:3306"},
        "ip": {"type": "string", "example": "10.0.0.7"},
        "port": {"type": "integer", "nullable": True},
        "status": {"type": "string", "enum": list(Status.values)},
        "is_online": {"type": "boolean"},
        "is_static": {"type": "boolean"},
        "latency_ms": {"type": "number", "nullable": True},
        "last_checked_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}

_PUT_BODY = {
    "type": "object",
    "required": ["ip"],
    "properties": {
        "secret_key": {
            "type": "string",
            "description": "The component's secret key (or send Authorization: Bearer).",
        },
        "ip": {
            "type": "string",
            "description": "host, host:port, [ipv6]:port or http(s)://host[:port]",
            "example": "10.0.0.7",
        },
        "is_online": {"type": "boolean", "default": True},
    },
}

_DELETE_BODY = {
    "type": "object",
    "required": ["ip"],
    "properties": {"secret_key": _PUT_BODY["properties"]["secret_key"], "ip": _PUT_BODY["properties"]["ip"]},
}

_ERRORS = {
    "400": "Malformed JSON, a body that is not an object, a missing, unparseable or refused `ip`, or a non-boolean `is_online`.",
    "401": "The secret key is missing or wrong.",
    "404": "No such component (or, for DELETE, no such instance).",
    "405": "Another method than GET, PUT and DELETE.",
    "409": "The component does not use API registration, or (PUT) it has as many instances as KATO_MAX_INSTANCES_PER_COMPONENT allows.",
    "411": "The body was sent in chunks without a Content-Length.",
    "413": "The body is larger than 64 KiB.",
    "415": "The body is not JSON.",
    "429": "Too many wrong secret keys from this client address; try again later.",
}


def _responses(success: str, codes: tuple[str, ...]) -> dict[str, Any]:
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/KatoEnvelope"}}}
    responses = {"200": {"description": success, "content": ref}}
    for code in codes:
        responses[code] = {"description": _ERRORS[code], "content": ref}
    if "429" in codes:
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "Seconds until this client address may try this component again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return responses


def _operation(
    summary: str, description: str, success: str, codes: tuple[str, ...], body: dict | None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"kato_third_party_{summary.split()[0].lower()}",
        "tags": ["Kato-compatible instance API"],
        "summary": summary,
        "description": description,
        "security": [{"katoSecretKey": []}, {}],
        "responses": _responses(success, codes),
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def add_kato_endpoint(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: document ``/console/third_party/{service_id}``."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["KatoEnvelope"] = _ENVELOPE
    schemas["KatoInstance"] = _INSTANCE
    result["components"].setdefault("securitySchemes", {})["katoSecretKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The component's API secret key, as Authorization: Bearer <key> (or in the body / query).",
    }
    service_id = {
        "name": "service_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The component's 32-hex-digit service id, from its API URL.",
    }
    secret_query = {
        "name": "secret_key",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The secret key (GET only; or send Authorization: Bearer).",
    }
    common = ("401", "404", "409", "429")
    body_errors = ("400", "411", "413", "415")
    get = _operation(
        "List instances",
        "The component's instances with their status.",
        "The instances (`data.bean.endpoint_num`, `data.list`).",
        common,
        None,
    )
    get["parameters"] = [service_id, secret_query]
    result.setdefault("paths", {})[PATH] = {
        "get": get,
        "put": _operation(
            "Add or update an instance",
            "Adds the instance, or sets `is_online` of the one with the same normalised address. Idempotent.",
            'Done: exactly `{"msg":"success","code":200,"data":{"bean":{},"list":[]},"msg_show":"Successfully modified"}`.',
            body_errors + common,
            _PUT_BODY,
        ),
        "delete": _operation(
            "Remove an instance",
            "Removes the instance with this normalised address.",
            "Removed.",
            body_errors + common,
            _DELETE_BODY,
        ),
    }
    for method in ("put", "delete"):
        result["paths"][PATH][method]["parameters"] = [service_id]
    return result
