"""Kato Console settings, read from the environment (see README, "Configuration").

Importing them starts nothing, creates no folder and writes no file: what the embedded run keeps
under the var folder is made by its launcher (kato_console/devrun.py).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF

from kato_console import embedded
from kato_console.env import (
    database_config,
    dev_secret_key_file,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    env_url,
    secret_key,
)
from kato_console.signin_settings import (
    LDAP_BACKEND,
    OIDC_BACKEND,
    group_teams,
    ldap_settings,
    oidc_settings,
    with_form_action,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KATO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = secret_key("SECRET_KEY", debug=DEBUG, keep_file=dev_secret_key_file(VAR_DIR))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's assets, served from the console's static files: /api/docs/ works offline.
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "core",
    "components",
    "instances",
    "kato_console.alerts",
    "kato_console.monitoring",
    # The doors: its admin package, management commands and pages (docs/architecture.md).
    "kato_console",
]

MIDDLEWARE = [
    # The client's address from X-Forwarded-For, only behind KATO_TRUSTED_PROXIES (kato_console/proxies.py).
    "kato_console.proxies.TrustedProxies",
    # A NUL byte in the path is a 404 before anything queries with it (kato_console/paths.py).
    "kato_console.paths.RefuseNulInPath",
    # The product's 404 and 500 pages with DEBUG on too (kato_console/error_pages.py).
    "kato_console.error_pages.ProductErrorPages",
    # The database away: a calm 503 for a view's exception, DEBUG or not (kato_console/unavailable.py).
    "kato_console.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the footer's switch (a cookie), else Accept-Language; never on the instance API.
    "kato_console.locale.ConsoleLocale",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page asks for a signed-in user unless its view says login_not_required: the login
    # page, the console API and the instance API (they authenticate by token or key), /metrics.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Times in the reader's time zone, from the browser (kato_console/timezones.py).
    "kato_console.timezones.TimeZoneMiddleware",
    # A service's refusal that a page view did not expect becomes a message (kato_console/domain_errors.py).
    "kato_console.domain_errors.DomainErrorMessages",
    # Last, as django-axes asks: it answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kato_console.urls"
WSGI_APPLICATION = "kato_console.wsgi.application"
ASGI_APPLICATION = "kato_console.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kato_console.pages.context_processors.navigation",
            ],
        },
    },
]

# PostgreSQL only. Without DATABASE_URL: the embedded server of `make run` (its launcher sets the
# variable to the same URL), so that `manage.py` beside a running `make run` finds its database.
_EMBEDDED_PG_PORT = env_int("KATO_EMBEDDED_PG_PORT", embedded.PG_PORT, maximum=65_535)
DATABASES = {"default": database_config("DATABASE_URL", embedded.database_url(_EMBEDDED_PG_PORT))}
# Server-side binding lets psycopg prepare a statement on the server after its fifth run on a
# connection, so PostgreSQL plans the instance API's lookup once per connection, not per request
# (bench/RESULTS.md, "The instance API on the ORM"). A statement then takes at most 65,535 parameters.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
# The database away or too slow (README, "When the database is away"): a persistent connection is
# checked before a request uses it, a connection attempt gives up after KATO_DB_CONNECT_TIMEOUT_S and a
# statement after KATO_DB_STATEMENT_TIMEOUT_S (0: no limit), and the request is answered 503
# (kato_console/unavailable.py) instead of holding a web worker.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["OPTIONS"]["connect_timeout"] = env_int("KATO_DB_CONNECT_TIMEOUT_S", 3, maximum=600)
_statement_ms = 1000 * env_int("KATO_DB_STATEMENT_TIMEOUT_S", 5, minimum=0, maximum=86_400)
_options = DATABASES["default"]["OPTIONS"].get("options", "")  # ?options= in DATABASE_URL, kept
DATABASES["default"]["OPTIONS"]["options"] = f"{_options} -c statement_timeout={_statement_ms}".strip()
# A kept connection that stalls (open, but nothing answers) holds a worker no longer than
# KATO_DB_ANSWER_TIMEOUT_S for any one round trip (kato_console/postgresql): by default the statement
# timeout and 5 s more, so that a slow statement is cancelled by the server first; 0: no limit.
DATABASES["default"]["ENGINE"] = "kato_console.postgresql"
DATABASES["default"]["OPTIONS"]["answer_timeout"] = env_int(
    "KATO_DB_ANSWER_TIMEOUT_S", _statement_ms // 1000 + 5 if _statement_ms else 0, minimum=0, maximum=86_400
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes counts failed logins (the console's and the admin's login pages) and refuses a user
# name from a client address after KATO_LOGIN_FAILURE_LIMIT of them, for KATO_LOGIN_COOLOFF_MIN
# minutes. The API's tokens never go through authenticate(), so they are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Company sign-in (README, "Signing in with company accounts"): LDAP when KATO_LDAP_SERVER_URI is set,
# OpenID Connect when KATO_OIDC_CLIENT_ID is; KATO_GROUP_TEAMS maps their groups to teams. After the
# local accounts: a name that is a local account never signs in through them (kato_console/signin.py).
OIDC_RP_CLIENT_ID = ""  # (the names the code reads; oidc_settings sets them when OIDC is on)
KATO_OIDC_PROVIDER_NAME = ""
KATO_OIDC_GROUPS_CLAIM = "groups"
KATO_OIDC_USERNAME_CLAIM = "preferred_username"
globals().update(ldap_settings(os.environ))
globals().update(oidc_settings(os.environ))
KATO_GROUP_TEAMS = group_teams(os.environ)
if os.environ.get("KATO_LDAP_SERVER_URI", "").strip():
    AUTHENTICATION_BACKENDS.append(LDAP_BACKEND)
if os.environ.get("KATO_OIDC_CLIENT_ID", "").strip():
    AUTHENTICATION_BACKENDS.append(OIDC_BACKEND)
AXES_FAILURE_LIMIT = env_int("KATO_LOGIN_FAILURE_LIMIT", 5, maximum=1000)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("KATO_LOGIN_COOLOFF_MIN", 15, maximum=10_080))
# By user name and address together: a guesser is stopped without locking the user out elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The same client address as the rest of the console (X-Forwarded-For only from KATO_TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "kato_console.proxies.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "apps"
LOGOUT_REDIRECT_URL = "login"

# English and Simplified Chinese (README, "Languages"); the catalogues live in locale/.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic fills it (the Dockerfile runs it); the embedded run (DEBUG) serves from the apps.
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
# A deployment behind TLS turns these on (README, "Configuration"); off by default, since the
# embedded run and many reverse proxies serve plain HTTP to the console.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0, maximum=63_072_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Every page: scripts, styles and everything else from the console itself only; no inline script or
# style (the pages keep theirs in static/), no plug-ins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# With OpenID Connect, sign-out's form ends at the provider (its end-session endpoint).
CONTENT_SECURITY_POLICY = with_form_action(CONTENT_SECURITY_POLICY, globals().get("KATO_OIDC_ORIGINS", []))
X_FRAME_OPTIONS = "DENY"

# Nothing the console shares between processes lives in a cache (the instance API's wrong-secret
# counts are in the database), so the in-process cache is enough.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "kato-console",
    }
}

# Kato Console's own settings.
# Empty: every page and API answer takes the address the request came in on (scheme and host).
KATO_PUBLIC_URL = env_url("KATO_PUBLIC_URL", "", schemes=("http", "https"), optional=True).rstrip("/")
KATO_SERVICE_DOMAIN = env_str("KATO_SERVICE_DOMAIN")
KATO_DENIED_NETWORKS = env_networks(
    "KATO_DENIED_NETWORKS",
    # Link-local (with the cloud metadata address 169.254.169.254), unspecified and multicast.
    ["169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8"],
)
# The gateway (README, "The gateway"): the internal and external service switches route through an
# Envoy that `manage.py run_gateway` keeps in step with the database. KATO_GATEWAY=0 turns routing off.
KATO_GATEWAY = env_bool("KATO_GATEWAY", True)
KATO_GATEWAY_HOST = env_str("KATO_GATEWAY_HOST", "127.0.0.1")
KATO_GATEWAY_PUBLIC_HOST = env_str("KATO_GATEWAY_PUBLIC_HOST", "127.0.0.1")
KATO_GATEWAY_DOMAIN = env_str("KATO_GATEWAY_DOMAIN", "localhost").strip(".")
KATO_GATEWAY_HTTP_PORT = env_int("KATO_GATEWAY_HTTP_PORT", 8080, maximum=65535)
KATO_GATEWAY_INTERNAL_PORTS = env_str("KATO_GATEWAY_INTERNAL_PORTS", "20000-24999")
KATO_GATEWAY_PUBLIC_PORTS = env_str("KATO_GATEWAY_PUBLIC_PORTS", "25000-29999")
KATO_GATEWAY_ADMIN_PORT = env_int("KATO_GATEWAY_ADMIN_PORT", 0, minimum=0, maximum=65535)
KATO_GATEWAY_DRAIN_S = env_int("KATO_GATEWAY_DRAIN_S", 30, minimum=0, maximum=3600)
KATO_GATEWAY_POLL_S = env_int("KATO_GATEWAY_POLL_S", 10, maximum=3600)
# Envoy's worker threads (0: one per core).
KATO_GATEWAY_CONCURRENCY = env_int("KATO_GATEWAY_CONCURRENCY", 0, minimum=0, maximum=256)
# The certificate authorities the gateway trusts for https instances (PEM); empty: the system's.
KATO_GATEWAY_CA_FILE = env_str("KATO_GATEWAY_CA_FILE", "")
# Loopback and the gateway's own addresses as upstreams publish whatever listens on its host: only in
# the embedded run (DEBUG) or when an operator says so.
KATO_GATEWAY_ALLOW_LOOPBACK = env_bool("KATO_GATEWAY_ALLOW_LOOPBACK", DEBUG)
# Django's technical 404 and 500 pages (with DEBUG only), in place of the product's own.
KATO_TECHNICAL_ERROR_PAGES = env_bool("KATO_TECHNICAL_ERROR_PAGES", False)
# Reverse proxies whose X-Forwarded-For names the client (none by default: the peer is the client).
KATO_TRUSTED_PROXIES = env_networks("KATO_TRUSTED_PROXIES", [])
if KATO_TRUSTED_PROXIES:
    # Only the trusted proxies may say that the client's connection was HTTPS: kato_console/proxies.py
    # removes X-Forwarded-Proto from every other peer's request.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The instance API answers 429 to a client address after this many wrong secret keys for one
# component within the window.
KATO_API_WRONG_SECRET_LIMIT = env_int("KATO_API_WRONG_SECRET_LIMIT", 10, maximum=10_000)
KATO_API_WRONG_SECRET_WINDOW_S = env_int("KATO_API_WRONG_SECRET_WINDOW_S", 300, maximum=86_400)
# The most instances one component may have, whoever adds them (instance API, console API, pages,
# admin); under concurrent adds it can be passed by the number of adds in flight (README).
KATO_MAX_INSTANCES_PER_COMPONENT = env_int("KATO_MAX_INSTANCES_PER_COMPONENT", 1000, maximum=1_000_000)
# How many probes one worker process runs at once: "auto" (the default) derives it from the
# process's open-files limit, which the worker raises to its hard limit at start
# (instances.sweep.probe_concurrency: min(limit - 256, 10,000)); a whole number fixes it.
KATO_PROBE_CONCURRENCY: int | str = (
    "auto"
    if os.environ.get("KATO_PROBE_CONCURRENCY", "auto").strip().lower() in ("", "auto")
    else env_int("KATO_PROBE_CONCURRENCY", 200, maximum=10_000)
)
# Audit events older than this many days are deleted by a daily beat task, in batches; 0 keeps them all.
KATO_AUDIT_RETENTION_DAYS = env_int("KATO_AUDIT_RETENTION_DAYS", 365, minimum=0, maximum=36_500)
# /metrics for Prometheus (README, "Prometheus"): off until one of these is set; when both are, a
# scrape must come from an allowed network and carry the token.
KATO_METRICS_TOKEN = env_str("KATO_METRICS_TOKEN")
KATO_METRICS_ALLOWED_NETWORKS = env_networks("KATO_METRICS_ALLOWED_NETWORKS", [])

# Tuning. The defaults suit production, and an operator seldom changes them; the tests and the
# benchmarks do, to make a run quick or measurable (README, "Configuration", last group).
# Seconds between two sweep ticks of Celery beat.
KATO_SWEEP_TICK_S = env_int("KATO_SWEEP_TICK_S", 5, maximum=3600)
# Seconds over which the start times of a chunk's probes are spread (the tests set 0).
KATO_SWEEP_JITTER_S = env_int("KATO_SWEEP_JITTER_S", 2, minimum=0, maximum=3600)
# Instances per sweep_chunk task: large enough that one worker process probes a round of
# 10,000 in two chunks at once, small enough that several workers share a bigger round.
KATO_SWEEP_CHUNK = env_int("KATO_SWEEP_CHUNK", 5000, maximum=100_000)
# "Probe now" answers within this many seconds; probes still running then go on in a Celery worker.
# The overview warns this many days before a probed certificate expires (docs/monitoring.md).
KATO_CERT_WARNING_DAYS = env_int("KATO_CERT_WARNING_DAYS", 21, minimum=1, maximum=365)
KATO_PROBE_NOW_WAIT_S = env_int("KATO_PROBE_NOW_WAIT_S", 5, minimum=1, maximum=60)
# Each process adds its count of the instance API's answers to the database this often (0: at
# every request, as the tests want).
KATO_METRICS_FLUSH_S = env_int("KATO_METRICS_FLUSH_S", 10, minimum=0, maximum=3600)

# Alerts (README, "Alerts"): a failed delivery is tried again KATO_ALERT_RETRIES times, after
# KATO_ALERT_BACKOFF_S × 2ⁿ seconds; each attempt waits at most KATO_ALERT_TIMEOUT_S for the receiver.
KATO_ALERT_RETRIES = env_int("KATO_ALERT_RETRIES", 5, minimum=0, maximum=20)
KATO_ALERT_BACKOFF_S = env_int("KATO_ALERT_BACKOFF_S", 10, minimum=1, maximum=3600)
KATO_ALERT_TIMEOUT_S = env_int("KATO_ALERT_TIMEOUT_S", 10, minimum=1, maximum=60)
# The outbox's dispatcher runs every KATO_ALERT_DISPATCH_S seconds; a queued attempt that no worker
# took within KATO_ALERT_REQUEUE_S seconds (a broker or a worker lost it) is queued again.
KATO_ALERT_DISPATCH_S = env_int("KATO_ALERT_DISPATCH_S", 5, minimum=1, maximum=3600)
KATO_ALERT_REQUEUE_S = env_int("KATO_ALERT_REQUEUE_S", 60, minimum=1, maximum=86_400)

# Email (alerts' email channels) through Django's SMTP backend; without EMAIL_HOST the embedded run
# writes emails to the worker's console instead.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 25, maximum=65_535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = KATO_ALERT_TIMEOUT_S
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kato-console@localhost")

# Celery on Redis. Without CELERY_BROKER_URL: the embedded Redis of `make run`, as for the database.
_EMBEDDED_REDIS_PORT = env_int("KATO_EMBEDDED_REDIS_PORT", embedded.REDIS_PORT, maximum=65_535)
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", embedded.broker_url(_EMBEDDED_REDIS_PORT), schemes=("redis", "rediss", "amqp")
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A sweep chunk takes seconds: a worker takes the next one only when it is free, so that the
# chunks of a round go to every idle worker instead of waiting in one worker's prefetch.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kato_console.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a 400, not a 500, for deep nesting and lone surrogates.
    "DEFAULT_PARSER_CLASSES": [
        "kato_console.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Every list of the console API is paged: ?page=, ?page_size= (default 100, at most 1,000).
    "DEFAULT_PAGINATION_CLASS": "kato_console.api.pagination.ConsolePagination",
    "PAGE_SIZE": 100,
    # The database away: 503 with Retry-After, in DRF's format (kato_console/unavailable.py).
    "EXCEPTION_HANDLER": "kato_console.unavailable.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kato Console API",
    "DESCRIPTION": (
        "The console API (/api/v1/, token or session authentication, scoped to your teams) and the "
        "Kato-compatible, secret-keyed instance endpoint (/console/third_party/<service_id>)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "kato_console.logging.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # urllib3 logs every request's path and query at DEBUG: a Slack-compatible webhook's URL
        # carries its token there (alerts).
        "urllib3": {"level": "WARNING"},
    },
}
