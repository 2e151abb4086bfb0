"""Instances of components and how their connectivity is checked (docs/architecture.md, "The domain")."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from components.models import Component
from instances.addresses import IPNetwork, format_address, network_containing, parse_ip


class Source(models.TextChoices):
    STATIC = "static", _("Static")
    API = "api", _("API")


class Health(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    HEALTHY = "healthy", _("Healthy")
    UNHEALTHY = "unhealthy", _("Unhealthy")


class Status(models.TextChoices):
    """What a person sees for an instance; derived, never stored."""

    OFFLINE = "offline", _("Offline")
    NOTREADY = "notready", _("Not ready")
    HEALTHY = "healthy", _("Healthy")
    UNHEALTHY = "unhealthy", _("Unhealthy")
    UNKNOWN = "unknown", _("Unknown")


class InstanceQuerySet(models.QuerySet):
    def routed(self) -> InstanceQuerySet:
        """Online and healthy, or online with the health check off."""
        return self.filter(is_online=True).filter(
            Q(health=Health.HEALTHY)
            | Q(component__health_check__enabled=False)
            | Q(component__health_check__isnull=True)
        )


class Instance(models.Model):
    # No index of its own: the unique address constraint starts with component_id, and every index
    # is paid for by each registration. A component's online instances are found through it too
    # (a component has tens of instances, not thousands).
    component = models.ForeignKey(
        Component,
        on_delete=models.CASCADE,
        related_name="instances",
        db_index=False,
        verbose_name=_("component"),
    )
    host = models.CharField(max_length=253, verbose_name=_("host"))
    port = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        verbose_name=_("port"),
    )
    scheme = models.CharField(max_length=8, blank=True, verbose_name=_("scheme"))
    is_online = models.BooleanField(default=True, verbose_name=_("is online"))
    source = models.CharField(
        max_length=8, choices=Source.choices, default=Source.STATIC, verbose_name=_("source")
    )
    health = models.CharField(
        max_length=16, choices=Health.choices, default=Health.UNKNOWN, verbose_name=_("health")
    )
    consecutive_successes = models.PositiveIntegerField(default=0, verbose_name=_("consecutive successes"))
    consecutive_failures = models.PositiveIntegerField(default=0, verbose_name=_("consecutive failures"))
    last_checked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last checked at"))
    # When the sweep last changed ``health`` (the "Down now" page's "since").
    health_since = models.DateTimeField(null=True, blank=True, verbose_name=_("health since"))
    # When the TLS certificate the last TLS probe was shown expires (kept when a probe sees none).
    cert_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cert expires at"))
    latency_ms = models.FloatField(null=True, blank=True, verbose_name=_("latency ms"))
    last_stage = models.CharField(max_length=16, blank=True, verbose_name=_("last stage"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    server_info = models.CharField(max_length=200, blank=True, verbose_name=_("server info"))
    # The sweep's claim: an instance is due when next_probe_at <= now (docs/architecture.md, "A sweep round").
    next_probe_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("next probe at")
    )
    # Bumped by every change of the instance's address, intent or check; a probe result that was
    # started under an older generation is dropped.
    generation = models.PositiveIntegerField(default=0, verbose_name=_("generation"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = InstanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        ordering = ["host", "port", "id"]
        constraints = [
            # A missing port means "the component's port"; it is still one address, so it counts
            # as one value for uniqueness (NULLs are otherwise distinct).
            models.UniqueConstraint(
                F("component"),
                F("host"),
                Coalesce("port", 0),
                name="instance_unique_address",
                violation_error_message=_("The component already has an instance at this address."),
            ),
            models.CheckConstraint(
                condition=Q(port__isnull=True) | Q(port__gte=1, port__lte=65535), name="instance_port_range"
            ),
            models.CheckConstraint(condition=Q(health__in=Health.values), name="instance_health_valid"),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="instance_source_valid"),
            models.CheckConstraint(
                condition=Q(scheme__in=["", "http", "https", "redis", "rediss"]), name="instance_scheme_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return format_address(self.host, self.port, self.scheme)

    @property
    def status(self) -> str:
        return instance_status(self, self.health_check_enabled)

    @property
    def health_check_enabled(self) -> bool:
        check = getattr(self.component, "health_check", None)
        return bool(check and check.enabled)

    @property
    def is_routed(self) -> bool:
        return self.status in (Status.HEALTHY, Status.UNKNOWN)

    @property
    def credentials_withheld(self) -> str:
        """Why the health check logs in to this instance without credentials, or ""."""
        check = getattr(self.component, "health_check", None)
        if check is None or not check.sends_credentials:
            return ""
        return credentials_withheld_reason(
            source=self.source, host=self.host, networks=check.credential_networks
        )


class ResolvedAddress(models.Model):
    """One address that a DNS-name instance's name resolved to, with its own health.

    Kept by the sweep (``instances.health``): each round resolves the name again, probes every
    address on its own and writes these rows; the gateway routes only the healthy ones. ``name`` is
    the host the address was resolved from, so rows left from an instance's previous name are never
    taken for its current one. ``component`` repeats the instance's, for the gateway's trigger.
    """

    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="resolved_addresses", verbose_name=_("instance")
    )
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("component")
    )
    name = models.CharField(max_length=253, verbose_name=_("name"))
    ip = models.CharField(max_length=45, verbose_name=_("IP"))
    health = models.CharField(
        max_length=16, choices=Health.choices, default=Health.UNKNOWN, verbose_name=_("health")
    )
    consecutive_successes = models.PositiveIntegerField(default=0, verbose_name=_("consecutive successes"))
    consecutive_failures = models.PositiveIntegerField(default=0, verbose_name=_("consecutive failures"))
    last_checked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last checked at"))
    last_stage = models.CharField(max_length=16, blank=True, verbose_name=_("last stage"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))

    class Meta:
        verbose_name = _("resolved address")
        verbose_name_plural = _("resolved addresses")
        ordering = ["instance_id", "ip"]
        constraints = [
            models.UniqueConstraint(fields=("instance", "ip"), name="resolved_address_unique_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.ip} ({self.health})"

    @property
    def healthy(self) -> bool:
        return self.health == Health.HEALTHY


def instance_status(instance: Instance, check_enabled: bool) -> str:
    if not instance.is_online:
        return Status.OFFLINE
    if not check_enabled:
        return Status.UNKNOWN
    if instance.health == Health.HEALTHY:
        return Status.HEALTHY
    if instance.health == Health.UNHEALTHY:
        return Status.UNHEALTHY
    return Status.NOTREADY


def next_health(
    *, health: str, successes: int, failures: int, ok: bool, success_threshold: int, failure_threshold: int
) -> tuple[str, int, int]:
    """(health, successes in a row, failures in a row) after one more result, as the kubelet counts:
    an instance's, and each address of a DNS-name instance's (``instances.resolved``)."""
    if ok:
        successes, failures = successes + 1, 0
        if successes >= success_threshold:
            health = Health.HEALTHY
    else:
        successes, failures = 0, failures + 1
        if failures >= failure_threshold:
            health = Health.UNHEALTHY
    return health, successes, failures


class CheckKind(models.TextChoices):
    TCP = "tcp", _("TCP connect")
    HTTP = "http", _("HTTP GET")
    MYSQL = "mysql", "MySQL"
    POSTGRESQL = "postgresql", "PostgreSQL"
    REDIS = "redis", "Redis"


TIMEOUT_BELOW_INTERVAL = gettext_noop("The timeout must be shorter than the interval.")
CREDENTIAL_KINDS = frozenset({CheckKind.MYSQL, CheckKind.POSTGRESQL, CheckKind.REDIS})

# What a health check may ask for (README, "Connectivity tests"). A probe holds a worker's slot,
# and a "probe now" the web request, for up to its timeout.
TIMEOUT_S_MAX = 30
INTERVAL_S_MIN = 5
INTERVAL_S_MAX = 86400
THRESHOLD_MAX = 100
CREDENTIAL_NETWORKS_MAX = 50


def credentials_withheld_reason(*, source: str, host: str, networks: Sequence[str]) -> str:
    """Why a credentialed check must not log in to an instance, or "" when it may.

    Whoever holds a component's instance-API secret key can register any address; logging in
    there would hand the password to the owner of that address. So credentials go to addresses
    a team member registered, and to API-registered IP addresses inside the networks an owner
    allowed. An API-registered DNS name is never trusted: what it resolves to is up to whoever
    controls its zone, and could change between a check here and the probe's own lookup.
    """
    if source != Source.API:
        return ""
    ip = parse_ip(host)
    if ip is None:
        return gettext(
            "credentials withheld: the address is a DNS name registered through the instance API; "
            "only IP addresses inside the check's credential networks get the login"
        )
    # Judged by the address the probe connects to: an IPv4 address carried inside an IPv6 one (6to4,
    # Teredo, NAT64) may make an address denied elsewhere, never trusted here (only ::ffff:a.b.c.d,
    # which is that IPv4 host itself).
    if network_containing(ip, _parsed_networks(tuple(networks)), embedded=False) is not None:
        return ""
    return gettext(
        "credentials withheld: the address was registered through the instance API and is outside "
        "the check's credential networks"
    )


@lru_cache(maxsize=1024)
def _parsed_networks(networks: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network, strict=False))
        except (TypeError, ValueError):
            continue  # validated on save; a bad stored value trusts nothing
    return tuple(parsed)


def normalise_networks(values: object) -> list[str]:
    """The networks as canonical CIDR strings; ValidationError naming the first bad one."""
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValidationError(gettext("Give a list of networks in CIDR notation, such as 10.0.0.0/8."))
    if len(values) > CREDENTIAL_NETWORKS_MAX:
        raise ValidationError(gettext("At most %(n)d networks.") % {"n": CREDENTIAL_NETWORKS_MAX})
    normalised = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValidationError(
                gettext("%(value)r is not a network in CIDR notation, such as 10.0.0.0/8.") % {"value": value}
            ) from None
        if network.prefixlen == 0:
            raise ValidationError(
                gettext("%(value)r holds every address; name the networks your databases are in.")
                % {"value": value}
            )
        normalised.append(str(network))
    return list(dict.fromkeys(normalised))


class HealthCheck(models.Model):
    component = models.OneToOneField(
        Component, on_delete=models.CASCADE, related_name="health_check", verbose_name=_("component")
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    # Paused: not probed, the instances keep their last health; resumed by a person (not a change
    # of the check, so nothing is probed again at once).
    paused = models.BooleanField(default=False, verbose_name=_("paused"))
    kind = models.CharField(
        max_length=16, choices=CheckKind.choices, default=CheckKind.TCP, verbose_name=_("kind")
    )
    path = models.CharField(max_length=500, default="/", blank=True, verbose_name=_("path"))
    interval_s = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(INTERVAL_S_MIN), MaxValueValidator(INTERVAL_S_MAX)],
        verbose_name=_("interval s"),
    )
    timeout_s = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(TIMEOUT_S_MAX)],
        verbose_name=_("timeout s"),
    )
    success_threshold = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(THRESHOLD_MAX)],
        verbose_name=_("success threshold"),
    )
    failure_threshold = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(THRESHOLD_MAX)],
        verbose_name=_("failure threshold"),
    )
    use_credentials = models.BooleanField(default=False, verbose_name=_("use credentials"))
    username_var = models.CharField(
        max_length=128,
        blank=True,
        help_text=_("Defaults to the first *_USER variable."),
        verbose_name=_("username var"),
    )
    password_var = models.CharField(
        max_length=128,
        blank=True,
        help_text=_("Defaults to the first *_PASSWORD variable."),
        verbose_name=_("password var"),
    )
    verify_tls = models.BooleanField(default=True, verbose_name=_("verify tls"))
    credential_networks = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "Networks (CIDR, e.g. 10.0.0.0/8) whose addresses registered through the instance API "
            "get the login too; members' addresses always do. Empty: none."
        ),
        verbose_name=_("credential networks"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("health check")
        verbose_name_plural = _("health checks")
        constraints = [
            models.CheckConstraint(
                condition=Q(success_threshold__gte=1, failure_threshold__gte=1),
                name="healthcheck_thresholds_positive",
                violation_error_message=_("Both thresholds must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(timeout_s__lt=F("interval_s")),
                name="healthcheck_timeout_below_interval",
                violation_error_message=_(TIMEOUT_BELOW_INTERVAL),
            ),
            models.CheckConstraint(condition=Q(kind__in=CheckKind.values), name="healthcheck_kind_valid"),
            models.CheckConstraint(
                condition=Q(timeout_s__gte=1, timeout_s__lte=TIMEOUT_S_MAX)
                & Q(interval_s__gte=INTERVAL_S_MIN, interval_s__lte=INTERVAL_S_MAX)
                & Q(success_threshold__lte=THRESHOLD_MAX, failure_threshold__lte=THRESHOLD_MAX),
                name="healthcheck_limits",
                violation_error_message=(
                    f"Timeout 1–{TIMEOUT_S_MAX} s, interval {INTERVAL_S_MIN}–{INTERVAL_S_MAX} s, "
                    f"thresholds 1–{THRESHOLD_MAX}."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} check of {self.component}"

    @property
    def sends_credentials(self) -> bool:
        return self.use_credentials and self.kind in CREDENTIAL_KINDS

    def clean(self) -> None:
        try:
            self.credential_networks = normalise_networks(self.credential_networks)
        except ValidationError as error:
            raise ValidationError({"credential_networks": error.messages}) from None
        if self.timeout_s is not None and self.interval_s is not None and self.timeout_s >= self.interval_s:
            raise ValidationError({"timeout_s": gettext(TIMEOUT_BELOW_INTERVAL)})
        if self.kind == CheckKind.HTTP and self.path and not self.path.startswith("/"):
            raise ValidationError({"path": gettext("The path starts with a slash, as in /healthz.")})


class WrongSecret(models.Model):
    """Wrong secret keys sent to the instance API from one client address for one component,
    counted over a window that starts with the first of them (docs/instance-api.md, "The secret key").

    Kept in the database, not in a cache: every web process sees the same counts without a shared
    cache server, and the instance API reads a client's count in the statement that looks up the
    component, so a PUT makes no call besides that one.
    """

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("component")
    )
    client = models.CharField(
        max_length=45, help_text=_("The client's IP address, or “unknown”."), verbose_name=_("client")
    )
    failures = models.PositiveIntegerField(verbose_name=_("failures"))
    window_ends_at = models.DateTimeField(verbose_name=_("window ends at"))

    class Meta:
        verbose_name = _("wrong secret")
        verbose_name_plural = _("wrong secrets")
        constraints = [
            # Also the index the instance API looks a client up by (it starts with the component).
            models.UniqueConstraint(fields=["component", "client"], name="wrong_secret_unique_client"),
        ]

    def __str__(self) -> str:
        return f"{self.failures} wrong secret keys from {self.client}"


class Period(models.IntegerChoices):
    """The length of a history row, in seconds, and how long rows of that length are kept."""

    MINUTE = 60, "Minute"
    HOUR = 3600, "Hour"
    DAY = 86_400, "Day"


# How long each period's rows are kept (docs/monitoring.md, "History").
RETENTION_S = {Period.MINUTE: 48 * 3600, Period.HOUR: 90 * 86_400, Period.DAY: 730 * 86_400}


class RealField(models.FloatField):
    """A four-byte float on PostgreSQL (``real``): a history row's latencies need no more precision."""

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        return "real" if connection.vendor == "postgresql" else super().db_type(connection)


