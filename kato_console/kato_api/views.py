"""The Kato-compatible, secret-keyed instance endpoint (docs/instance-api.md; docs/architecture.md, "A PUT to the instance API").

``GET|PUT|DELETE /console/third_party/<service_id>``. Scripts written for Kato/Rainbond keep working:
the same body, the same success envelope. Unlike the reference implementation, every input is
validated, the secret is compared in constant time, wrong secrets are throttled per client, and no
input produces a 500.

A DRF view: the project's strict JSON parser reads the body, ``SecretKeyAuthentication`` checks the
key, ``WrongSecretThrottle`` counts the wrong ones, and ``kato_exception_handler`` turns every
refusal into the envelope. A plain view over the ORM, as healthchecks serves its ping: it reads
the component (with the client's wrong-secret count) and the instance at the address through
``instances.selectors``, answers a PUT that changes nothing without writing, and makes every change
through ``instances.services``, which decides it again under the row's lock and audits it.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.decorators import method_decorator
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from components.models import Component, Registration
from components.validation import SERVICE_ID_RE
from core.audit import Actor
from core.errors import ComponentError
from core.net import client_ip
from instances.addresses import Address, AddressError, check_policy, parse_address
from instances.models import HealthCheck, Instance, Source, instance_status
from instances.selectors import KatoLookup, kato_lookup
from instances.services import (
    InstanceGone,
    InstanceLimitReached,
    instance_delete,
    instance_set_online,
    instance_upsert,
    wrong_secret_record,
)
from kato_console.kato_api import docs
from kato_console.parsers import JSONParser
from kato_console.signals import answered

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# A GET answers at most this many instances a page (?page_size= up to it); the default is all of
# them up to it, as a script written for Kato expects one answer with every instance.
PAGE_SIZE_MAX = 1000
# The endpoint's route, as documented; the URLconf adds the trailing-slash form.
API_ROUTE = "console/third_party/<str:service_id>"


def _envelope(
    code: int, msg: str, msg_show: str, bean: dict | None = None, items: list | None = None
) -> dict:
    """Kato's response envelope, the same for every answer; the HTTP status equals ``code``."""
    return {"msg": msg, "code": code, "data": {"bean": bean or {}, "list": items or []}, "msg_show": msg_show}


# The answer every deploy hook waits for, byte for byte as Kato sends it: rendered once.
MODIFIED = JSONRenderer().render(_envelope(200, "success", "Successfully modified"))


class KatoError(exceptions.APIException):
    """A refusal: the HTTP status, a stable machine word and a sentence for people."""

    def __init__(self, code: int, msg: str, msg_show: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg_show, msg)
        self.status_code, self.msg, self.msg_show = code, msg, msg_show
        self.headers = headers or {}


NOT_FOUND = ("component_not_found", "There is no third-party component with this id.")

# DRF's own exceptions, as the envelope's machine word and sentence.
_DRF_ERRORS: tuple[tuple[type[Exception], str, str | None], ...] = (
    (exceptions.MethodNotAllowed, "method_not_allowed", "Use GET to list, PUT to add or update, DELETE to remove."),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Send the body as JSON, with Content-Type: application/json."),
    (exceptions.ParseError, "malformed_json", None),
    (exceptions.NotAuthenticated, "secret_key_missing", "The secret key is missing: send secret_key or Authorization: Bearer."),
    (exceptions.AuthenticationFailed, "secret_key_invalid", "The secret key is not valid for this component."),
    (exceptions.Throttled, "too_many_wrong_secrets", None),
    (exceptions.NotFound, *NOT_FOUND),
    (Http404, *NOT_FOUND),
)  # fmt: skip


