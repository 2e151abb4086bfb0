"""``GET /api/v1/components/<service_id>/kubernetes`` and ``GET /api/v1/applications/<slug>/kubernetes``:
the Kubernetes manifests of ``instances.kubernetes`` as one ``v1`` ``List``, in YAML (``application/yaml``,
the default) or JSON (``Accept: application/json``), for ``kubectl apply -f -``.

Owners and developers receive the Secret's values (every reveal is audited); viewers receive the Secret
without ``data`` and an annotation saying why. What was left out is said in YAML comments and, in either
format, in ``Warning`` headers as the Kubernetes API server writes them (kubectl prints them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from components import selectors, services
from components.models import Application, Component
from components.validation import SERVICE_ID_RE
from core.audit import Actor
from core.models import ActorKind, ApiToken
from instances import kubernetes
from kato_console.api.permissions import can_write
from kato_console.api.schema import error_responses
from kato_console.serializers import ErrorSerializer

NAMESPACE_PARAM = OpenApiParameter(
    "namespace", OpenApiTypes.STR, description="Put every object in this namespace (a DNS label)."
)
DESCRIPTION = (
    "A selectorless Service with an EndpointSlice per address family (or an ExternalName Service when "
    "the instances are DNS names), a Secret with the secret connection information and a ConfigMap with "
    "the rest, as one Kubernetes `v1` `List`: YAML by default, JSON with `Accept: application/json`. "
    "The Secret's `data` is "
    "given to owners and developers only (audited); viewers get the Secret without it. What was left out "
    "is said in `Warning` headers (and YAML comments)."
)
# Headers have a size limit in every proxy: the YAML comments list every note, the headers the first ones.
MAX_WARNINGS = 20
MANIFEST_RESPONSES = {
    (200, "application/yaml"): OpenApiResponse(
        OpenApiTypes.OBJECT, description="One YAML document, a Kubernetes `v1` `List`, after comment lines"
    ),
    (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="A Kubernetes `v1` `List`"),
}


class YamlRenderer(BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return str(data or "").encode(self.charset)


class AcceptOnly(DefaultContentNegotiation):
    """The format is chosen by ``Accept`` alone, and YAML answers any ``Accept`` that names neither
    format (HTTP allows it): a ``?format=`` is an unknown parameter here, ignored like the others."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        try:
            return super().select_renderer(request, renderers)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        return list(renderers)


@method_decorator(login_not_required, name="dispatch")  # a token or a session, answered in JSON
class _KubernetesApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = [YamlRenderer, JSONRenderer]
    content_negotiation_class = AcceptOnly
    via = "api:kubernetes"

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        if response.status_code >= 400:
            # Errors are JSON whatever format was asked for, as everywhere else in the API.
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_cache_control(response, no_store=True)  # The Secret may hold values.
        return response

    def namespace(self) -> str:
        namespace = self.request.query_params.get("namespace", "")
        if namespace and not kubernetes.valid_namespace(namespace):
            raise exceptions.ValidationError(
                {
                    "namespace": [
                        gettext("A namespace is a DNS label: lower-case letters, digits and -, at most 63.")
                    ]
                }
            )
        return namespace

    def actor(self) -> Actor:
        kind = ActorKind.API_TOKEN if isinstance(self.request.auth, ApiToken) else ActorKind.USER
        return Actor(kind, self.request.user, self.request.META.get("REMOTE_ADDR") or None)

    def answer(self, components: list[Component], *, reveal: bool, title: str) -> Response:
        found = kubernetes.manifests(components, namespace=self.namespace(), reveal=reveal)
        for manifest in found:
            services.env_reveal(
                component=manifest.component, actor=self.actor(), names=manifest.revealed, via=self.via
            )
        if self.request.accepted_renderer.format == "yaml":
            response = Response(kubernetes.to_yaml(found, title=title))
        else:
            response = Response(kubernetes.to_list(found))
        notes = kubernetes.notes_of(found)
        if notes:
            response["Warning"] = ", ".join(_warning(note) for note in notes[:MAX_WARNINGS])
        return response


def _warning(note: str) -> str:
    """A ``Warning`` header value (RFC 7234) as the Kubernetes API server writes it."""
    text = note.encode("ascii", "replace").decode("ascii").replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{text}"'


class ComponentKubernetesApi(_KubernetesApi):
    @extend_schema(
        operation_id="components_kubernetes",
        tags=["kubernetes"],
        summary="The component's Kubernetes manifests",
        description=DESCRIPTION
        + " A component that gets none (no port with the internal service on, or an internal "
        "component) is a 409 saying why.",
        parameters=[
            OpenApiParameter(
                "service_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=SERVICE_ID_RE.pattern
            ),
            NAMESPACE_PARAM,
        ],
        responses={
            **MANIFEST_RESPONSES,
            **error_responses(400, 401, 404),
            409: OpenApiResponse(
                ErrorSerializer, description="The component gets no manifests; `detail` says why."
            ),
        },
    )
    def get(self, request: Request, service_id: str) -> Response:
        if not SERVICE_ID_RE.match(service_id):
            raise exceptions.NotFound(gettext("No such component."))
        component = selectors.component_page_for_user(request.user, service_id)
        loaded = kubernetes.load_components(Component.objects.filter(pk=component.pk))[0]
        reason = kubernetes.not_exported_reason(loaded)
        if reason:
            return Response({"detail": reason}, status=409)
        title = f"Kubernetes manifests of {component.application.slug}/{component.service_name}"
        return self.answer([loaded], reveal=can_write(request, component.team), title=title)


class ApplicationKubernetesApi(_KubernetesApi):
    @extend_schema(
        operation_id="applications_kubernetes",
        tags=["kubernetes"],
        summary="The Kubernetes manifests of every third-party component of the application",
        description=DESCRIPTION + " Components that get none are named in the warnings.",
        parameters=[
            OpenApiParameter(
                "team",
                OpenApiTypes.STR,
                description="The team's slug, when several of yours have the application.",
            ),
            NAMESPACE_PARAM,
        ],
        responses={**MANIFEST_RESPONSES, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        application = self._application(slug, request.query_params.get("team", ""))
        components = kubernetes.load_components(Component.objects.filter(application=application))
        title = f"Kubernetes manifests of the application {application.slug} (team {application.team.slug})"
        return self.answer(components, reveal=can_write(request, application.team), title=title)

    def _application(self, slug: str, team: str) -> Application:
        applications = selectors.applications_for_user(self.request.user).filter(slug=slug)
        if team:
            applications = applications.filter(team__slug=team)
        found = list(applications[:2])
        if not found:
            raise exceptions.NotFound(gettext("No such application."))
        if len(found) > 1:
            raise exceptions.ValidationError(
                {
                    "team": [
                        gettext("Several of your teams have an application %(slug)r; say which with ?team=.")
                        % {"slug": slug}
                    ]
                }
            )
        return found[0]