class InstanceHistory(models.Model):
    """What the probes of one instance found during one minute, hour or day (``instances.history``).

    The sweep adds its round to the minute rows with one statement; the hour and day rows are
    computed from the minute and hour rows by a beat task, which also deletes the rows older than
    their period's retention. So the table grows with instances × time, never with probes. The
    latency figures are over the probes that passed (``None`` when none did). A minute's p95 is
    exact by nearest rank (a minute holds at most 20 probes, so it is the slowest); an hour's and a
    day's is the 95th percentile of its minutes' (hours') p95, an estimate that leans high.
    """

    pk = models.CompositePrimaryKey("instance_id", "period", "start", verbose_name=_("pk"))
    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("instance")
    )
    period = models.IntegerField(choices=Period.choices, verbose_name=_("period"))
    start = models.DateTimeField(verbose_name=_("start"))
    probes = models.IntegerField(verbose_name=_("probes"))
    failures = models.IntegerField(verbose_name=_("failures"))
    latency_min = RealField(null=True)
    latency_avg = RealField(null=True)
    latency_p95 = RealField(null=True)
    latency_max = RealField(null=True)

    class Meta:
        # Pruning reads by (period, start), every other reader by instance.
        verbose_name = _("instance history row")
        verbose_name_plural = _("instance history rows")
        indexes = [models.Index(fields=["period", "start"], name="instancehistory_prune")]

    def __str__(self) -> str:
        return f"{self.get_period_display()} from {self.start:%Y-%m-%d %H:%M}: {self.probes} probes"


