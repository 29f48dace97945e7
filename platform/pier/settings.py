"""Pier's control-plane settings, read from the environment only (twelve-factor)."""

import hashlib
import os
import secrets
from pathlib import Path

import dj_database_url

from pier.public_url import public_url
from runtime.backends import DEFAULT_BACKEND
from runtime.router import DEFAULT_ROUTER

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _data_dir() -> Path:
    path = Path(os.environ.get("PIER_DATA_DIR", "var"))
    return (path if path.is_absolute() else BASE_DIR / path).resolve()


def _secret_key(data_dir: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


PIER_DATA_DIR = _data_dir()
# Names this platform's containers and queues, so two platforms on one host never mix.
PIER_PLATFORM_ID = hashlib.sha256(str(PIER_DATA_DIR).encode()).hexdigest()[:12]
SECRET_KEY = _secret_key(PIER_DATA_DIR)
DEBUG = _env_bool("PIER_DEBUG")
PIER_DOMAIN = os.environ.get("PIER_DOMAIN", "localhost")
PIER_PORT = _env_int("PORT", 5000)
PIER_ROUTER_PORT = _env_int("PIER_ROUTER_PORT", 8080)
# HTTPS on the router; 0 turns it off.
PIER_ROUTER_HTTPS_PORT = _env_int("PIER_ROUTER_HTTPS_PORT", 8443)
# Automated Certificate Management: the ACME (RFC 8555) directory, the account's contact
# email, and a CA file to trust for the directory's own TLS (a test CA such as Pebble's;
# never the bundle build containers get).
PIER_ACME_DIRECTORY = os.environ.get(
    "PIER_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory")
PIER_ACME_EMAIL = os.environ.get("PIER_ACME_EMAIL", "")
PIER_ACME_CA_BUNDLE = os.environ.get("PIER_ACME_CA_BUNDLE", "")
PIER_API_URL = os.environ.get("PIER_API_URL", f"http://127.0.0.1:{PIER_PORT}")
# The control plane's public host name, routed by the router to PORT on loopback: over
# HTTPS when the router serves HTTPS: with the operator's certificate files, else with one
# the platform orders by ACME (api.services.certs).
PIER_API_HOST = os.environ.get("PIER_API_HOST", "").strip().lower().rstrip(".")
PIER_API_CERT_FILE = os.environ.get("PIER_API_CERT_FILE", "")
PIER_API_KEY_FILE = os.environ.get("PIER_API_KEY_FILE", "")
PIER_API_HTTPS = bool(PIER_API_HOST and PIER_ROUTER_HTTPS_PORT)


PIER_PUBLIC_URL = public_url(api_url=PIER_API_URL, api_host=PIER_API_HOST,
                             https_port=PIER_ROUTER_HTTPS_PORT, http_port=PIER_ROUTER_PORT)
REDIS_URL = os.environ.get("REDIS_URL", f"unix://{PIER_DATA_DIR / 'redis.sock'}")
PIER_LOG_BUFFER = _env_int("PIER_LOG_BUFFER", 10000)
# CIDR ranges that drains and webhooks may reach although not public (comma-separated).
PIER_OUTBOUND_ALLOW = os.environ.get("PIER_OUTBOUND_ALLOW", "")
# How often an open log or build tail asks again whether its user may still read the app.
PIER_ACCESS_RECHECK = _env_float("PIER_ACCESS_RECHECK", 2)
PIER_MAX_PROCESSES = _env_int("PIER_MAX_PROCESSES", 200)
PIER_MAX_PROCESSES_PER_TYPE = _env_int("PIER_MAX_PROCESSES_PER_TYPE", 100)
# Quotas (api/quotas.py): what one user, or one app, may take from a shared Pier.
PIER_MAX_APPS_PER_USER = _env_int("PIER_MAX_APPS_PER_USER", 100)
PIER_MAX_PROCESSES_PER_USER = _env_int("PIER_MAX_PROCESSES_PER_USER", 50)
PIER_MAX_MEMORY_MB_PER_USER = _env_int("PIER_MAX_MEMORY_MB_PER_USER", 16384)
PIER_MAX_CONFIG_BYTES = _env_int("PIER_MAX_CONFIG_BYTES", 32 * 1024)
PIER_MAX_REQUEST_KB = _env_int("PIER_MAX_REQUEST_KB", 1024)
PIER_MAX_PUSH_MB = _env_int("PIER_MAX_PUSH_MB", 500)
PIER_MAX_BUILD_LOG_MB = _env_int("PIER_MAX_BUILD_LOG_MB", 20)
# One-off processes (`pier run`, attached or detached) one user may have running at once.
PIER_MAX_ONEOFFS_PER_USER = _env_int("PIER_MAX_ONEOFFS_PER_USER", 3)

ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", ".localhost"] + [
    h.strip() for h in os.environ.get("PIER_ALLOWED_HOSTS", "").split(",") if h.strip()
] + ([PIER_API_HOST] if PIER_API_HOST else [])

