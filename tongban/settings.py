"""Settings of one Tongban node.

Everything that differs between deployments comes from the environment; the defaults give
the embedded node: SQLite under var/, no other service, debug pages on.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TONGBAN_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# Production shape (issue 11, docs/deploy.md): DEBUG only when asked for, and no secret has a
# default here. A node without DEBUG refuses to start unless SECRET_KEY and the two keys
# below are set and distinct (core/checks.py). `make run`, `make test` and `make lint` set
# the public demo values of scripts/demo.env explicitly.
DEBUG = _env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Former SECRET_KEYs still accepted for sessions and signed links while they expire.
SECRET_KEY_FALLBACKS = _env_list("SECRET_KEY_FALLBACKS")
# Personal data (ID numbers, phones, addresses) is encrypted with keys derived from this;
# the old keys listed after it still decrypt until `manage.py reencrypt` has run.
PERSONAL_DATA_KEY = os.environ.get("TONGBAN_PERSONAL_DATA_KEY", "")
PERSONAL_DATA_OLD_KEYS = _env_list("TONGBAN_PERSONAL_DATA_OLD_KEYS")
# Lookup hashes (ID numbers found without being stored in clear) use their own key when one
# is set, so that the encryption key rotates without touching them; else the one above.
PERSONAL_DATA_LOOKUP_KEY = os.environ.get("TONGBAN_PERSONAL_DATA_LOOKUP_KEY", "")

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]

# The node: one province's deployment (DESIGN.md §4.1).
NODE_ID = os.environ.get("TONGBAN_NODE_ID", "liaoning")
NODE_NAME = os.environ.get("TONGBAN_NODE_NAME", "辽宁省政务服务通办平台")
NODE_DIVISION = os.environ.get("TONGBAN_NODE_DIVISION", "210000")
# Prefix of this node's case numbers (办件编号 `LN-20261128-000042`); unique in the federation.
NODE_CODE = os.environ.get("TONGBAN_NODE_CODE", "LN")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "ninja",
    "axes",
    "core",
    "accounts",
    "catalog",
    "federation",
    "delivery",
    "payments",
    "halls",
    "licences",
    "sharing",
    "signon",
    "cases",
    "hotline",
    "ratings",
    "supervision",
    "portal",
    "console",
    "demo",
]

MIDDLEWARE = [
    # First: request sizes are checked before sessions, CSRF, authentication or parsing.
    "core.request_limits.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (collectstatic), or from the apps with DEBUG on.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The assurance level the session's sign-in established, on request.user (accounts).
    "accounts.assurance.AssuranceMiddleware",
    # A session signed in through another member ends once its provider stops refreshing
    # it (signon.sessions).
    "signon.middleware.SessionRefreshMiddleware",
    # Cache-Control: no-store on every answer to a signed-in user or token holder.
    "core.private_responses.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A refusal no page view handled becomes a page in Chinese with its status.
    "portal.middleware.RuleViolationMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tongban.urls"
WSGI_APPLICATION = "tongban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tongban" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "console.context_processors.staff",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{VAR_DIR / 'tongban.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_sqlite), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process and the worker read while one writes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not shared-cache memory: concurrent writers must wait for the lock as they do
    # in production, not fail with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Tests: a transactional test with serialized_rollback reloads the data migrations seeded
# (divisions, themes, calendar). Content types and permissions are left out: post_migrate
# rebuilds them after another test's flush, and reloading them then would clash.
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]

# Sign-in: citizens with their 公民身份号码, staff with their username. django-axes comes
# first and refuses every attempt while the account is locked out on that address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.auth.IdNumberBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:my_cases"
LOGOUT_REDIRECT_URL = "portal:home"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one account from one
# address, that account is locked on that address for the cool-off time. ID numbers typed
# as account names are stored and logged as keyed hashes only (accounts.auth).
AXES_FAILURE_LIMIT = int(os.environ.get("TONGBAN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("TONGBAN_LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.auth.throttle_username"
AXES_LOCKOUT_TEMPLATE = "portal/lockout.html"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Uploaded case materials: private files, never served as static media.
MEDIA_ROOT = VAR_DIR / "media"
CASE_UPLOAD_MAX_BYTES = int(os.environ.get("TONGBAN_CASE_UPLOAD_MAX_BYTES", 20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = CASE_UPLOAD_MAX_BYTES + 1024 * 1024
# Largest request body, checked before anything reads it (core.request_limits): uploads in
# general, and the public token verification.
REQUEST_MAX_BYTES = int(os.environ.get("TONGBAN_REQUEST_MAX_BYTES", 2 * CASE_UPLOAD_MAX_BYTES))
VERIFY_MAX_BYTES = int(os.environ.get("TONGBAN_VERIFY_MAX_BYTES", 16 * 1024))
# Anonymous licence verification (/verify/, POST /api/v1/licences/verify): at most this many
# per client address per window (core.throttle; counted in the default cache).
VERIFY_RATE_LIMIT = int(os.environ.get("TONGBAN_VERIFY_RATE_LIMIT", "30"))
VERIFY_RATE_WINDOW = int(os.environ.get("TONGBAN_VERIFY_RATE_WINDOW", "60"))
# 告知承诺: working days after the decision within which the commitment is verified (核查).
COMMITMENT_VERIFICATION_WORKING_DAYS = int(
    os.environ.get("TONGBAN_COMMITMENT_VERIFICATION_DAYS", "20")
)

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("TONGBAN_STATIC_ROOT", VAR_DIR / "static"))
# whitenoise serves static files in the web process (docs/deploy.md): from STATIC_ROOT with
# hashed, compressed, cached-forever names after collectstatic; from the apps themselves
# with DEBUG on (the demo and the tests, no collectstatic).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
# HTTPS (issue 11, docs/deploy.md): a node without DEBUG is reached over HTTPS, at its
# reverse proxy: cookies only over HTTPS, HSTS, plain HTTP redirected — but the health
# endpoints, which a balancer asks over plain HTTP. TONGBAN_HTTPS=0 serves plain HTTP.
HTTPS = _env_bool("TONGBAN_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = _env_bool("TONGBAN_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("TONGBAN_HSTS_SECONDS", 31536000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("TONGBAN_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("TONGBAN_HSTS_PRELOAD", False)
# Behind a proxy: the header it sets to "https" for HTTPS requests (X-Forwarded-Proto), and
# whether its X-Forwarded-Host is the host asked for. Set them only when the proxy always
# sets (or strips) these headers: a client could otherwise choose them.
_proxy_ssl_header = os.environ.get("TONGBAN_PROXY_SSL_HEADER", "")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
USE_X_FORWARDED_HOST = _env_bool("TONGBAN_USE_X_FORWARDED_HOST", False)
# The origins a form may be posted from, when they differ from the host (https://…).
CSRF_TRUSTED_ORIGINS = _env_list("TONGBAN_CSRF_TRUSTED_ORIGINS")
# Several nodes on one host (the four-node demo) need their own names: browsers keep cookies
# per host, not per port.
SESSION_COOKIE_NAME = os.environ.get("TONGBAN_SESSION_COOKIE_NAME", "sessionid")
CSRF_COOKIE_NAME = os.environ.get("TONGBAN_CSRF_COOKIE_NAME", "csrftoken")
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# A strict CSP (django-csp 4): scripts, styles, fonts and fetches from this node only, no
# inline script or style (templates load static files), no plugins, no framing, forms
# posted here only. `data:` images for the API explorer's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Working-day deadlines: how many working days before the deadline a case turns yellow.
# 12345 tickets (hotline): how long after dispatch an organisation may return a ticket
# (退单时限), in working days, or hours for a ticket counted in hours (接诉即办).
HOTLINE_RETURN_WORKING_DAYS = int(os.environ.get("TONGBAN_HOTLINE_RETURN_WORKING_DAYS", "2"))
HOTLINE_RETURN_HOURS = int(os.environ.get("TONGBAN_HOTLINE_RETURN_HOURS", "2"))
# 好差评 (ratings): how many days a citizen has to rate a service event before the
# default rating (系统默认评价) is given, and its level (4 满意; local rules, reference §2).
RATINGS_WINDOW_DAYS = int(os.environ.get("TONGBAN_RATINGS_WINDOW_DAYS", "15"))
RATINGS_DEFAULT_LEVEL = int(os.environ.get("TONGBAN_RATINGS_DEFAULT_LEVEL", "4"))
DEADLINE_WARNING_DAYS = int(os.environ.get("TONGBAN_DEADLINE_WARNING_DAYS", "3"))
# The same for limits counted in hours (接诉即办): how many hours before the due moment.
DEADLINE_WARNING_HOURS = int(os.environ.get("TONGBAN_DEADLINE_WARNING_HOURS", "4"))
# How often the worker scans the deadlines (容缺 expiry, yellow/red warnings), in seconds;
# the demo (`make run`) scans every minute.
DEADLINE_SCAN_SECONDS = int(os.environ.get("TONGBAN_DEADLINE_SCAN_SECONDS", "3600"))
# How often the worker brings the supervision figures up to date with the cases that
# changed (docs/supervision.md).
SUPERVISION_REFRESH_SECONDS = int(os.environ.get("TONGBAN_SUPERVISION_REFRESH_SECONDS", "60"))
# Yellow and red cards: how often they are routed from the deadlines, and how long a card
# stays red before it is escalated to the supervisors one level up (督办升级).
SUPERVISION_CARDS_SECONDS = int(os.environ.get("TONGBAN_SUPERVISION_CARDS_SECONDS", "60"))
SUPERVISION_ESCALATION_HOURS = int(os.environ.get("TONGBAN_SUPERVISION_ESCALATION_HOURS", "48"))

# Outside systems: the adapter class for each (DESIGN.md §4.4). The local ones make the
# embedded default complete; a province points these at its real services.
TONGBAN_ADAPTERS = {
    "real_name": os.environ.get(
        "TONGBAN_REAL_NAME_ADAPTER", "accounts.adapters.LocalRealNameService"
    ),
    "sms": os.environ.get("TONGBAN_SMS_ADAPTER", "accounts.adapters.LocalSmsGateway"),
    "company_registry": os.environ.get(
        "TONGBAN_COMPANY_REGISTRY_ADAPTER", "accounts.adapters.LocalCompanyRegistry"
    ),
    "key_store": os.environ.get("TONGBAN_KEY_STORE", "licences.keys.LocalKeyStore"),
    "carrier": os.environ.get("TONGBAN_CARRIER_ADAPTER", "delivery.carriers.LocalCarrier"),
    "payment": os.environ.get("TONGBAN_PAYMENT_ADAPTER", "payments.gateways.LocalGateway"),
}
# 寄递 (delivery): the local carrier's simulated time between two tracking events
# (揽收 → 运输中 → 派送中 → 签收); the HTTP carrier's API address, key and timeout.
DELIVERY_LOCAL_STEP_SECONDS = int(os.environ.get("TONGBAN_DELIVERY_LOCAL_STEP_SECONDS", "60"))
DELIVERY_HTTP_BASE_URL = os.environ.get("TONGBAN_DELIVERY_HTTP_BASE_URL", "")
DELIVERY_HTTP_API_KEY = os.environ.get("TONGBAN_DELIVERY_HTTP_API_KEY", "")
DELIVERY_HTTP_TIMEOUT = float(os.environ.get("TONGBAN_DELIVERY_HTTP_TIMEOUT", "10"))
DELIVERY_HTTP_CARRIER_CODE = os.environ.get("TONGBAN_DELIVERY_HTTP_CARRIER_CODE", "ems")
# Postage the applicant pays for the result sent by post (元; 0: the government pays it,
# as 通办 postage usually is). Added to the case's payment (docs/payments.md).
DELIVERY_RESULT_POSTAGE = os.environ.get("TONGBAN_DELIVERY_RESULT_POSTAGE", "0")
# 支付 (payments): the province's 统一公共支付平台 — its API address, this node's merchant id,
# the merchant's SM2 private key and the platform's SM2 public key (PEM files), the code
# stored on payments made through it, and the timeout (docs/payments.md).
PAYMENTS_HTTP_BASE_URL = os.environ.get("TONGBAN_PAYMENTS_HTTP_BASE_URL", "")
PAYMENTS_HTTP_MERCHANT_ID = os.environ.get("TONGBAN_PAYMENTS_HTTP_MERCHANT_ID", "")
PAYMENTS_HTTP_MERCHANT_KEY_FILE = os.environ.get("TONGBAN_PAYMENTS_HTTP_MERCHANT_KEY_FILE", "")
PAYMENTS_HTTP_PLATFORM_KEY_FILE = os.environ.get("TONGBAN_PAYMENTS_HTTP_PLATFORM_KEY_FILE", "")
PAYMENTS_HTTP_GATEWAY_CODE = os.environ.get("TONGBAN_PAYMENTS_HTTP_GATEWAY_CODE", "gpp")
PAYMENTS_HTTP_TIMEOUT = float(os.environ.get("TONGBAN_PAYMENTS_HTTP_TIMEOUT", "10"))
# How often the worker retries pending refunds and runs 对账 of yesterday's statement
# (seconds; a repeated 对账 of the same day changes nothing).
PAYMENTS_REFUND_RETRY_SECONDS = int(os.environ.get("TONGBAN_PAYMENTS_REFUND_RETRY_SECONDS", "60"))
PAYMENTS_RECONCILE_SECONDS = int(os.environ.get("TONGBAN_PAYMENTS_RECONCILE_SECONDS", "3600"))
# Seals' and the node's private keys are encrypted at rest with keys derived from this
# (local key store); the old keys listed after it still decrypt until `manage.py reencrypt`.
KEY_STORE_KEY = os.environ.get("TONGBAN_KEY_STORE_KEY", "")
KEY_STORE_OLD_KEYS = _env_list("TONGBAN_KEY_STORE_OLD_KEYS")
# Federation (docs/federation.md). Both empty: a node on its own, outside any federation.
# The directory source is a file or an http(s) URL serving the signed directory; the anchor
# is the PEM file of the directory authority's public key that this node trusts.
FEDERATION_DIRECTORY = os.environ.get("TONGBAN_FEDERATION_DIRECTORY", "")
FEDERATION_ANCHOR = os.environ.get("TONGBAN_FEDERATION_ANCHOR", "")
FEDERATION_TIMEOUT = float(os.environ.get("TONGBAN_FEDERATION_TIMEOUT", "10"))
FEDERATION_RETRY_BASE_SECONDS = float(os.environ.get("TONGBAN_FEDERATION_RETRY_BASE", "2"))
FEDERATION_RETRY_MAX_SECONDS = float(os.environ.get("TONGBAN_FEDERATION_RETRY_MAX", "300"))
FEDERATION_CLOCK_SKEW_SECONDS = 300
FEDERATION_DIRECTORY_REFRESH_SECONDS = int(
    os.environ.get("TONGBAN_FEDERATION_DIRECTORY_REFRESH", "300")
)
# Envelopes may carry a case's electronic materials (base64: a third larger than the files).
FEDERATION_MAX_BYTES = int(os.environ.get("TONGBAN_FEDERATION_MAX_BYTES", 32 * 1024 * 1024))
# Envelopes older than this are refused (`envelope_too_old`), as a bound on replays.
FEDERATION_MAX_ENVELOPE_AGE_SECONDS = int(
    os.environ.get("TONGBAN_FEDERATION_MAX_ENVELOPE_AGE", str(7 * 24 * 3600))
)

# The address citizens and other nodes reach this node at (QR codes on licences point here).
PUBLIC_BASE_URL = os.environ.get("TONGBAN_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
REAL_NAME_URL = os.environ.get("TONGBAN_REAL_NAME_URL", "")
REAL_NAME_APP_ID = os.environ.get("TONGBAN_REAL_NAME_APP_ID", "")
REAL_NAME_SECRET = os.environ.get("TONGBAN_REAL_NAME_SECRET", "")
# 企业登记信息核验: the market-regulation data service (accounts.adapters.HttpCompanyRegistry),
# signed with the real-name service's app id and secret.
COMPANY_REGISTRY_URL = os.environ.get("TONGBAN_COMPANY_REGISTRY_URL", "")
SMS_URL = os.environ.get("TONGBAN_SMS_URL", "")
SMS_KEY = os.environ.get("TONGBAN_SMS_KEY", "")
SMS_SIGN = os.environ.get("TONGBAN_SMS_SIGN", "通办")

# Catalog import: the largest file accepted, in bytes.
CATALOG_IMPORT_MAX_BYTES = int(os.environ.get("TONGBAN_CATALOG_IMPORT_MAX_BYTES", 20 * 1024 * 1024))

# Logs on standard error: one JSON object a line without DEBUG (core/logging.py), plain
# lines with it; ID and mobile numbers masked either way.
LOG_FORMAT = os.environ.get("TONGBAN_LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "filters": {"scrub": {"()": "core.personal_data.ScrubPersonalDataFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["scrub"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes reports each reset of the failure count at INFO; failures and lockouts are WARNING.
    "loggers": {"jieba": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