class Recurrence(models.TextChoices):
    ONCE = "once", _("Once")
    WEEKLY = "weekly", _("Every week")


class MaintenanceWindow(models.Model):
    """A time during which a component, or every component of an application, is in maintenance:
    its health transitions are recorded but not alerted, its status reads "Maintenance", and, when
    ``out_of_routing``, its online instances are taken out of routing at the start and put back at
    the end (``instances.maintenance``). Once (``starts_at`` to ``ends_at``), or every week (the
    weekday and time of ``starts_at``, for as long as ``ends_at - starts_at``, from ``starts_at`` on)."""

    team = models.ForeignKey("core.Team", on_delete=models.CASCADE, related_name="+", verbose_name=_("team"))
    application = models.ForeignKey(
        "components.Application",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("application"),
    )
    component = models.ForeignKey(
        Component,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("component"),
    )
    reason = models.CharField(max_length=200, verbose_name=_("reason"))
    recurrence = models.CharField(
        max_length=8, choices=Recurrence.choices, default=Recurrence.ONCE, verbose_name=_("recurrence")
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    out_of_routing = models.BooleanField(
        default=False,
        help_text=_("Take the online instances out of routing during the window."),
        verbose_name=_("out of routing"),
    )
    # The instances this window took offline when it started, to put back when it ends.
    held_instance_ids = models.JSONField(default=list, blank=True, verbose_name=_("held instance ids"))
    active = models.BooleanField(
        default=False, help_text=_("Started and not yet ended (kept by the tick)."), verbose_name=_("active")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(application__isnull=True, component__isnull=False)
                | Q(application__isnull=False, component__isnull=True),
                name="maintenance_one_subject",
                violation_error_message=_("A window is for one component or one application."),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="maintenance_ends_after_start",
                violation_error_message=_("The window ends after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(recurrence__in=Recurrence.values), name="maintenance_recurrence_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.reason

    def clean(self) -> None:
        if (
            self.recurrence == Recurrence.WEEKLY
            and self.starts_at
            and self.ends_at
            and self.ends_at - self.starts_at >= timedelta(days=7)
        ):
            raise ValidationError({"ends_at": gettext("A weekly window lasts less than a week.")})

    def is_active(self, now: datetime) -> bool:
        return self.current_end(now) is not None

    def current_end(self, now: datetime) -> datetime | None:
        """When the occurrence under way at ``now`` ends; None when none is."""
        if now < self.starts_at:
            return None
        if self.recurrence == Recurrence.ONCE:
            return self.ends_at if now < self.ends_at else None
        week = timedelta(days=7)
        start = self.starts_at + ((now - self.starts_at) // week) * week
        end = start + (self.ends_at - self.starts_at)
        return end if now < end else None


def new_status_page_token() -> str:
    # 192 bits from the operating system's CSPRNG: the status page's address cannot be guessed.
    return secrets.token_urlsafe(24)


class StatusPage(models.Model):
    """An application's public, read-only status page (opt-in): component names, status and uptime
    only, at ``/status/<token>/``, with SVG badges. Unpublishing deletes it; publishing again makes
    a new address."""

    application = models.OneToOneField(
        "components.Application",
        on_delete=models.CASCADE,
        related_name="status_page",
        verbose_name=_("application"),
    )
    token = models.CharField(
        max_length=64, unique=True, default=new_status_page_token, editable=False, verbose_name=_("token")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("status page")
        verbose_name_plural = _("status pages")

    def __str__(self) -> str:
        return f"Status page of {self.application}"

    def __repr__(self) -> str:
        return f"<StatusPage {self.pk} of application {self.application_id}>"  # never the token
