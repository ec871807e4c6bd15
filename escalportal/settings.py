"""escalportal settings: one file, every value from the environment.

With nothing set, everything runs locally: SQLite (WAL) under ``var/`` for data, kombu's
SQLAlchemy transport on another SQLite file as the Celery broker. Production sets
``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` (Redis), ``SECRET_KEY`` and ``DEBUG=0``.
"""

from __future__ import annotations

from pathlib import Path

from apps.accounts.roles import Role
from escalportal.env import (
    ConfigError,
    broker_url,
    database_config,
    env_bool,
    env_choice_list,
    env_int,
    env_int_list,
    env_list,
    env_mapping,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ESCALPORTAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSECURE_DEFAULT_KEY = "insecure-dev-key-change-me"
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEFAULT_KEY:
    raise ConfigError("SECRET_KEY must be set when DEBUG is off (the default key is public)")
if not DEBUG and len(SECRET_KEY) < 32:
    raise ConfigError("SECRET_KEY must be at least 32 characters when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# seed_demo creates logins with a published password: only where this is on.
DEMO_DATA_ALLOWED = env_bool("DEMO_DATA_ALLOWED", DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "guardian",
    "django_tables2",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "apps.common",
    "apps.accounts",
    "apps.audit",
    "apps.exports",
    "apps.timers",
    "apps.contacts",
    "apps.notifications",
    "apps.policies",
    "apps.escalations",
    "apps.approvals",
    "apps.protection",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, which answers static files itself (pre-compressed, brotli and gzip);
    # above everything that writes a body. Why gzip is safe here: README.md, "Deployment".
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Times on every page in the reader's own zone (Person.timezone).
    "apps.contacts.middleware.ReaderTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: an ended session says why on the sign-in page.
    "apps.accounts.middleware.SessionLifetimeMiddleware",
    "apps.accounts.middleware.TwoFactorMiddleware",
    "apps.accounts.middleware.NoStoreMiddleware",
    # Auditors change nothing: their writes are refused before any view (issue 11).
    "apps.audit.middleware.ReadOnlyAuditorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks, so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "escalportal.urls"
WSGI_APPLICATION = "escalportal.wsgi.application"
ASGI_APPLICATION = "escalportal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": database_config("DATABASE_URL", str(VAR_DIR / "escalportal.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Answers nothing unless OIDC_RP_CLIENT_ID is set (see "Single sign-on" below).
    "apps.accounts.oidc.PortalOIDCBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling: five failures lock the username+IP pair for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# Sessions end after SESSION_IDLE_TIMEOUT_MINUTES without a request and SESSION_MAX_AGE_HOURS
# after sign-in, whichever comes first (apps.accounts.middleware.SessionLifetimeMiddleware keeps
# both clocks in the session, so they hold for database and signed-cookie sessions alike). The
# cookie is not kept past the browser's closing for the roles in SESSION_BROWSER_CLOSE_ROLES (people who read protection cases or change policies on
# a machine someone else may use next).
ROLE_VALUES = [role.value for role in Role]
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 8 * 60, minimum=1)
SESSION_MAX_AGE_HOURS = env_int("SESSION_MAX_AGE_HOURS", 24, minimum=1)
SESSION_BROWSER_CLOSE_ROLES = env_choice_list(
    "SESSION_BROWSER_CLOSE_ROLES", [Role.HR_COMPLIANCE.value, Role.GOVERNANCE_ADMIN.value], choices=ROLE_VALUES
)
# The middleware ends the session and says why; the cookie and the stored session outlive that
# by an hour (from the last activity) so the person is told the reason, then they go too.
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60 + 3600
# Activity is written to the session at most this often (seconds), not on every request.
SESSION_ACTIVITY_RESOLUTION = 60

# Two-factor sign-in (django-otp, TOTP, with single-use recovery codes): required for these
# roles, optional for everyone else. Empty (OTP_REQUIRED_ROLES=) makes it optional for all.
OTP_REQUIRED_ROLES = env_choice_list(
    "OTP_REQUIRED_ROLES",
    [Role.HR_COMPLIANCE.value, Role.AUDITOR.value, Role.GOVERNANCE_ADMIN.value],
    choices=ROLE_VALUES,
)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "escalportal")
OTP_RECOVERY_CODES = 10

# Single sign-on with OpenID Connect (mozilla-django-oidc), on when OIDC_RP_CLIENT_ID is set.
# Local accounts keep working beside it. OIDC_ROLE_MAP maps the provider's groups to roles.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "").strip()
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_url("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_url("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_url("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_url("OIDC_OP_JWKS_ENDPOINT") or None
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_ROLE_MAP = env_mapping("OIDC_ROLE_MAP", value_choices=ROLE_VALUES)
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USER", True)
# Off: the portal's own two-factor sign-in applies after single sign-on too. On only when the
# provider itself requires a second factor of everyone who signs in through it.
OIDC_COUNTS_AS_TWO_FACTOR = env_bool("OIDC_COUNTS_AS_TWO_FACTOR", False)
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)
OIDC_AUTHENTICATION_CALLBACK_URL = "account:oidc_callback"
if OIDC_ENABLED:
    _oidc_needs = {
        "OIDC_RP_CLIENT_SECRET": OIDC_RP_CLIENT_SECRET,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
        "OIDC_OP_TOKEN_ENDPOINT": OIDC_OP_TOKEN_ENDPOINT,
        "OIDC_OP_USER_ENDPOINT": OIDC_OP_USER_ENDPOINT,
    }
    _oidc_missing = [name for name, value in _oidc_needs.items() if not value]
    if _oidc_missing:
        raise ConfigError(f"{_oidc_missing[0]} must be set when OIDC_RP_CLIENT_ID is (single sign-on)")
    if OIDC_RP_SIGN_ALGO not in ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256"):
        raise ConfigError(f"OIDC_RP_SIGN_ALGO={OIDC_RP_SIGN_ALGO!r} is not RS256/384/512, ES256/384/512 or HS256")
    if OIDC_RP_SIGN_ALGO[:2] in ("RS", "ES") and not OIDC_OP_JWKS_ENDPOINT:
        raise ConfigError(f"OIDC_OP_JWKS_ENDPOINT must be set for OIDC_RP_SIGN_ALGO={OIDC_RP_SIGN_ALGO}")

# Guardian: anonymous users never get object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = True

LANGUAGE_CODE = "en-gb"
# Dates and times are typed as ISO whatever the locale (escalportal/formats).
FORMAT_MODULE_PATH = ["escalportal.formats"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
# Export files (apps.exports): written by a worker, downloaded through the web processes, so
# with several machines EXPORT_DIR is a directory they share (a volume).
EXPORT_DIR = Path(env_str("EXPORT_DIR", str(VAR_DIR / "exports")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": EXPORT_DIR}},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "escalportal <escalportal@localhost>")

# Password reset by email: on when the portal can send email (EMAIL_HOST is set), unless told.
PASSWORD_RESET_ENABLED = env_bool("PASSWORD_RESET_ENABLED", bool(EMAIL_HOST))
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_MINUTES", 60, minimum=5) * 60

# Notifications (apps.notifications): a phone number is reached through an HTTP SMS gateway
# that takes POST {"to": number, "message": text}; unset, SMS is skipped for the person's
# next contact method. Chat webhooks and the gateway get NOTIFICATIONS_WEBHOOK_TIMEOUT seconds.
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "").strip()
if SMS_GATEWAY_URL and not SMS_GATEWAY_URL.lower().startswith(("http://", "https://")):
    raise ConfigError(f"SMS_GATEWAY_URL={SMS_GATEWAY_URL!r} must be an http:// or https:// URL")
SMS_GATEWAY_TOKEN = env_str("SMS_GATEWAY_TOKEN", "")
NOTIFICATIONS_WEBHOOK_TIMEOUT = env_int("NOTIFICATIONS_WEBHOOK_TIMEOUT", 10, minimum=1)
# Seconds before each retry of a contact method that failed (tried once more per value), then
# the person's next method: 30,120 is three tries in about two and a half minutes.
NOTIFICATIONS_RETRY_SECONDS = env_int_list("NOTIFICATIONS_RETRY_SECONDS", [30, 120], minimum=1)
# A person's first contact method is retried quicker when the escalation is SEV1, so their next
# method is reached within about half a minute instead of two and a half (issue 14, item 6).
NOTIFICATIONS_RETRY_SECONDS_BY_SEVERITY = {
    "sev1": env_int_list("NOTIFICATIONS_RETRY_SECONDS_SEV1", [10, 20], minimum=1),
}
# /healthz fails when a message has been due this long without being sent (a stopped delivery
# worker, a hung pool): the retry sweep runs every few seconds, so a healthy outbox stays far below.
NOTIFICATIONS_STUCK_AFTER = env_int("NOTIFICATIONS_STUCK_AFTER", 300, minimum=60)
# The outbox's retry sweep (beat) re-queues messages whose task was lost (a killed worker, a
# broker outage) and beats the delivery heartbeat /healthz reads (stale after three intervals).
NOTIFICATIONS_SWEEP_INTERVAL = env_int("NOTIFICATIONS_SWEEP_INTERVAL", 5, minimum=1)
# How long a worker holds a message it is sending: a killed worker's message is taken up again
# this long after the claim. It must outlast any send (each SMTP or HTTP step times out).
NOTIFICATIONS_LEASE_SECONDS = env_int("NOTIFICATIONS_LEASE_SECONDS", 30, minimum=5)
if NOTIFICATIONS_LEASE_SECONDS < 2 * max(EMAIL_TIMEOUT, NOTIFICATIONS_WEBHOOK_TIMEOUT) + 5:
    raise ConfigError(
        "NOTIFICATIONS_LEASE_SECONDS must be at least twice EMAIL_TIMEOUT and "
        "NOTIFICATIONS_WEBHOOK_TIMEOUT, plus 5 (a send must end before its lease does)"
    )

# Security: strict when DEBUG is off (production behind TLS).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy: everything is served from static/, so nothing else is allowed.
# Applied in development too, so a violation shows up before production.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Celery: Redis in production; kombu's SQLAlchemy transport on a SQLite file otherwise, so
# `make run` needs no server and takes the same code path.
CELERY_BROKER_URL = broker_url(
    "CELERY_BROKER_URL", f"sqlalchemy+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# kombu's SQLAlchemy transport hands every transport option to create_engine(), so only
# Redis gets the visibility timeout. (The embedded broker never redelivers a message its
# worker took; the deadline sweep is what recovers from a lost worker there.)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT} if CELERY_BROKER_URL.startswith("redis") else {}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# A worker killed mid-task loses nothing: the message is acknowledged only after the task,
# and requeued when the worker process dies. Every task must therefore be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# One message at a time on Redis (a killed worker's unacknowledged messages are redelivered, so a
# small prefetch loses no time). The embedded broker hands a worker one message per poll, so it
# prefetches more: a burst of deliveries then drains eight at a time instead of one (a message a
# worker died holding is recovered by the deadline sweep and the notification retry sweep).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1 if CELERY_BROKER_URL.startswith("redis") else 8
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# The deadline sweep has a queue of its own. In production one small worker consumes it alone
# (`--queues=timers`, the Procfile's `sweeper`) and the others `--queues=celery`: a worker holds
# every ETA task it has received, so a sweep that reaches a busy worker waits behind the whole
# burst (bench/escalations.py, 1,000 deadlines due at once: no sweep for 20 s on PostgreSQL +
# Redis with shared workers, 1.3 s with a sweeper). A worker started without --queues (make run)
# consumes both, which is enough on one machine.
CELERY_TASK_QUEUES = {"celery": {}, "timers": {}}
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"timers.sweep_due_deadlines": {"queue": "timers"}}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Timers: the beat sweep interval; /healthz fails when the last sweep is older than three.
TIMERS_SWEEP_INTERVAL = env_int("TIMERS_SWEEP_INTERVAL", 2, minimum=1)
TIMERS_SWEEP_BATCH = env_int("TIMERS_SWEEP_BATCH", 200, minimum=1)
# ETA tasks are only queued for deadlines due within this many seconds of being scheduled; the
# sweeper fires every deadline at its time anyway (it sleeps until the next one), so an ETA task
# is a second way to be on time while a sweeper restarts, bought with a Celery task's CPU per
# firing. Later ones are the sweeper's alone (bench/timers.py: twice the firings per core). It
# must stay under the visibility timeout: Redis redelivers a message unacknowledged that long.
TIMERS_ETA_HORIZON = env_int("TIMERS_ETA_HORIZON", min(10, CELERY_VISIBILITY_TIMEOUT - 1), minimum=0)
if TIMERS_ETA_HORIZON >= CELERY_VISIBILITY_TIMEOUT:
    raise ConfigError("TIMERS_ETA_HORIZON must be shorter than CELERY_VISIBILITY_TIMEOUT")

# Exports (issue 13): a list with more rows than this is written to a file by a worker instead
# of streamed. bench/exports.py streamed the decision log at about 5,700 rows a second on a
# loaded 2-core machine, so 20,000 rows take 3-4 s, well inside gunicorn's 30 s timeout. The
# file is kept EXPORT_KEEP_HOURS; a job whose worker has not reported for EXPORT_STALE_MINUTES
# is marked as not finished.
EXPORT_STREAM_MAX_ROWS = env_int("EXPORT_STREAM_MAX_ROWS", 20000, minimum=1)
EXPORT_KEEP_HOURS = env_int("EXPORT_KEEP_HOURS", 24, minimum=1)
EXPORT_STALE_MINUTES = env_int("EXPORT_STALE_MINUTES", 10, minimum=1)

# The audit chain is an HMAC chain: without this key, someone with write access to the
# database cannot forge a row that verifies. Kept apart from SECRET_KEY in production.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY", "") or SECRET_KEY

# Escalations: stakeholder update cadence by severity (minutes), and how long a resolved
# escalation waits for the raiser's confirmation before it closes itself.
ESCALATION_UPDATE_MINUTES = {
    "sev1": env_int("ESCALATION_UPDATE_MINUTES_SEV1", 30, minimum=1),
    "sev2": env_int("ESCALATION_UPDATE_MINUTES_SEV2", 60, minimum=1),
    "sev3": env_int("ESCALATION_UPDATE_MINUTES_SEV3", 240, minimum=1),
    "sev4": env_int("ESCALATION_UPDATE_MINUTES_SEV4", 1440, minimum=1),
}
ESCALATION_AUTO_CLOSE_HOURS = env_int("ESCALATION_AUTO_CLOSE_HOURS", 72, minimum=1)

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}
SPECTACULAR_SETTINGS = {"TITLE": "escalportal API", "VERSION": "0.1.0"}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