# Behind the router on PIER_API_HOST over HTTPS: cookies only over HTTPS, HSTS on HTTPS
# responses. X-Forwarded-Proto is believed from loopback only (the router; see
# pier.proxyheaders), so a client reaching PORT directly cannot claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
PIER_HSTS_SECONDS = _env_int("PIER_HSTS_SECONDS", 365 * 24 * 3600)
if PIER_API_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [PIER_PUBLIC_URL]
    SECURE_HSTS_SECONDS = PIER_HSTS_SECONDS

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "pier",
    "api",
    "builds",
    "gitpush",
    "dashboard",
]

MIDDLEWARE = [
    "pier.proxyheaders.ForwardedProtoFromLoopback",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pier.urls"
APPEND_SLASH = False
LOGIN_URL = "dashboard:login"

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

WSGI_APPLICATION = "pier.wsgi.application"
ASGI_APPLICATION = "pier.asgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{PIER_DATA_DIR / 'pier.sqlite3'}",
        conn_max_age=_env_int("PIER_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout keep the web and worker processes from tripping over each other.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Serve static files straight from the apps' static/ dirs: no collectstatic step needed.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = PIER_DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pier Platform API",
    "DESCRIPTION": "Apps, config vars, releases, formation, domains and collaborators.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PIER_LOG_LEVEL", "INFO")},
}

# Celery: builds run on the worker; a build is acknowledged only when it ends, so a worker
# killed mid-build hands it to the next worker instead of losing it.
from celery.schedules import crontab  # noqa: E402