def kato_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every refusal of the instance endpoint as the Kato envelope (the console API keeps DRF's
    format). None for what is no refusal (a bug, the database down): DRF raises it again."""
    if isinstance(exc, KatoError):
        return _refusal(exc.status_code, exc.msg, exc.msg_show, exc.headers)
    for kind, msg, msg_show in _DRF_ERRORS:
        if isinstance(exc, kind):
            return _refusal(*_status_and_words(exc, msg, msg_show), _headers(exc))
    if isinstance(exc, exceptions.APIException):
        return _refusal(exc.status_code, str(exc.default_code), str(exc.detail), {})
    return None


def _status_and_words(exc: Exception, msg: str, msg_show: str | None) -> tuple[int, str, str]:
    status = getattr(exc, "status_code", 404)
    if isinstance(exc, exceptions.Throttled):
        msg_show = f"Too many wrong secret keys from this address; try again in {math.ceil(_wait(exc) or 1)} seconds."
    elif isinstance(exc, exceptions.ParseError):
        msg_show = str(exc.detail).removeprefix("JSON parse error - ")
    return status, msg, msg_show or str(exc)


def _wait(exc: exceptions.Throttled) -> float | None:
    wait: float | None = getattr(exc, "wait", None)  # set by DRF's constructor; not in its stubs
    return wait


def _headers(exc: Exception) -> dict[str, str]:
    if isinstance(exc, exceptions.Throttled) and _wait(exc) is not None:
        return {"Retry-After": str(math.ceil(_wait(exc) or 0))}
    if getattr(exc, "auth_header", None):
        return {"WWW-Authenticate": exc.auth_header}  # type: ignore[attr-defined]
    return {}


def _refusal(code: int, msg: str, msg_show: str, headers: dict[str, str]) -> Response:
    return Response(_envelope(code, msg, msg_show), status=code, headers=headers)


# The steps DRF runs around the view.


class KatoNegotiation(DefaultContentNegotiation):
    """JSON is the only answer, whatever the client accepts (Kato answers no 406), and
    ``application/<anything>+json`` bodies are JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        # Reading the Accept header would choose the same renderer at a cost (building the
        # request's header map) that shows in a deploy hook's PUT.
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        if media_type.startswith("application/") and media_type.endswith("+json"):
            return next(iter(parsers))
        return super().select_parser(request, parsers)


class WrongSecretThrottle(BaseThrottle):
    """After ``KATO_API_WRONG_SECRET_LIMIT`` wrong secret keys from one client address for one
    component, within ``KATO_API_WRONG_SECRET_WINDOW_S`` seconds of the first, that client is
    answered 429 until the window ends.

    The counts are ``WrongSecret`` rows, shared by every web process; the component's lookup reads
    the requesting client's count (``selectors.kato_lookup``), so checking costs no query of its own.
    """

    def allow_request(self, request: Request, view: APIView) -> bool:
        found = kato_call(request).found
        self.window_ends_at: datetime | None = found.window_ends_at
        return found.failures is None or found.failures < settings.KATO_API_WRONG_SECRET_LIMIT

    def wait(self) -> float:
        """Seconds until the client's window ends (at least one, at most the window)."""
        if self.window_ends_at is None:
            return settings.KATO_API_WRONG_SECRET_WINDOW_S
        left = (self.window_ends_at - timezone.now()).total_seconds()
        return max(1, min(settings.KATO_API_WRONG_SECRET_WINDOW_S, math.ceil(left)))


# What initial() read of the request (the body, the address, the component's row), for the steps
# after it: authentication, throttle, permission, handler.
KATO_CALL = "kato"


def kato_call(request: Request) -> KatoCall:
    call = getattr(request, KATO_CALL)
    assert isinstance(call, KatoCall)
    return call


class SecretKeyAuthentication(BaseAuthentication):
    """The component's secret key, from ``Authorization: Bearer``, the body (PUT, DELETE) or the
    query string (GET), compared in constant time with the key of the component the lookup found.

    No key: no authentication (the permission answers 401 ``secret_key_missing``). A wrong key is
    counted for the throttle and answered 401 ``secret_key_invalid``, whatever part of it is wrong.
    """

    def authenticate(self, request: Request) -> tuple[AnonymousUser, Component] | None:
        call = kato_call(request)
        if not call.presented:
            return None
        component = call.component
        if not hmac.compare_digest(call.presented.encode(), component.secret_key.encode()):
            wrong_secret_record(
                component=component, client=call.client, window_s=settings.KATO_API_WRONG_SECRET_WINDOW_S
            )
            logger.info("Wrong secret key for component %s from %s", component.service_id, call.client)
            raise exceptions.AuthenticationFailed()
        return AnonymousUser(), component

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="kato"'

    @staticmethod
    def presented(request: Request, body: dict[str, Any]) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        source = request.query_params if request.method == "GET" else body
        secret = source.get("secret_key")
        return secret if isinstance(secret, str) else None


