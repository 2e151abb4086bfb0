"""Applications, components and what they share (docs/architecture.md, "The domain" and "Invariants").

Each invariant is enforced twice: ``clean()`` gives a person a message to act on, and a database
constraint (or, for rules that span rows, a trigger on PostgreSQL) makes sure no code path can
break it.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from components.validation import (
    ENV_NAME_RE,
    IMAGE_REFERENCE_MESSAGE,
    PORT_ALIAS_RE,
    RESERVED_ENV_NAMES,
    SERVICE_NAME_RE,
    env_name_validator,
    is_image_reference,
    port_alias_validator,
    service_name_validator,
)
from core.models import Team, TimeStamped
from core.validation import refuse_control_characters


def new_service_id() -> str:
    return secrets.token_hex(16)


def new_secret_key() -> str:
    # 256 bits from the operating system's CSPRNG, URL-safe so it can sit in a query string.
    return secrets.token_urlsafe(32)


class Application(TimeStamped):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="applications", verbose_name=_("team")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    slug = models.SlugField(max_length=100, verbose_name=_("slug"))

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "slug"],
                name="application_unique_slug_in_team",
                violation_error_message=_(
                    "The team already has an application with this slug; choose another name."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        refuse_control_characters(name=self.name)


class ComponentKind(models.TextChoices):
    THIRD_PARTY = "third_party", _("Third-party")
    INTERNAL = "internal", _("Internal")


class Registration(models.TextChoices):
    STATIC = "static", _("Static addresses")
    API = "api", _("API registration")


# Every door says this sentence when a service name is taken, the wizard's early check included.
SERVICE_NAME_TAKEN = gettext_noop(
    "Another component of this team already uses this service name; choose another."
)


class Component(TimeStamped):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="components", editable=False, verbose_name=_("team")
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="components", verbose_name=_("application")
    )
    name = models.CharField(max_length=64, verbose_name=_("name"))
    service_name = models.CharField(
        max_length=63, validators=[service_name_validator], verbose_name=_("service name")
    )
    service_id = models.CharField(
        max_length=32, unique=True, default=new_service_id, editable=False, verbose_name=_("service id")
    )
    kind = models.CharField(
        max_length=16,
        choices=ComponentKind.choices,
        default=ComponentKind.THIRD_PARTY,
        verbose_name=_("kind"),
    )
    registration = models.CharField(
        max_length=16, choices=Registration.choices, blank=True, verbose_name=_("registration")
    )
    image = models.CharField(max_length=255, blank=True, verbose_name=_("image"))
    secret_key = models.CharField(max_length=64, blank=True, editable=False, verbose_name=_("secret key"))

    class Meta:
        verbose_name = _("component")
        verbose_name_plural = _("components")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "service_name"],
                name="component_unique_service_name_in_team",
                violation_error_message=_(SERVICE_NAME_TAKEN),
            ),
            models.CheckConstraint(
                condition=Q(service_name__regex=SERVICE_NAME_RE),
                name="component_service_name_dns_label",
                violation_error_message=service_name_validator.message,
            ),
            models.CheckConstraint(condition=Q(kind__in=ComponentKind.values), name="component_kind_valid"),
            models.CheckConstraint(
                condition=(
                    Q(kind="third_party", registration__in=Registration.values, image="")
                    | Q(kind="internal", registration="")
                ),
                name="component_registration_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(registration="api") | ~Q(secret_key=""), name="component_api_has_secret_key"
            ),
            models.CheckConstraint(
                condition=Q(service_id__regex=r"^[0-9a-f]{32}$"), name="component_service_id_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_third_party(self) -> bool:
        return self.kind == ComponentKind.THIRD_PARTY

    @property
    def uses_api_registration(self) -> bool:
        return self.registration == Registration.API

    @property
    def instance_api_path(self) -> str:
        """The Kato-compatible instance API's path (it answers for API registration only).

        The full URL depends on the address the console is served at: `kato_console.public_url`.
        """
        return f"/console/third_party/{self.service_id}"

    def clean(self) -> None:
        # The team and the secret key are set by instances.services.component_create.
        refuse_control_characters(name=self.name)
        if self.kind == ComponentKind.THIRD_PARTY:
            if self.registration not in Registration.values:
                raise ValidationError(
                    {
                        "registration": gettext(
                            "Choose how instances are registered: static addresses or the API."
                        )
                    }
                )
            if self.image:
                raise ValidationError(
                    {"image": gettext("A third-party component runs outside the platform and has no image.")}
                )
        elif self.registration:
            raise ValidationError(
                {"registration": gettext("Only third-party components have a registration method.")}
            )
        if self.image and not is_image_reference(self.image):
            raise ValidationError({"image": gettext(IMAGE_REFERENCE_MESSAGE)})


class Protocol(models.TextChoices):
    HTTP = "http", "HTTP"
    TCP = "tcp", "TCP"
    UDP = "udp", "UDP"
    GRPC = "grpc", "gRPC"
    MYSQL = "mysql", "MySQL"
    POSTGRESQL = "postgresql", "PostgreSQL"
    REDIS = "redis", "Redis"


THIRD_PARTY_ONE_PORT = gettext_noop(
    "A third-party component has one port; change or delete the existing port instead."
)
OUTER_NEEDS_INNER = gettext_noop(
    "The external service needs the internal service: turn the internal service on first."
)


class Port(TimeStamped):
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="ports", verbose_name=_("component")
    )
    number = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(65535)], verbose_name=_("number")
    )
    protocol = models.CharField(
        max_length=16, choices=Protocol.choices, default=Protocol.TCP, verbose_name=_("protocol")
    )
    alias = models.CharField(max_length=64, validators=[port_alias_validator], verbose_name=_("alias"))
    inner_service = models.BooleanField(default=False, verbose_name=_("inner service"))
    outer_service = models.BooleanField(default=False, verbose_name=_("outer service"))
    # The gateway's ports for this port (components/gateway.py): taken from their ranges when a switch
    # first turns on and kept for the port's life, so dependents' addresses never move.
    gateway_port = models.PositiveIntegerField(
        null=True, blank=True, unique=True, editable=False, verbose_name=_("gateway port")
    )
    public_port = models.PositiveIntegerField(
        null=True, blank=True, unique=True, editable=False, verbose_name=_("public port")
    )
    # Copied from the component on every save, so that the database itself can allow a third-party
    # component one port only (a partial unique index cannot look at another table).
    of_third_party = models.BooleanField(default=False, editable=False, verbose_name=_("of third party"))

    class Meta:
        verbose_name = _("port")
        verbose_name_plural = _("ports")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["component", "number"],
                name="port_unique_number",
                violation_error_message=_("The component already has a port with this number."),
            ),
            models.UniqueConstraint(
                fields=["component", "alias"],
                name="port_unique_alias",
                violation_error_message=_("The component already has a port with this alias."),
            ),
            models.UniqueConstraint(
                fields=["component"],
                condition=Q(of_third_party=True),
                name="port_one_per_third_party_component",
                violation_error_message=_(THIRD_PARTY_ONE_PORT),
            ),
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=65535), name="port_number_range"),
            models.CheckConstraint(condition=Q(protocol__in=Protocol.values), name="port_protocol_valid"),
            models.CheckConstraint(
                condition=Q(alias__regex=PORT_ALIAS_RE),
                name="port_alias_pattern",
                violation_error_message=port_alias_validator.message,
            ),
            models.CheckConstraint(
                condition=Q(outer_service=False) | Q(inner_service=True),
                name="port_outer_needs_inner",
                violation_error_message=_(OUTER_NEEDS_INNER),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}/{self.protocol}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.of_third_party = self.component.kind == ComponentKind.THIRD_PARTY
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.component_id:
            self.of_third_party = self.component.kind == ComponentKind.THIRD_PARTY
        if self.outer_service and not self.inner_service:
            raise ValidationError({"outer_service": gettext(OUTER_NEEDS_INNER)})


class Scope(models.TextChoices):
    INNER = "inner", "The component's own"
    OUTER = "outer", "Connection information (shared with dependents)"


class EnvVar(TimeStamped):
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="env_vars", verbose_name=_("component")
    )
    name = models.CharField(max_length=128, validators=[env_name_validator], verbose_name=_("name"))
    value = models.TextField(blank=True, verbose_name=_("value"))
    description = models.CharField(max_length=255, blank=True, verbose_name=_("description"))
    scope = models.CharField(
        max_length=8, choices=Scope.choices, default=Scope.OUTER, verbose_name=_("scope")
    )
    secret = models.BooleanField(default=False, verbose_name=_("secret"))
    # Set for the A_HOST / A_PORT variables that the port's internal service generates.
    generated = models.BooleanField(default=False, editable=False, verbose_name=_("generated"))

    class Meta:
        verbose_name_plural = _("variables")
        ordering = ["name"]
        verbose_name = _("variable")
        constraints = [
            models.UniqueConstraint(
                fields=["component", "name"],
                name="envvar_unique_name",
                violation_error_message=_("The component already has a variable with this name."),
            ),
            models.CheckConstraint(
                condition=Q(name__regex=ENV_NAME_RE),
                name="envvar_name_pattern",
                violation_error_message=env_name_validator.message,
            ),
            models.CheckConstraint(
                condition=~Q(name__in=RESERVED_ENV_NAMES),
                name="envvar_name_not_reserved",
                violation_error_message=_("This variable name is reserved by the runtime; choose another."),
            ),
            models.CheckConstraint(condition=Q(scope__in=Scope.values), name="envvar_scope_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.name in RESERVED_ENV_NAMES:
            raise ValidationError(
                {
                    "name": gettext("%(name)s is reserved by the runtime; choose another name.")
                    % {"name": self.name}
                }
            )


class Dependency(TimeStamped):
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="dependencies", verbose_name=_("component")
    )
    target = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="dependents", verbose_name=_("target")
    )

    class Meta:
        verbose_name = _("dependency")
        verbose_name_plural = _("dependencies")
        constraints = [
            models.UniqueConstraint(
                fields=["component", "target"],
                name="dependency_unique",
                violation_error_message=_("The component already depends on this component."),
            ),
            models.CheckConstraint(
                condition=~Q(component=models.F("target")),
                name="dependency_not_self",
                violation_error_message=_("A component cannot depend on itself."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component} → {self.target}"

    def clean(self) -> None:
        # The rules that span rows (no cycle, same team, no third-party dependent) are the
        # services' (components.rules, called by dependency_add); PostgreSQL's triggers re-check them.
        if self.component_id is not None and self.component_id == self.target_id:
            raise ValidationError(gettext("A component cannot depend on itself."))
