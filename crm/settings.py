"""Settings for the patient CRM, driven by environment variables (see README)."""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.csp import CSP

from crm.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_str,
    env_time_range,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (use a long random value)."
        )
    # Development only: a fresh key per process is fine, sessions just do not survive
    # restarts.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "oauth2_provider",
    "crm",
    "patients",
    "referrals",
    "interactions",
    "appointments",
    "messaging",
    "integrations",
    "selfservice",
    "api",
    "frontend",
]

MIDDLEWARE = [
    "crm.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.authentication.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "crm.audit.AccessLogMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Browser sessions end after this many idle minutes (the expiry slides with use).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60

# Lockout after repeated failed sign-ins (django-axes): a user name after a few, an
# address only after many (a clinic is one address behind NAT). An administrator unlocks
# in the admin (Axes > Access attempts) or with `manage.py axes_reset_username`.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 100, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # both counted; LockoutHandler decides
AXES_HANDLER = "crm.authentication.LockoutHandler"
AXES_RESET_ON_SUCCESS = True
# Proxies in front of the application that append to X-Forwarded-For (0: none; the
# connection's address is the client's).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "crm.authentication.client_address"

# Break the glass: how long emergency access to a patient's restricted items lasts.
EMERGENCY_ACCESS_DURATION = timedelta(minutes=env_int("EMERGENCY_ACCESS_MINUTES", 60, minimum=1))
AXES_LOCKOUT_CALLABLE = "crm.authentication.lockout_response"

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

POSTGRESQL_OPTIONS = " ".join(
    (
        # The worklists' queries are short: compiling them (JIT) costs more than it
        # saves, up to half of a 400 ms query at a million patients.
        "-c jit=off",
        # How alike two names must be for the search to offer one for the other
        # (trigram similarity; one typo in a given and family name is about 0.5).
        "-c pg_trgm.similarity_threshold=0.45",
    )
)
DATABASES = {
    "default": env_database("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database is a file, not memory, so that each thread of the live server the
    # browser tests use has its own connection (the web app loads answers in parallel);
    # one file per test process.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"crm-test-{os.getpid()}.sqlite3")
    }
    # The web server and a worker write the same file (`make run`): a transaction takes
    # the write lock when it starts and waits for it, rather than failing when a read
    # turns into a write; readers do not block the writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = POSTGRESQL_OPTIONS
# A streaming replica of the database, for the reads that may be a moment behind the
# primary: the change feed, exports and metrics (``crm.db.replica_reads``). Without one
# the alias is the primary's own settings, never connected to. Tests read the primary
# through it (a test mirror); migrations never run on it.
READ_REPLICA = bool(env_str("DATABASE_REPLICA_URL", ""))
DATABASES["replica"] = (
    env_database("DATABASE_REPLICA_URL", default="")
    if READ_REPLICA
    else dict(DATABASES["default"])
)
if DATABASES["replica"]["ENGINE"].endswith("postgresql"):
    DATABASES["replica"].setdefault("OPTIONS", {})["options"] = POSTGRESQL_OPTIONS
DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["crm.db.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
# Browser libraries come from npm (frontend/package.json), never from a CDN.
STATICFILES_DIRS = [
    ("vendor/chart.js", BASE_DIR / "frontend" / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "crm.storage.StaticFilesStorage"
    },
}

# Transport and browser hardening: on whenever DEBUG is off, each switchable for a
# deployment behind a TLS-terminating proxy (set SECURE_PROXY_SSL_HEADER=true there).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# A load balancer and a metrics scraper talk to the server itself, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_PRELOAD = True
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# No inline or third-party scripts anywhere; inline styles only (the API docs use them).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = LOGOUT_REDIRECT_URL = "/"

# Phone numbers typed without a country code are read in this region.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with WWW-Authenticate.
        "api.authentication.ApiTokenAuthentication",
        "api.authentication.ClientCredentialsAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "api.permissions.HasStaffRole",
        "api.permissions.SectionPermission",
    ],
    "DEFAULT_FILTER_BACKENDS": ["api.filtering.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "crm.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "UNICODE_JSON": True,
    "STRICT_JSON": True,
    "PAGE_SIZE": 50,
}

# Integration clients (crm.integrations): client credentials only, short-lived tokens,
# scopes per client; only a hash of each client's secret is kept.
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "crm.integrations.ClientScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_TOKEN_SECONDS", 900),
    "OAUTH2_VALIDATOR_CLASS": "crm.integrations.ClientCredentialsOnly",
    # The OAuth 2.0 security best practice (RFC 9700) throughout: tokens kept hashed,
    # none in query strings, and the flows clients here never use closed or tightened.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
# Wrong client credentials one address may send in 10 minutes before it gets 429s.
OAUTH_FAILURES = env_int("OAUTH_FAILURES", 20, minimum=1)
# The toolkit's own models (Django reads these names when it plans migrations).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"

SPECTACULAR_SETTINGS = {
    "TITLE": "Patient CRM API",
    "DESCRIPTION": (
        "The 360-degree patient record, interactions on every channel, closed-loop "
        "referrals and follow-ups. Every error has the same body: "
        "`{message, code, errors}`. Updates accept `If-Match` with the record's "
        "`version` and answer 412 when it is stale; creates accept an "
        "`Idempotency-Key` header so a retried POST is answered from the first result."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.HasStaffRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "crm.choices.Channel",
        "DepartmentEnum": "crm.choices.Department",
        "MessageChannelEnum": "messaging.choices.MessageChannel",
        "AppointmentStatusEnum": "appointments.choices.AppointmentStatus",
        "MessageStatusEnum": "messaging.choices.MessageStatus",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
}

# The cache: Redis in production (CACHE_URL=redis://...), so the patient pages' request
# limits hold across server processes; in memory, per process, when unset.
_cache_url = env_str("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Requests one address may make to the patient pages in 10 minutes.
SELF_SERVICE_REQUESTS = env_int("SELF_SERVICE_REQUESTS", 60, minimum=1)

# The bearer token a Prometheus scraper sends for /metrics (crm/metrics.py); unset, there
# is no /metrics.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters long.")

# Idempotency keys are kept this long; a retry after that is treated as a new request.
IDEMPOTENCY_KEY_TTL = timedelta(hours=env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24, minimum=1))

# Background work (crm/celery.py). Without a broker, tasks run in the calling process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_BROKER_URL == "filesystem://":
    # A broker with no server, for `make run`: each queued task is a file here.
    _spool = str(BASE_DIR / "var" / "celery" / "queue")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _spool,
        "data_folder_out": _spool,
        "store_processed": False,
    }
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged when it has run, not when it was received: a worker that dies
# mid-task leaves it for another worker. Tasks are written to be safe to run again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "crm"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "care-rules": {
        "task": "referrals.run_care_rules",
        "schedule": env_int("CARE_RULES_EVERY_SECONDS", 300, minimum=10),
    },
}

