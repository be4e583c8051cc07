"""Rapport settings: one file, configured from the environment.

Defaults are for a laptop (SQLite, a filesystem Celery broker, email written
to files under var/); DATABASE_URL, REDIS_URL and EMAIL_URL switch to
PostgreSQL, Redis and SMTP with no code change.
"""

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
for _folder in ("", "staticfiles", "mail", "media"):
    (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# "Local HTTP" is a shop running Rapport on its own machine over http://127.0.0.1 (`make run`):
# DEBUG may be off, but there is no HTTPS, so Secure cookies, the SSL redirect and HSTS would lock
# everyone out. It is on only while no production setting is given: setting SECRET_KEY or
# ALLOWED_HOSTS (every real deployment must) turns it off, and with it the HTTPS-only defaults
# below come back, so `manage.py check --deploy` stays clean there. LOCAL_HTTP=False/True forces it.
LOCAL_HTTP = env.bool("LOCAL_HTTP", default=not ("SECRET_KEY" in env or "ALLOWED_HOSTS" in env))


def _local_secret_key(path: Path) -> str:
    """The key kept in var/secret_key, made once (0600, written whole then linked, so the web
    workers, the Celery worker and beat starting together all read the same complete key)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50))
    try:
        os.link(tmp, path)  # fails if another process got there first: then theirs is the key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


if "SECRET_KEY" in env:
    SECRET_KEY = env("SECRET_KEY")
elif DEBUG or LOCAL_HTTP:
    SECRET_KEY = _local_secret_key(VAR_DIR / "secret_key")
else:
    raise ImproperlyConfigured("Set SECRET_KEY (50+ random characters) when DEBUG is off outside local HTTP.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "axes",
    "csp",
    "crm",
    "accounts",
    "customers",
    "touchpoints",
    "gifts",
    "automations",
    "community",
    "dashboard",
    "dataio",
    "demo",
    "mailevents",
    "rest_framework",
    "drf_spectacular",
    "tills",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy: self only, no inline script or style (see CONTENT_SECURITY_POLICY).
    "csp.middleware.CSPMiddleware",
    # A query string with a NUL byte gets a clear 400 before any view hands it to PostgreSQL.
    "crm.guards.RejectNullBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view says @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "crm.middleware.ShopTimezoneMiddleware",
    "axes.middleware.AxesMiddleware",
]

# bench/pages.py adds its bare yardstick page (bench/urls.py); never set in production.
ROOT_URLCONF = "bench.urls" if env.bool("RAPPORT_BENCH_URLS", default=False) else "crm.urls"

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
                "crm.context_processors.shop",
            ],
        },
    },
]

WSGI_APPLICATION = "crm.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'rapport.sqlite3'}"),
}
SILENCED_SYSTEM_CHECKS: list[str] = []  # each setting below that needs one adds its reason
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The hot hand-written reads run as PostgreSQL prepared statements (crm/statements.py); False behind a
# pooler in transaction mode, which cannot keep a statement on the connection.
PREPARED_STATEMENTS = env.bool("PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app, the worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # The covering indexes' INCLUDE columns are a PostgreSQL speed-up; SQLite just ignores them.
    SILENCED_SYSTEM_CHECKS += ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "customers:my_day"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username+IP out after 5 failed logins for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# No "AXES: BEGIN ..." banner from every process at start; lockouts are still logged.
AXES_VERBOSE = False

# British English only, with its date and number formats. No translations are loaded: with USE_I18N on,
# every URL reversed and every date formatted looks the active language up three times in a
# context-local, which made a page's 80-odd {% url %} tags cost 47 us each instead of 28.
LANGUAGE_CODE = "en-gb"
USE_I18N = False
# Stored and computed in UTC; pages and planning use the shop's zone (ShopSettings).
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "crm.storage.StaticStorage" if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email -----------------------------------------------------------------
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Rapport <hello@rapport.invalid>")
# Absolute links in emails (unsubscribe, profile) are built from this.
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")

# --- Celery ----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport, except that losing Redis with unacked tasks does not kill the worker.
    CELERY_BROKER_TRANSPORT = "crm.redis_transport:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any task, so a slow task is not redelivered while it runs.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
        # Issue 14: a Redis restart must not kill the worker. Bounded socket waits and a
        # periodic PING make a dead connection fail fast and be rebuilt by the retry below.
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "retry_on_timeout": True,
        "health_check_interval": 10,
    }
    # django-redis rather than Django's own Redis backend: Django's builds a redis-py client on every
    # call (60 to 70 µs each, measured; a card's first visit makes three or four calls), django-redis
    # keeps one per process. Rate limits count with its atomic INCR.
    CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "rapport_cache"}}
    # Without Redis (a laptop), rate limits count in the database cache: shared by every process, but its
    # increment is read-then-write, so two requests at the same instant may count once. Redis is atomic.
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep reconnecting to the broker for as long as it takes (the default gives up after 100 tries
# and the worker exits); the outbox in the database is the truth, so nothing is lost meanwhile.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
# Each app adds its periodic tasks here (see crm/celery.py); times are UTC.
CELERY_BEAT_SCHEDULE: dict = {}
# Dashboard (issue #5): every customer's figures for the passage of time, health/ring snapshots and
# rollups nightly (02:30 UTC); today's rollups hourly.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["dashboard-nightly"] = {
    "task": "dashboard.tasks.dashboard_nightly_task",
    "schedule": crontab(hour=2, minute=30),
}
CELERY_BEAT_SCHEDULE["dashboard-hourly"] = {
    "task": "dashboard.tasks.dashboard_hourly_task",
    "schedule": crontab(minute=5),
}
# Automations (issue #4): planners hourly (idempotent; each works out "today" in the shop's zone),
# the outbox sweep every minute (sends what is due, marks rows stuck in `sending` as `unknown`).
CELERY_BEAT_SCHEDULE["automations-plan"] = {"task": "automations.tasks.automations_plan_task", "schedule": 60 * 60}
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {"task": "automations.tasks.outbox_sweep_task", "schedule": 60}
# A row `sending` longer than this (a worker died mid-send) becomes `unknown`; keep it above EMAIL_TIMEOUT.
OUTBOX_SENDING_TIMEOUT = env.int("OUTBOX_SENDING_TIMEOUT", default=600)
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=60)
# Issue 14 (docs/outbox.md): a message with temporary errors is retried for this long after its
# first attempt (backoff from the base up to the maximum), then fails.
OUTBOX_RETRY_WINDOW_SECONDS = env.int("OUTBOX_RETRY_WINDOW_SECONDS", default=24 * 3600)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=3600)
# The mail breaker: after a connection-level failure nobody sends for base, 2×base… up to max seconds.
OUTBOX_BREAKER_BASE_SECONDS = env.int("OUTBOX_BREAKER_BASE_SECONDS", default=30)
OUTBOX_BREAKER_MAX_SECONDS = env.int("OUTBOX_BREAKER_MAX_SECONDS", default=300)
# How long a worker keeps trying to write down a send's result while the database is unreachable.
OUTBOX_RECORD_RETRY_SECONDS = env.int("OUTBOX_RECORD_RETRY_SECONDS", default=60)
# Community (issue #7): scheduled newsletters are planned when due; day-before event reminders.
CELERY_BEAT_SCHEDULE["newsletters-plan-due"] = {"task": "community.tasks.newsletters_plan_due_task", "schedule": 60}
CELERY_BEAT_SCHEDULE["event-reminders-plan"] = {
    "task": "community.tasks.event_reminders_plan_task",
    "schedule": 15 * 60,
}
# Data: an import whose task was lost with the broker is queued again (crm.tasks.enqueue_on_commit).
CELERY_BEAT_SCHEDULE["import-jobs-requeue"] = {"task": "dataio.tasks.import_jobs_requeue_task", "schedule": 60}

# --- Security ----------------------------------------------------------------
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Bootstrap draws a few icons (select arrows, the menu button) as data: SVGs.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "crm.errors.csrf_failure"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from a meta tag, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not LOCAL_HTTP:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # A 403 or 404 is an answer, not an error: Django would log each as a warning with a
        # traceback. The server's access log already has one line per request; 500s stay ERROR.
        "django.request": {"level": "ERROR"},
        # The worker would log two lines for every task every minute (the sweep); failures still show.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        # django-axes tells of every login in four lines; repeated failures and lockouts are warnings.
        "axes": {"level": "WARNING"},
    },
}

# --- Mail providers, delivery events, replies, calendars (issue 17; docs/mail-providers.md) ----------
# EMAIL_PROVIDER=postmark|mailgun|amazon_ses|brevo|sendgrid sends through django-anymail with the
# provider's key from the environment; without it EMAIL_URL (SMTP) or the files under var/mail/ stay.
MAIL_PROVIDERS = ("postmark", "mailgun", "amazon_ses", "brevo", "sendgrid")
EMAIL_PROVIDER = env("EMAIL_PROVIDER", default="").strip().lower()
if EMAIL_PROVIDER:
    if EMAIL_PROVIDER not in MAIL_PROVIDERS:
        from django.core.exceptions import ImproperlyConfigured  # noqa: E402

        raise ImproperlyConfigured(f"EMAIL_PROVIDER must be one of {', '.join(MAIL_PROVIDERS)}")
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
# Keys are read from variables of the same name; Amazon SES uses boto3's own AWS_* variables.
ANYMAIL = {
    name: env(name)
    for name in (
        "POSTMARK_SERVER_TOKEN",
        "MAILGUN_API_KEY",
        "MAILGUN_SENDER_DOMAIN",
        "MAILGUN_API_URL",
        "MAILGUN_WEBHOOK_SIGNING_KEY",
        "BREVO_API_KEY",
        "SENDGRID_API_KEY",
    )
    if env(name, default="")
}
# "user:password" that each provider's webhook URL carries (basic auth); Mailgun's are also signed.
if env("ANYMAIL_WEBHOOK_SECRET", default=""):
    ANYMAIL["WEBHOOK_SECRET"] = env.list("ANYMAIL_WEBHOOK_SECRET")
# Replies: every customer email's Reply-To is this mailbox with a per-customer tag (box+r42.<sig>@domain).
# Empty: the address in DEFAULT_FROM_EMAIL.
REPLY_TO_EMAIL = env("REPLY_TO_EMAIL", default="")
# A plain mailbox polled for replies: imaps://user:password@host:993/INBOX (imap:// for no TLS). Empty: off.
IMAP_URL = env("IMAP_URL", default="")
CELERY_BEAT_SCHEDULE["mail-events-sweep"] = {"task": "mailevents.tasks.mail_events_sweep_task", "schedule": 5 * 60}
CELERY_BEAT_SCHEDULE["imap-poll"] = {"task": "mailevents.tasks.imap_poll_task", "schedule": 60}

# --- Limits on guessing, sessions, password reset (issue 15; docs/security.md) ------------------
# Counted in the default cache, shared by every process (see crm/ratelimits.py).
RATELIMIT_GIFT_CODES = env("RATELIMIT_GIFT_CODES", default="30/m")
RATELIMIT_PUBLIC_PAGES = env("RATELIMIT_PUBLIC_PAGES", default="30/m")
RATELIMIT_USE_CACHE = "default"
# A session not used for this long ends (a counter PC left logged in): crm.middleware.IdleSessionTimeoutMiddleware.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=8 * 60 * 60)
# However busy, a login lasts at most this long (it was Django's two weeks).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=24 * 60 * 60)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "crm.middleware.IdleSessionTimeoutMiddleware",
)
MIDDLEWARE.append("crm.middleware.NoStoreForLoggedInMiddleware")
MIDDLEWARE.append("crm.middleware.LogClientErrorsMiddleware")
INSTALLED_APPS.append("django_ratelimit")

# --- JSON API and tills (issue #13) -------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
# Requests per API key, counted in the shared cache so every web process agrees.
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": "Customers, touchpoints, purchases, gift codes and follow-ups of a Rapport shop.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": ["api.auth.ApiKeyAuthentication", "rest_framework.authentication.SessionAuthentication"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TouchpointKindEnum": "touchpoints.models.Touchpoint.Kind",
        "GiftCodeKindEnum": "gifts.models.GiftCode.Kind",
    },
}
# Pending till deliveries whose broker message was lost are processed by this sweep.
CELERY_BEAT_SCHEDULE["till-deliveries-sweep"] = {"task": "tills.tasks.deliveries_sweep_task", "schedule": 60}
CELERY_BEAT_SCHEDULE["api-idempotency-prune"] = {"task": "api.tasks.idempotency_prune_task", "schedule": 60 * 60}