class HoldsTheSecretKey(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.auth is not None


class InstancePages(PageNumberPagination):
    """``?page=`` (from 1) and ``?page_size=`` (up to ``PAGE_SIZE_MAX``); a page past the last is
    empty, and ``data.bean.endpoint_num`` is the total either way."""

    page_size = PAGE_SIZE_MAX
    page_size_query_param = "page_size"
    max_page_size = PAGE_SIZE_MAX

    def page_of(self, instances: Any, request: Request) -> tuple[list[Instance], int]:
        number = request.query_params.get(self.page_query_param) or "1"
        if not (number.isascii() and number.isdigit() and 0 < int(number) < 10**9):
            raise KatoError(400, "page_invalid", 'The parameter "page" must be a whole number from 1.')
        paginator = self.django_paginator_class(instances, self.get_page_size(request) or PAGE_SIZE_MAX)
        if int(number) > paginator.num_pages:
            return [], paginator.count
        return list(paginator.page(int(number))), paginator.count


# What the view knows of a request before it authenticates it.


@dataclass(frozen=True)
class KatoCall:
    """A request as read before authentication: the body, the address (or why it is refused:
    reported only after authentication, so that it tells a stranger nothing), the presented
    secret, the client and the lookup's answer (the component, the client's wrong secrets, the
    instance at the address)."""

    body: dict[str, Any]
    address: Address | None
    invalid: KatoError | None
    presented: str | None
    client: str
    found: KatoLookup

    @property
    def component(self) -> Component:
        return self.found.component


def _check_length(meta: dict[str, Any]) -> None:
    declared = meta.get("CONTENT_LENGTH") or ""
    if not declared and meta.get("HTTP_TRANSFER_ENCODING"):
        # The WSGI servers differ on a chunked body (some pass it decoded, some not at all), and
        # Django reads none without a length: refuse it rather than take it for an empty body.
        raise KatoError(411, "length_required", "Send the body with a Content-Length header, not in chunks.")
    # isdigit() alone accepts ² and other digits that int() refuses.
    if declared and not (declared.isascii() and declared.isdigit()) or int(declared or 0) > MAX_BODY_BYTES:
        raise KatoError(413, "body_too_large", "The request body is larger than 64 KiB.")


def _body(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return {}
    _check_length(request.META)
    body = request.data  # DRF's parsing: 415 for another media type, 400 for bad JSON
    if not isinstance(body, dict):
        raise KatoError(
            400, "body_not_object", 'The request body must be a JSON object, such as {"ip": "10.0.0.7"}.'
        )
    return body


def _address(body: dict[str, Any]) -> Address:
    raw = body.get("ip")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise KatoError(
            400, "ip_missing", 'The field "ip" is required, as in "10.0.0.7" or "db.example.com:3306".'
        )
    if not isinstance(raw, str):
        raise KatoError(400, "ip_invalid", 'The field "ip" must be a string, as in "10.0.0.7".')
    try:
        address = parse_address(raw)
        check_policy(address, settings.KATO_DENIED_NETWORKS)
    except AddressError as error:
        raise KatoError(400, "ip_invalid", str(error)) from None
    return address


def _address_or_error(request: Request, body: dict[str, Any]) -> tuple[Address | None, KatoError | None]:
    if request.method == "GET":
        return None, None
    try:
        return _address(body), None
    except KatoError as error:
        return None, error


def _is_online(body: dict[str, Any]) -> bool:
    value = body.get("is_online", True)
    if not isinstance(value, bool):
        raise KatoError(
            400, "is_online_invalid", 'The field "is_online" must be true or false (a JSON boolean).'
        )
    return value


def _client_ip(request: Request) -> str | None:
    """The client's IP address, or None when the server gives none (a Unix socket, say)."""
    return client_ip(request.META.get("REMOTE_ADDR"))


def _item(instance: Instance, check_enabled: bool, default_port: int | None) -> dict[str, Any]:
    return {
        "ep_id": str(instance.pk),
        "address": instance.address,
        "ip": instance.host,
        "port": instance.port or default_port,
        "status": instance_status(instance, check_enabled),
        "is_online": instance.is_online,
        "is_static": instance.source == Source.STATIC,
        "latency_ms": instance.latency_ms,
        "last_checked_at": instance.last_checked_at.isoformat() if instance.last_checked_at else None,
    }


def _instance_not_found(address: Address | None) -> KatoError:
    return KatoError(404, "instance_not_found", f"The component has no instance at {address}.")


def _instance(call: KatoCall, found: tuple[int, bool, str]) -> Instance:
    """The instance the lookup found, as much of it as the services need to find it again."""
    assert call.address is not None
    pk, is_online, scheme = found
    address = call.address
    return Instance(
        pk=pk,
        component=call.component,
        host=address.host,
        port=address.port,
        scheme=scheme,
        is_online=is_online,
    )


# Sent with the HTTP status of every answer of the endpoint, once it is ready: the monitoring app
# counts them for /metrics without this module knowing it.


@docs.endpoint
@method_decorator(login_not_required, name="dispatch")
class ThirdPartyInstancesApi(APIView):
    """One URL, three operations; every answer is the Kato envelope."""

    http_method_names = ["get", "put", "delete"]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = KatoNegotiation
    authentication_classes = [SecretKeyAuthentication]
    permission_classes = [HoldsTheSecretKey]
    throttle_classes = [WrongSecretThrottle]
    pagination_class = InstancePages

    def get_exception_handler(self) -> Any:
        return kato_exception_handler

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = super().dispatch(request, *args, **kwargs)
        except Exception:
            answered.send(sender=ThirdPartyInstancesApi, status=500)
            raise
        answered.send(sender=ThirdPartyInstancesApi, status=response.status_code)
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # A script's answer, refusal or not, is about this moment: no cache keeps it.
        response["Cache-Control"] = "no-store"
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """DRF's steps before the handler, in the order this endpoint refuses: the method (405),
        the body (411, 413, 415, 400), the component (404, 409), the throttle (429), the secret
        (401). The throttle comes before the secret, so that a throttled client learns nothing
        of the keys it tries."""
        if (request.method or "").lower() not in self.http_method_names:
            self.http_method_not_allowed(request)
        self.format_kwarg = None
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(request)
        call = self._read(request, kwargs["service_id"])
        setattr(request, KATO_CALL, call)  # noqa: B010 — read back by kato_call()
        self.check_throttles(request)
        self.perform_authentication(request)
        self.check_permissions(request)
        if call.invalid is not None:
            raise call.invalid

    def _read(self, request: Request, service_id: str) -> KatoCall:
        if not SERVICE_ID_RE.match(service_id):
            raise KatoError(404, *NOT_FOUND)
        body = _body(request)
        address, invalid = _address_or_error(request, body)
        presented = SecretKeyAuthentication.presented(request, body)
        client = _client_ip(request) or "unknown"
        found = kato_lookup(service_id=service_id, client=client, address=address)
        if found is None:
            raise KatoError(404, *NOT_FOUND)
        if found.component.registration != Registration.API:
            raise KatoError(
                409,
                "not_api_registration",
                "This component's instances are not registered through the API; "
                "change its registration method to use it.",
            )
        return KatoCall(body, address, invalid, presented, client, found)

    def _actor(self, request: Request) -> Actor:
        return Actor.api_key(_client_ip(request))

    def put(self, request: Request, service_id: str) -> HttpResponse:
        call = kato_call(request)
        address, is_online = call.address, _is_online(call.body)
        assert address is not None  # refused in initial() otherwise
        # Read without a lock: a PUT that changes nothing (most of a deploy hook's) writes nothing.
        # A change is decided again by the service, under the row's lock.
        current = call.found.instance
        if current is not None and current[1:] == (is_online, address.scheme):
            return HttpResponse(MODIFIED, content_type="application/json")
        try:
            self._change(request, call, address, is_online)
        except InstanceLimitReached as error:
            raise KatoError(409, "instance_limit_reached", str(error)) from None
        except ComponentError as error:
            raise KatoError(400, "ip_invalid", str(error)) from None
        return HttpResponse(MODIFIED, content_type="application/json")

    def _change(self, request: Request, call: KatoCall, address: Address, is_online: bool) -> None:
        actor, current = self._actor(request), call.found.instance
        if current is not None:
            try:
                instance_set_online(
                    instance=_instance(call, current), is_online=is_online, actor=actor, scheme=address.scheme
                )
                return
            except InstanceGone:
                pass  # Deleted since the lookup: add it again, as asked.
        instance_upsert(component=call.component, address=address, is_online=is_online, actor=actor)

    def delete(self, request: Request, service_id: str) -> Response:
        call = kato_call(request)
        assert call.address is not None  # refused in initial() otherwise
        if call.found.instance is None:
            raise _instance_not_found(call.address)
        try:
            instance_delete(instance=_instance(call, call.found.instance), actor=self._actor(request))
        except InstanceGone:
            raise _instance_not_found(call.address) from None  # deleted by a concurrent request
        return Response(_envelope(200, "success", "Successfully deleted"))

    def get(self, request: Request, service_id: str) -> Response:
        component = kato_call(request).component
        check_enabled = HealthCheck.objects.filter(component=component, enabled=True).exists()
        default_port = component.ports.values_list("number", flat=True).first()
        instances = Instance.objects.filter(component=component).order_by("host", "port", "id")
        page, total = self.pagination_class().page_of(instances, request)
        items = [_item(instance, check_enabled, default_port) for instance in page]
        return Response(
            _envelope(200, "success", "Query succeeded", bean={"endpoint_num": total}, items=items)
        )
