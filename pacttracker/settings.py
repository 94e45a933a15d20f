"""Pact Tracker settings: one module, configured from the environment.

Every setting read here is listed in `.env.example`. The defaults give the embedded set-up
(SQLite, Celery over kombu's filesystem transport), so a fresh clone runs with no services.
A bad value fails loudly at start-up instead of being silently ignored.

Settings come from the environment, then from a `.env` file in the project folder (KEY=VALUE
lines; `make` writes one with the embedded set-up's DEBUG=1), so that every `manage.py`
command works the same outside `make`. The environment wins over the file. ENV_FILE names
another file; ENV_FILE= (empty) reads none.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
_INLINE_COMMENT = re.compile(r"\s+#")


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of a .env file, as docker compose reads them: `#` starts a comment
    (after a space, on an unquoted value), `export ` and matching quotes around a value are
    dropped. Anything else is an error naming the line: a typo must not pass unnoticed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            raise ImproperlyConfigured(f"{path}, line {number}: expected KEY=VALUE, got {line!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = _INLINE_COMMENT.split(value, maxsplit=1)[0]
        values[key] = value
    return values


def _env_file() -> dict[str, str]:
    path = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
    return read_env_file(Path(path)) if path and Path(path).is_file() else {}


_FROM_FILE = _env_file()


def _env(name: str) -> str | None:
    """The variable from the environment, else from the .env file, else None."""
    return os.environ.get(name, _FROM_FILE.get(name))


def env_str(name: str, default: str = "") -> str:
    value = _env(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    raw = _env(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off (see .env.example).")
    # Only reachable with DEBUG on: a fixed key keeps sessions across dev-server restarts.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105  # nosec B105  # DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.syndication",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "template_partials",
    "parties",
    "agreements",
    "ratification",
    "forecasting",
    "transfer",
    "accounts",
    "notify",
    "web",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A database outage in a view: 503 with Retry-After, not a 500 (pacttracker/errors.py).
    "pacttracker.middleware.ServiceUnavailableMiddleware",
    # With DEBUG on, an unknown /api/ address still gets JSON, not Django's technical 404 page.
    # Before CommonMiddleware, so it sees the 404 after the missing-slash redirect was decided.
    "pacttracker.middleware.ApiNotFoundMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records 403s, rejected tokens and 429s in the audit log (accounts.audit); placed after
    # authentication so it knows the user, before the rest so it sees their refusals too.
    "accounts.audit.AuditDenialsMiddleware",
    # Sign-in POSTs per address (LOGIN_THROTTLE_RATE), after the audit log so it records them.
    "accounts.throttling.LoginRateLimitMiddleware",
    "pacttracker.middleware.ReadRequiresLoginMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A merged agreement's old page addresses: 301 to the agreement that stays.
    "pacttracker.middleware.MergedAgreementRedirectMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # After the CSP middleware, so that its 400 carries the policy too.
    "pacttracker.middleware.RefuseNulMiddleware",
    # An empty API query parameter is as if not given (the schema says so).
    "apikit.filtering.BlankQueryParametersMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pacttracker.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "pacttracker.wsgi.application"

# Databases ---------------------------------------------------------------------------------
# SQLite by default; DATABASE_URL (postgres://user@host:port/name) selects PostgreSQL via psycopg 3.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")),
            "OPTIONS": {
                # The web server and the Celery worker write the same file: WAL lets readers go on
                # while one writes, IMMEDIATE takes the write lock up front instead of failing
                # half-way through a transaction, and the timeout waits for the lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: per process by default. CACHE_URL (redis://host:port/db) shares one between the web
# processes, which the API's throttle counters and cached responses need to count and hit
# across gunicorn workers.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            # Redis down: reads miss and writes are dropped, with a warning, instead of a 500 on
            # every request (pacttracker/cache.py). Short timeouts keep a dead Redis from
            # holding each request for long.
            "BACKEND": "pacttracker.cache.DegradingRedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": env_int("CACHE_TIMEOUT_SECONDS", 1),
                "socket_timeout": env_int("CACHE_TIMEOUT_SECONDS", 1),
            },
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// address, got {CACHE_URL!r}")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# django-axes first: it refuses a locked-out sign-in before the password is even checked. It
# watches sign-ins (the login page, the admin); API tokens and sessions do not pass through it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "pages:home"
LOGOUT_REDIRECT_URL = "pages:home"
# Failed sign-ins: after AXES_FAILURE_LIMIT failures for one username from one address, that
# pair is refused for AXES_COOLOFF_MINUTES. The pair, not the username alone, so that a stranger
# cannot lock an editor out by guessing at their account.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Sign-in attempts from one address, whatever the usernames, beyond which it gets a 429 (the
# lockout above is per username); counted in the default cache like the API's throttles.
LOGIN_THROTTLE_RATE = env_str("LOGIN_THROTTLE_RATE", "30/minute")

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# The product is in English only. Without the translation machinery every value a template
# prints skips a look-up of the active language through a context-local (10-15 % of a page's
# time). Formats are unchanged: Django still applies its English locale's ("Sept. 11, 2025")
# over the settings below, so pages print their dates explicitly, as ISO 8601.
USE_I18N = False
USE_TZ = True
# Dates are shown as ISO 8601 everywhere: 2025-09-11 cannot be misread across countries.
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
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

# Security ----------------------------------------------------------------------------------
# Secure by default: with DEBUG off, plain-http requests are redirected to https, browsers are
# told to use https only (HSTS), cookies are sent over https only, and X-Forwarded-Proto from
# the proxy in front says which requests came over https. Each can be turned off by name
# (.env.example says when that is right, e.g. SECURE_SSL_REDIRECT=0 behind a proxy that
# redirects itself). `manage.py check --deploy --fail-level WARNING` passes with DEBUG=0,
# SECRET_KEY and ALLOWED_HOSTS alone (CI runs exactly that).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# An hour to start with: a mistake (https breaking) locks browsers out for an hour, not a year.
# Raise it (31536000, a year) once https has worked for a while.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trusting the header is safe only when a proxy sets it on every request (overwriting the
# client's); with gunicorn facing clients directly, turn it off.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", not DEBUG) else None
)
# Whether HSTS covers every subdomain (W005) and asks to be preloaded into browsers (W021) is a
# decision about the whole domain, which may serve other sites over plain http, and preloading
# is hard to undo: the deployment makes it (SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD),
# so check --deploy does not fail for want of them.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Request sizes (docs/security.md) -----------------------------------------------------------
# A form body (files aside) larger than this gets a 400 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# The largest form is the new agreement's procedure (about five fields per step per party):
# room for a multilateral agreement of fifty parties, refusing anything far beyond.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 2000)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 5)
# Uploaded files above this size are streamed to a temporary file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# The import page refuses a larger file with a form error, judged on its size before it is read.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 5_242_880)

# Email: the console by default; EMAIL_URL-style pieces select SMTP.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pact Tracker <noreply@localhost>")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)  # seconds; below the send task's time limit
# Where the site is served, for the links in emails (there is no request to take it from).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, got {SITE_URL!r}")

# REST framework ----------------------------------------------------------------------------
# Plumbing shared by every endpoint lives in apikit/; token authentication in accounts/.
REST_FRAMEWORK = {
    # Token first: its `WWW-Authenticate` header turns "not signed in" into a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apikit.permissions.ReadOpenWriteEditors"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apikit.throttling.AnonThrottle",
        "apikit.throttling.TokenThrottle",
        "apikit.throttling.SessionUserThrottle",
    ],
    # Read at request time (apikit.throttling), so tests can change them with `settings`.
    # Behind N trusted proxies, the client is the Nth address from the right of X-Forwarded-For;
    # with 0 the header is ignored, so a client cannot pick its own throttling identity.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "120/minute"),
        "token": env_str("API_THROTTLE_TOKEN", "1200/minute"),
        "user": env_str("API_THROTTLE_USER", "1200/minute"),
    },
    "DEFAULT_PARSER_CLASSES": ["apikit.bodies.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "apikit.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["apikit.filtering.BlankMeansAnyFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apikit.pagination.StablePageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "EXCEPTION_HANDLER": "pacttracker.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apikit.schema.AutoSchema",
}
# The largest JSON body the API parses; a bigger one gets a 413 before any parsing.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1_048_576)
SPECTACULAR_SETTINGS = {
    "TITLE": "Pact Tracker API",
    "DESCRIPTION": (
        "International agreements, each party's ratification steps, and their status.\n\n"
        "Reading is open unless the site requires a login. Writing needs the editor role: a "
        "session (with the CSRF token) in the browser, or `Authorization: Bearer <token>` for "
        "tools. Every object carries an `ETag`; `PUT`, `PATCH` and `DELETE` must send it back "
        "in `If-Match` (428 without it, 412 when it is stale). Errors are JSON: "
        "`{code, message, errors: {field: [messages]}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies get their own components, so read-only fields never appear as input.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AgreementStatusEnum": "agreements.models.AgreementStatus",
        "PartyProgressEnum": "agreements.models.PartyProgress",
        "ProvisionCategoryEnum": "agreements.models.ProvisionCategory",
        "RelationKindEnum": "agreements.models.RelationKind",
        "EntryIntoForceRuleEnum": "agreements.models.EntryIntoForceRule",
        "AgreementKindEnum": "agreements.models.Agreement.Kind",
        "PartyKindEnum": "parties.models.Party.Kind",
        "StepKindEnum": "parties.models.StepKind",
        "StepStatusEnum": "ratification.models.StepStatus",
        "StatusChangeKindEnum": "ratification.models.StatusChange.Kind",
        "ConsentActEnum": "agreements.models.ConsentAct",
        "StatementKindEnum": "agreements.models.StatementKind",
        "StatementMomentEnum": "agreements.models.StatementMoment",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pacttracker.api.schema_postprocess",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery ------------------------------------------------------------------------------------
# Without CELERY_BROKER_URL the worker and beat talk through files under var/broker, so the
# embedded set-up needs no Redis. Production sets redis://.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = BASE_DIR / "var" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest task: a message not acknowledged by then (its worker died) is
        # put back on the queue. Workers look for such messages every N seconds.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged only once it has finished, and a task whose worker died is put back on
# the queue: together with idempotent tasks, a `kill -9` loses nothing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# Beat's crontabs (the nightly jobs below) in the site's time zone, the one its days turn in
# (timezone.localdate()): Celery's own default is UTC.
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "calendar-sweep": {
        "task": "ratification.sweep_calendar",
        "schedule": crontab(minute=env_str("SWEEP_CRON_MINUTE", "5"), hour="*"),
    },
    # Emails to followers; also triggered after every write, so this is the safety net.
    "notify-followers": {"task": "accounts.notify_followers", "schedule": timedelta(minutes=1)},
    # Writers append +1/-1 rows to the kept facet counts; this folds them in (agreements.listing).
    "facet-counts-compact": {
        "task": "agreements.facet_counts_compact",
        "schedule": timedelta(minutes=1),
    },
    # Forecasts move as days pass (forecasting.forecasts); once a day, after the night's sweep.
    "forecasts-refresh": {
        "task": "ratification.refresh_forecasts",
        "schedule": crontab(minute=35, hour=4),
    },
    # The audit log keeps AUDIT_RETENTION_DAYS; older events are deleted once a day.
    "audit-prune": {"task": "accounts.audit_prune", "schedule": crontab(minute=17, hour=3)},
    # Kept agreement pages and API details are built again for the new day where they no
    # longer hold, after the forecasts have had their time limit (they move what both show);
    # then what still does not hold is deleted (web.kept).
    "kept-renew": {"task": "web.kept_renew", "schedule": crontab(minute=35, hour=5)},
}

# Pact Tracker ------------------------------------------------------------------------------
# An agreement whose data nobody has reviewed for this long is flagged `stale` by the sweep.
STALE_AFTER = timedelta(days=env_int("STALE_AFTER_DAYS", 180))
# Webhooks may not target loopback, private or link-local addresses unless this is on
# (tests and local development only).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
# Reading (pages, feeds and the API) is open to anonymous users unless this is on.
READ_REQUIRES_LOGIN = env_bool("READ_REQUIRES_LOGIN", False)
# Audit events (sign-ins, failures, lockouts, refusals) older than this are pruned daily.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
# Agreement list and detail responses are cached for up to this many seconds; any committed write
# invalidates them at once (apikit.response_cache; PostgreSQL only). 0 turns it off.
API_RESPONSE_CACHE_SECONDS = env_int("API_RESPONSE_CACHE_SECONDS", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