from pier.redis import celery_broker_url  # noqa: E402

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
# A queue of this platform's own, so two platforms sharing one Redis never take each
# other's builds.
CELERY_TASK_DEFAULT_QUEUE = f"pier-{PIER_PLATFORM_ID}"
# Detached one-offs (`pier run --detach`) run for as long as their command does: on a queue
# and worker pool of their own (the Procfile's `oneoff`), so they never hold up a push.
PIER_ONEOFF_QUEUE = f"pier-{PIER_PLATFORM_ID}-oneoff"
# Scheduled jobs, webhook deliveries and add-on work (create, backup, restore) share it:
# none may wait behind a build.
CELERY_TASK_ROUTES = {
    name: {"queue": PIER_ONEOFF_QUEUE}
    for name in ("api.oneoff_detached", "api.cron_tick", "api.cron_run", "api.webhook_deliver",
                 "api.webhooks_retry", "api.addon_provision", "api.addon_restore",
                 "api.addon_backup")
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
# The worker runs Celery beat too (Procfile): certificate renewals are checked hourly.
CELERY_BEAT_SCHEDULE = {
    "certs-renew": {"task": "api.certs_renew", "schedule": 3600.0},
    "addon-backups": {"task": "api.addon_backups_scheduled", "schedule": 60.0},
    # app.json "cron" jobs that are due are queued at the start of each minute (cron syntax
    # has minutes, no seconds): a 60 s interval would tick up to a minute late.
    "cron-tick": {"task": "api.cron_tick", "schedule": crontab()},
    "webhooks-retry": {"task": "api.webhooks_retry", "schedule": 30.0},
}
# Seconds one webhook delivery attempt may take (connect, send, answer) before it is retried.
PIER_WEBHOOK_TIMEOUT = _env_float("PIER_WEBHOOK_TIMEOUT", 5)

PIER_BUILD_TIMEOUT = _env_int("PIER_BUILD_TIMEOUT", 15 * 60)
# Each build's container(s): memory in MB (no swap), processes, CPUs (capped at the host's).
PIER_BUILD_MEMORY = _env_int("PIER_BUILD_MEMORY", 2048)
PIER_BUILD_PIDS = _env_int("PIER_BUILD_PIDS", 1024)
PIER_BUILD_CPUS = _env_float("PIER_BUILD_CPUS", 2)
PIER_KEEP_RELEASE_IMAGES = _env_int("PIER_KEEP_RELEASE_IMAGES", 5)
PIER_CA_BUNDLE = os.environ.get("PIER_CA_BUNDLE", os.environ.get("SSL_CERT_FILE", ""))
# Pier's image registry (platform/registry/): the host:port users, builds and engines reach
# it at (empty: no registry), and the address its process listens on.
PIER_REGISTRY = os.environ.get("PIER_REGISTRY", "")
PIER_REGISTRY_BIND = os.environ.get("PIER_REGISTRY_BIND", "")
PIER_RUNTIME_BACKEND = os.environ.get("PIER_RUNTIME_BACKEND", DEFAULT_BACKEND)
# The Swarm backend's manager (a DOCKER_HOST URL) when it is not this machine's engine,
# which then only builds.
PIER_SWARM_MANAGER = os.environ.get("PIER_SWARM_MANAGER", "")
PIER_ROUTER = os.environ.get("PIER_ROUTER", DEFAULT_ROUTER)
# Development only: run apps even when iptables cannot keep them away from the host.
PIER_UNSAFE_NO_ISOLATION = _env_bool("PIER_UNSAFE_NO_ISOLATION")
# Add-ons: the services offered (one plug-in module each), an admin DSN that makes
# PostgreSQL add-ons databases on that server instead of containers, scheduled backups kept.
PIER_ADDON_SERVICES = [
    path.strip() for path in os.environ.get(
        "PIER_ADDON_SERVICES",
        "addons.services.postgresql.Service,addons.services.redis.Service").split(",")
    if path.strip()
]
PIER_ADDONS_POSTGRESQL_SERVER = os.environ.get("PIER_ADDONS_POSTGRESQL_SERVER", "")
PIER_ADDONS_BACKUP_RETAIN = _env_int("PIER_ADDONS_BACKUP_RETAIN", 7)
PIER_REPOS_DIR = PIER_DATA_DIR / "repos"
PIER_BUILDS_DIR = PIER_DATA_DIR / "builds"

# Login throttle (api/throttle.py): failed logins per account and per client address in a
# window; X-Forwarded-For is believed only from these proxies (comma-separated CIDRs).
PIER_LOGIN_MAX_ATTEMPTS = _env_int("PIER_LOGIN_MAX_ATTEMPTS", 10)
PIER_LOGIN_MAX_ATTEMPTS_PER_ADDRESS = _env_int("PIER_LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 20)
PIER_LOGIN_WINDOW_SECONDS = _env_int("PIER_LOGIN_WINDOW_SECONDS", 900)
PIER_TRUSTED_PROXIES = os.environ.get("PIER_TRUSTED_PROXIES", "")

# Metrics and autoscaling (runtime/metrics, api/services/autoscale.py).
# Seconds between the collector's cgroup samples and writes (buckets stay 10 s wide).
PIER_METRICS_INTERVAL = _env_float("PIER_METRICS_INTERVAL", 10)
# Autoscaling adds a process once p95 stays above target this long, removes one once it
# stays under half the target this long (Heroku's fast up, slow down).
PIER_AUTOSCALE_UP_SECONDS = _env_int("PIER_AUTOSCALE_UP_SECONDS", 60)
PIER_AUTOSCALE_DOWN_SECONDS = _env_int("PIER_AUTOSCALE_DOWN_SECONDS", 300)