CELERY_BEAT_SCHEDULE["messages"] = {
    "task": "messaging.dispatch",
    "schedule": env_int("MESSAGES_EVERY_SECONDS", 15, minimum=1),
}

CELERY_BEAT_SCHEDULE["webhooks"] = {
    "task": "integrations.deliver",
    "schedule": env_int("WEBHOOKS_EVERY_SECONDS", 10, minimum=1),
}
CELERY_BEAT_SCHEDULE["exports"] = {"task": "integrations.expire_exports", "schedule": 3600}
CELERY_BEAT_SCHEDULE["duplicates"] = {
    "task": "patients.scan_duplicates",
    "schedule": env_int("DUPLICATE_SCAN_EVERY_SECONDS", 86400, minimum=60),
}
# The identifier system FHIR gives the clinic's MRNs.
FHIR_MRN_SYSTEM = env_str("FHIR_MRN_SYSTEM", "urn:oid:2.16.840.1.113883.3.0000.1")
# Where bulk exports are written, and how long their files are kept.
EXPORT_DIR = env_str("EXPORT_DIR", str(BASE_DIR / "var" / "exports"))
EXPORT_HOURS = env_int("EXPORT_HOURS", 24, minimum=1)
# Changes per webhook POST (integrations.webhooks); whether a webhook may point at a
# private, loopback or link-local address (off: a client cannot aim the server at the
# clinic's own network).
WEBHOOK_BATCH = env_int("WEBHOOK_BATCH", 100, minimum=1)
WEBHOOK_PRIVATE_ADDRESSES = env_bool("WEBHOOK_PRIVATE_ADDRESSES", False)

# The clinic, as messages name it.
CLINIC_NAME = env_str("CLINIC_NAME", "Riverside Community Clinic")
CLINIC_PHONE = env_str("CLINIC_PHONE", "+1 555 010 0100")
CLINIC_ADDRESS = env_str("CLINIC_ADDRESS", "100 Main Street, Springfield")
CLINIC_REPLY_TO = env_str("CLINIC_REPLY_TO", "care@clinic.example")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@clinic.example")
# Where patients' links and the provider's webhooks reach this server.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Messages (messaging/). Automated messages wait for the patient's contact window, or
# when they gave none, for these hours in their time zone.
MESSAGING_HOURS = env_time_range("MESSAGING_HOURS", "08:00-20:00")
MESSAGES_PER_BATCH = env_int("MESSAGES_PER_BATCH", 200, minimum=1)
MESSAGE_ATTEMPTS = env_int("MESSAGE_ATTEMPTS", 5, minimum=1)
# A worker holds a message this long; after that another worker may send it again.
MESSAGE_LEASE_SECONDS = env_int("MESSAGE_LEASE_SECONDS", 600, minimum=1)
# How soon staff should answer a patient's text.
MESSAGE_ANSWER_WITHIN = timedelta(minutes=env_int("MESSAGE_ANSWER_WITHIN_MINUTES", 240, minimum=1))

# SMS: "twilio" in production; "console" writes texts to SMS_OUTBOX_FILE instead.
SMS_BACKEND = env_choice("SMS_BACKEND", ["console", "twilio"], "console")
SMS_OUTBOX_FILE = env_str("SMS_OUTBOX_FILE", str(BASE_DIR / "var" / "outbox" / "sms.jsonl"))
SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 10, minimum=1)
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")
if SMS_BACKEND == "twilio" and not (
    TWILIO_ACCOUNT_SID
    and TWILIO_AUTH_TOKEN
    and (TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID)
):
    raise ImproperlyConfigured(
        "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."
    )

# Email: SMTP when EMAIL_HOST is set; otherwise each email is written to a file.
_smtp_host = env_str("EMAIL_HOST", "")
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _smtp_host,
            "port": env_int("EMAIL_PORT", 587, minimum=1),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
            "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
        },
    }
    if _smtp_host
    else {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {
            "file_path": env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "outbox" / "email"))
        },
    }
}
# An email counts as delivered when the mail server takes it only where that server is
# the end of the line (the file backend); an SMTP relay's acceptance is "sent".
EMAIL_DELIVERED_ON_SEND = not _smtp_host

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"no_query_strings": {"()": "crm.logging.StripQueryStrings"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_query_strings"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request-level warnings repeat URLs and sometimes bodies; keep them out.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "INFO"},
        # The SMS client logs each request's address and headers at INFO.
        "twilio": {"level": "WARNING"},
        # Without a broker every queued message runs a task in the web process.
        "celery.app.trace": {"level": "WARNING"},
    },
}
