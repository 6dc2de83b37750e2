"""Settings shared by every environment. Everything variable comes from the environment."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CLIENTELE_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-development-key-not-for-production")
# Earlier SECRET_KEYs, still accepted for what they signed or sealed (sessions, links,
# webhook secrets) after a rotation: SECRET_KEY_FALLBACKS=old1,old2.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Where people reach this instance (https://crm.example.com). Every link in an email starts with
# it: emails are sent by workers, outside any request to take the host from.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.admin.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_countries",
    "phonenumber_field",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.idp.oidc",
    "core",
    "history",
    "iam",
    "crm",
    "invitations",
    "registrations",
    "analytics",
    "webhooks",
    "api",
    "search",
    "savedviews",
    "imports",
    "dedup",
    "exports",
    "cases",
    "knowledge",
    "reviews",
    "customfields",
    "notifications",
    "workflows",
    "territories",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "iam.middleware.AuditContextMiddleware",
    "iam.middleware.PortalAccessMiddleware",
    "iam.oidc.middleware.AccountChoiceMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "crm.context_processors.nav_section",
                "iam.context_processors.role_checks",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# No DATABASE_URL: an embedded SQLite file, so `make run` works on a bare laptop.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'clientele.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and background jobs ------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "clientele",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis when configured; otherwise tasks run in-process (no broker server needed).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Periodic schedules live here and only here.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "contracts-expire-due": {"task": "crm.contracts_expire_due", "schedule": 60 * 60},
    "registrations-expire-unverified": {"task": "registrations.expire_unverified", "schedule": 60 * 60},
    "invitations-expire-due": {"task": "invitations.expire_due", "schedule": 15 * 60},
    "cases-sla-scan": {"task": "cases.sla_scan", "schedule": 60},
    "invitation-batches-resume": {"task": "invitations.batches_resume", "schedule": 60},
    "webhooks-dispatch-due": {"task": "webhooks.deliveries_dispatch_due", "schedule": 60},
    "webhooks-events-prune": {"task": "webhooks.events_prune", "schedule": 24 * 60 * 60},
    # Data decay: every job is idempotent and takes an advisory lock, so a late or doubled run is harmless.
    "data-health-refresh": {"task": "analytics.data_health_refresh", "schedule": crontab(hour=2, minute=15)},
    "reconfirmations-send-due": {"task": "crm.reconfirmations_send_due", "schedule": crontab(hour=9, minute=0)},
    "users-deactivate-inactive": {"task": "iam.users_deactivate_inactive", "schedule": crontab(hour=3, minute=30)},
    "api-idempotency-keys-expire": {"task": "api.idempotency_keys_expire", "schedule": 60 * 60},
    "notifications-task-reminders": {"task": "notifications.task_reminders_send_due", "schedule": 5 * 60},
    "notifications-digest": {"task": "notifications.digest_send_due", "schedule": crontab(minute=0)},
}

# --- Identity -----------------------------------------------------------------------------
AUTH_USER_MODEL = "iam.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    # Argon2id; Django's defaults (t=2, m=100 MiB, p=8) are above the ASVS 5.0 minimum.
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "iam.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CHANGE_EMAIL = True  # a new address replaces the old one only once verified
# allauth's defaults (per IP and per key, e.g. 5 failed logins per 5 minutes) on the shared cache.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Clientele")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", False)
USERSESSIONS_TRACK_ACTIVITY = True
IAM_REQUIRE_MFA_FOR_STAFF = env_bool("IAM_REQUIRE_MFA_FOR_STAFF", False)
# Behind a proxy that sets X-Forwarded-For, audit events record the client's address from it.
IAM_TRUST_X_FORWARDED_FOR = env_bool("IAM_TRUST_X_FORWARDED_FOR", False)
# Open self-service sign-up arrives with registration; until then accounts come from staff.
ACCOUNT_ALLOW_SIGNUP = env_bool("ACCOUNT_ALLOW_SIGNUP", False)

# --- OpenID Connect provider (allauth idp.oidc) -------------------------------------------
# Applications (iam.Application) are the clients; iam.oidc.adapter adds the account and roles.
IDP_OIDC_ADAPTER = "iam.oidc.adapter.OIDCAdapter"
# RS256 signing key, PEM (or IDP_OIDC_PRIVATE_KEY_FILE). Required in production; local and
# test settings generate a development key when it is empty.
IDP_OIDC_PRIVATE_KEY = env_str("IDP_OIDC_PRIVATE_KEY").replace("\\n", "\n")
# Fixed issuer URL (https://id.example.com); empty: the URL the request came in on.
IDP_OIDC_ISSUER = env_str("IDP_OIDC_ISSUER").rstrip("/")
# Opaque access tokens are looked up on every use, so a revoked one stops working at once.
IDP_OIDC_ACCESS_TOKEN_FORMAT = "opaque"  # noqa: S105 - a format name, not a secret
IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN = env_int("IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN", 15 * 60)
IDP_OIDC_REFRESH_TOKEN_EXPIRES_IN = env_int("IDP_OIDC_REFRESH_TOKEN_EXPIRES_IN", 30 * 24 * 60 * 60) or None
IDP_OIDC_ROTATE_REFRESH_TOKEN = True
# RFC 7662, for the applications' own APIs to check an opaque token (each client its own tokens only).
IDP_OIDC_INTROSPECTION_ENABLED = True
# First-party services: with an id_token_hint of the signed-in user, sign-out needs no question.
IDP_OIDC_RP_INITIATED_LOGOUT_ASKS_FOR_OP_LOGOUT = False

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Clientele <no-reply@clientele.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Invitations --------------------------------------------------------------------------
# The company name invitation emails are branded with.
INVITATIONS_COMPANY_NAME = env_str("INVITATIONS_COMPANY_NAME", "Clientele")
# How long an invitation link works (days); capped at INVITATIONS_MAX_EXPIRY_DAYS (30).
INVITATIONS_EXPIRY_DAYS = env_int("INVITATIONS_EXPIRY_DAYS", 7)
INVITATIONS_MAX_EXPIRY_DAYS = 30
# Business roles an invitation proposes when the inviter picks none (role keys).
INVITATIONS_DEFAULT_ROLES = env_list("INVITATIONS_DEFAULT_ROLES", ["buyer"])
# Lead invitations: the qualification lists' overrides (domains; a subdomain matches too).
INVITATIONS_BLOCKED_EMAIL_DOMAINS = env_list("INVITATIONS_BLOCKED_EMAIL_DOMAINS", [])
INVITATIONS_ALLOWED_EMAIL_DOMAINS = env_list("INVITATIONS_ALLOWED_EMAIL_DOMAINS", [])
# Look up the domain's MX record when qualifying an address (network; off by default).
INVITATIONS_EMAIL_CHECK_MX = env_bool("INVITATIONS_EMAIL_CHECK_MX", False)
# Points a lead's score rises by when the lead accepts an invitation (capped at 100).
INVITATIONS_LEAD_SCORE_BONUS = env_int("INVITATIONS_LEAD_SCORE_BONUS", 20)
# Batch invitations: recipients per chunk, and emails per second (0: as fast as SMTP takes them).
INVITATIONS_BATCH_CHUNK_SIZE = env_int("INVITATIONS_BATCH_CHUNK_SIZE", 500)
INVITATIONS_BATCH_RATE_PER_SECOND = env_int("INVITATIONS_BATCH_RATE_PER_SECOND", 0)
# Chunks of one batch sent at the same time (each over its own SMTP connection); give the worker as many slots.
INVITATIONS_BATCH_SENDERS = env_int("INVITATIONS_BATCH_SENDERS", 4)
# A batch chunk that has not moved for this long is taken to be lost with its worker and re-queued.
INVITATIONS_BATCH_STALL_SECONDS = env_int("INVITATIONS_BATCH_STALL_SECONDS", 300)

# --- Registrations ------------------------------------------------------------------------
# Hours a registration may wait in the approval queue before it shows as overdue.
REGISTRATIONS_SLA_HOURS = env_int("REGISTRATIONS_SLA_HOURS", 24)
# Business roles (keys) of a registrant who joins an account that already has an org admin.
REGISTRATIONS_MEMBER_ROLES = env_list("REGISTRATIONS_MEMBER_ROLES", ["buyer"])
# Admit registrants without a matching customer as leads at once instead of queueing them.
REGISTRATIONS_AUTO_ADMIT_LEADS = env_bool("REGISTRATIONS_AUTO_ADMIT_LEADS", False)
# Points a lead's score rises by when its person registers (capped at 100).
REGISTRATIONS_LEAD_SCORE_BONUS = env_int("REGISTRATIONS_LEAD_SCORE_BONUS", 25)
# Staff user (email) who owns accounts and leads created from registrations; empty: the approver,
# or for automatic decisions the longest-serving sales manager.
REGISTRATIONS_OWNER_EMAIL = env_str("REGISTRATIONS_OWNER_EMAIL", "")
# Registration forms accepted per client address and per email address within an hour.
REGISTRATIONS_RATE_LIMIT_PER_IP = env_int("REGISTRATIONS_RATE_LIMIT_PER_IP", 10)
REGISTRATIONS_RATE_LIMIT_PER_EMAIL = env_int("REGISTRATIONS_RATE_LIMIT_PER_EMAIL", 3)
# Days the "answer our question" link in an information request works.
REGISTRATIONS_INFO_LINK_DAYS = env_int("REGISTRATIONS_INFO_LINK_DAYS", 14)
# Days an unverified registration (and the login it made) is kept before it is forgotten.
REGISTRATIONS_UNVERIFIED_DAYS = env_int("REGISTRATIONS_UNVERIFIED_DAYS", 7)

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files: served from npm packages installed at setup (no CDN, no copies) -------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
_NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", _NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", _NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", _NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chart.js", _NODE_MODULES / "chart.js" / "dist"),
    ("vendor/swagger-ui", _NODE_MODULES / "swagger-ui-dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security defaults --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- API ---------------------------------------------------------------------------------
# The REST API under /api/v1/ (api/): API keys or a staff browser session, problem+json errors.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ApiAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiPrincipalThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["api.filters.QueryFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clientele API",
    "DESCRIPTION": (
        "Accounts, contacts, leads, opportunities, contracts, activities, portal memberships and the "
        "audit trail. Authenticate with `Authorization: Api-Key <key>`; errors are RFC 9457 problem "
        "details (`application/problem+json`)."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "crm.models.Lead.Status",
        "ContractStatusEnum": "crm.models.Contract.Status",
        "MembershipStatusEnum": "iam.models.Membership.Status",
        "InvitationStatusEnum": "invitations.models.Invitation.Status",
        "InvitationBatchStatusEnum": "invitations.models.InvitationBatch.Status",
        "LeadSourceEnum": "crm.models.Lead.Source",
        "InvitationBatchSourceEnum": "invitations.models.InvitationBatch.Source",
        "CountryEnum": "api.schema.COUNTRY_CHOICES",
        "KindEnum": "crm.models.Activity.Kind",
        "RecordChangeKindEnum": "history.models.RecordChange.Kind",
    },
}
# Requests per API key (or staff user) and period: "600/min", "20/s", "10000/hour".
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "600/min")
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200)
# How long a stored Idempotency-Key answer is replayed (hours); older ones are deleted daily.
API_IDEMPOTENCY_TTL_HOURS = env_int("API_IDEMPOTENCY_TTL_HOURS", 24)

# --- CRM ----------------------------------------------------------------------------------
CRM_PAGE_SIZE = env_int("CRM_PAGE_SIZE", 50)
# Above this many matching rows a list shows "10,000+" rather than counting them all.
CRM_COUNT_LIMIT = env_int("CRM_COUNT_LIMIT", 10_000)

# --- Data decay ---------------------------------------------------------------------------
# Probability a contact's data is still accurate: (1 - rate) ** months since last verified.
DECAY_MONTHLY_RATE = env_float("DECAY_MONTHLY_RATE", 0.02)
# Fresh while that probability is at least DECAY_FRESH_FROM (0.88: ~6 months at 2 %), stale once
# it is below DECAY_STALE_BELOW (0.78: ~12 months); ageing in between. Never verified: stale.
DECAY_FRESH_FROM = env_float("DECAY_FRESH_FROM", 0.88)
DECAY_STALE_BELOW = env_float("DECAY_STALE_BELOW", 0.78)
# A contact is asked to reconfirm at most once per this many days; links expire after the second.
DECAY_RECONFIRMATION_INTERVAL_DAYS = env_int("DECAY_RECONFIRMATION_INTERVAL_DAYS", 90)
DECAY_RECONFIRMATION_LINK_DAYS = env_int("DECAY_RECONFIRMATION_LINK_DAYS", 14)
# Requests one run of the reconfirmation job sends at most (0: no limit).
DECAY_RECONFIRMATION_BATCH_LIMIT = env_int("DECAY_RECONFIRMATION_BATCH_LIMIT", 5000)
# The staff user (operations or superuser) in whose name the job's invitation batch is sent;
# empty: the first active operations user.
DECAY_RECONFIRMATION_INVITER_EMAIL = env_str("DECAY_RECONFIRMATION_INVITER_EMAIL", "")
# Detail rows (per owner, per account) of data-health snapshots older than this are dropped; totals stay.
DECAY_SNAPSHOT_DETAIL_DAYS = env_int("DECAY_SNAPSHOT_DETAIL_DAYS", 90)
# Portal identities not signed in for this many days are deactivated (0: never), warned first by
# email IAM_INACTIVITY_WARNING_DAYS before.
IAM_DEACTIVATE_INACTIVE_AFTER_DAYS = env_int("IAM_DEACTIVATE_INACTIVE_AFTER_DAYS", 365)
IAM_INACTIVITY_WARNING_DAYS = env_int("IAM_INACTIVITY_WARNING_DAYS", 14)
# Shared secret of the mail provider's bounce notifications (HMAC-SHA256 of the body, or a bearer token).
MAIL_BOUNCE_WEBHOOK_SECRET = env_str("MAIL_BOUNCE_WEBHOOK_SECRET")

PHONENUMBER_DEFAULT_REGION = env_str("PHONENUMBER_DEFAULT_REGION", "") or None
PHONENUMBER_DB_FORMAT = "E164"

# --- Webhooks -----------------------------------------------------------------------------
# Let endpoints point at loopback/private/link-local addresses (development and tests only).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
# Seconds before each retry (each one waits a random time up to its step): 8 attempts in all.
WEBHOOKS_RETRY_SCHEDULE = [
    int(step) for step in env_list("WEBHOOKS_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "36000", "36000"])
]
# An endpoint is disabled after this many failed attempts in a row, or failing for this many days.
WEBHOOKS_DISABLE_AFTER_FAILURES = env_int("WEBHOOKS_DISABLE_AFTER_FAILURES", 50)
WEBHOOKS_DISABLE_AFTER_DAYS = env_int("WEBHOOKS_DISABLE_AFTER_DAYS", 5)
# Who else is emailed when an endpoint is disabled (besides its creator and operations staff).
WEBHOOKS_ALERT_EMAILS = env_list("WEBHOOKS_ALERT_EMAILS", [])
WEBHOOKS_CONNECT_TIMEOUT_SECONDS = env_int("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", 3)
WEBHOOKS_TIMEOUT_SECONDS = env_int("WEBHOOKS_TIMEOUT_SECONDS", 10)
# Bytes of a receiver's response kept in the delivery log (the rest is never read).
WEBHOOKS_RESPONSE_MAX_BYTES = env_int("WEBHOOKS_RESPONSE_MAX_BYTES", 4096)
# After a secret rotation, messages carry a signature with the old secret too for this long.
WEBHOOKS_SECRET_OVERLAP_HOURS = env_int("WEBHOOKS_SECRET_OVERLAP_HOURS", 24)
WEBHOOKS_RETENTION_DAYS = env_int("WEBHOOKS_RETENTION_DAYS", 30)
# Retries due within this many seconds are queued with a countdown; later ones by the sweep.
WEBHOOKS_COUNTDOWN_MAX_SECONDS = 900
# A claim older than this is taken to be lost with its worker and queued again.
WEBHOOKS_CLAIM_TIMEOUT_SECONDS = 300
WEBHOOKS_SWEEP_GRACE_SECONDS = 30
WEBHOOKS_SWEEP_BATCH = 5000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Reports (issue 16) -------------------------------------------------------------------
# Each owner's open pipeline and active contracts, once a day after the data-health snapshot:
# the reports' trend charts read these rows (analytics.reports.snapshots; idempotent per day).
CELERY_BEAT_SCHEDULE["reports-snapshot-take"] = {
    "task": "analytics.report_snapshot_take",
    "schedule": crontab(hour=2, minute=45),
}

# --- Imports, duplicates, exports (issue 14) ---------------------------------------------------
# Rows staged, processed and committed together by an import job (one transaction per chunk).
IMPORTS_CHUNK_SIZE = env_int("IMPORTS_CHUNK_SIZE", 2500)
# An import with no progress for this long is re-queued (its worker is taken to be lost).
IMPORTS_STALL_SECONDS = env_int("IMPORTS_STALL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["imports-resume-stalled"] = {"task": "imports.imports_resume_stalled", "schedule": 60}
# XLSX exports are built in memory by the spreadsheet format itself: above this, CSV (streamed).
EXPORTS_XLSX_MAX_ROWS = env_int("EXPORTS_XLSX_MAX_ROWS", 50000)

# --- Cases and the knowledge base (#17) ----------------------------------------------------
# The support mailbox: replies go out with its plus-address per case (support+case-42-…@…).
CASES_REPLY_ADDRESS = env_str("CASES_REPLY_ADDRESS", "support@clientele.example")
# Shared secret of the inbound-mail endpoint (POST /hooks/mail/inbound, a raw RFC 5322 message).
CASES_INBOUND_SECRET = env_str("CASES_INBOUND_SECRET")
CASES_ATTACHMENT_MAX_BYTES = env_int("CASES_ATTACHMENT_MAX_MB", 10) * 1024 * 1024
CASES_ATTACHMENTS_PER_MESSAGE = 10
CASES_ATTACHMENT_TYPES = env_list(
    "CASES_ATTACHMENT_TYPES",
    [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
)
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
# The staff queue: cases per page, and how far its count goes before it says "1,000+".
CASES_QUEUE_PAGE_SIZE = env_int("CASES_QUEUE_PAGE_SIZE", 25)
CASES_QUEUE_COUNT_LIMIT = env_int("CASES_QUEUE_COUNT_LIMIT", 1000)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "CaseStatusEnum": "cases.models.Case.Status",
        "CaseChannelEnum": "cases.models.Case.Channel",
        "CaseSeverityEnum": "cases.models.Case.Severity",
        "CaseCategoryEnum": "cases.models.Case.Category",
        "CaseTeamEnum": "cases.models.Case.Team",
        "CaseMessageKindEnum": "cases.models.CaseMessage.Kind",
        "ArticleStatusEnum": "knowledge.models.Article.Status",
        "ArticleVisibilityEnum": "knowledge.models.Article.Visibility",
    }
)

# --- Notifications (#15) --------------------------------------------------------------------
# Task reminders look back this far: a first run does not remind of years of old tasks.
NOTIFICATIONS_TASK_REMINDER_LOOKBACK_HOURS = env_int("NOTIFICATIONS_TASK_REMINDER_LOOKBACK_HOURS", 24)
# The hourly digest carries unread notifications up to this old (older ones stay in the bell).
NOTIFICATIONS_DIGEST_LOOKBACK_HOURS = env_int("NOTIFICATIONS_DIGEST_LOOKBACK_HOURS", 48)

# --- Data that stays right (issue 19) ---
# How contacts without portal access who agreed to be contacted are asked to reconfirm: "link"
# (an email with one-click "still correct" / "correct my details" links, no account needed) or
# "invitation" (an invitation to register, through one invitation batch per run).
DECAY_RECONFIRMATION_NON_PORTAL = env_str("DECAY_RECONFIRMATION_NON_PORTAL", "link")
# Access reviews: every this many days per account tier (tier key -> days); other tiers the default.
REVIEWS_INTERVAL_DAYS = env_int("REVIEWS_INTERVAL_DAYS", 91)
REVIEWS_INTERVAL_DAYS_BY_TIER = {
    tier: int(days)
    for tier, _, days in (item.partition(":") for item in env_list("REVIEWS_INTERVAL_DAYS_BY_TIER", []))
    if days
}
# A review not completed this many days after it opened is overdue: the org admins are reminded
# once and the account owner is told.
REVIEWS_DUE_DAYS = env_int("REVIEWS_DUE_DAYS", 14)
CELERY_BEAT_SCHEDULE["reviews-open-and-remind"] = {"task": "reviews.open_and_remind", "schedule": 60 * 60}

# --- Custom fields (issue 13) ---
# Sales managers may define custom fields too (operations always may).
CUSTOMFIELDS_MANAGERS_MAY_DEFINE = env_bool("CUSTOMFIELDS_MANAGERS_MAY_DEFINE", False)
# Definitions are read once per request.
MIDDLEWARE = [*MIDDLEWARE, "customfields.middleware.FieldDefinitionCacheMiddleware"]
# Their definitions are cached under an alias of their own (the same backend and server), so
# clearing the default cache (the API throttle's counts) does not make every page re-read them.
CACHES = {**CACHES, "customfields": {**CACHES["default"], "KEY_PREFIX": "clientele-customfields"}}

# --- Issue 18: workflow rules ---
# Seconds before each retry of a failing rule action; after the last, the run fails and its owner is told.
WORKFLOWS_RETRY_SECONDS = [int(s) for s in env_list("WORKFLOWS_RETRY_SECONDS", ["30", "300"])]
# However a rule is set, changes made by rules stop re-triggering rules this many levels deep.
WORKFLOWS_MAX_DEPTH = env_int("WORKFLOWS_MAX_DEPTH", 5)
CELERY_BEAT_SCHEDULE["workflows-time-scan"] = {"task": "workflows.time_scan", "schedule": 60}
CELERY_BEAT_SCHEDULE["workflows-resume-stalled"] = {"task": "workflows.resume_stalled", "schedule": 5 * 60}

# --- Issue 16: report rollups ----------------------------------------------------------------
# The reports' rollups (analytics.reports.rollups) cover closed days; each hourly run recomputes
# this many days back, so late-logged, moved or deleted activities in that window come right.
REPORTS_ROLLUP_REFRESH_DAYS = env_int("REPORTS_ROLLUP_REFRESH_DAYS", 35)
CELERY_BEAT_SCHEDULE["reports-rollups-refresh"] = {
    "task": "analytics.report_rollups_refresh",
    "schedule": crontab(minute=20),
}

# --- Issue 19: reaching the contacts no automatic loop reaches ---
# Each rep's weekly verification list in My work: this many of their contacts with no portal
# access and no org admin at their account, no longer fresh, stalest first (0 hides the list).
DECAY_VERIFICATION_QUEUE_SIZE = env_int("DECAY_VERIFICATION_QUEUE_SIZE", 10)
# Customer accounts without an org admin: the owner is prompted to nominate one (this many shown).
REVIEWS_NOMINATION_SHOWN = env_int("REVIEWS_NOMINATION_SHOWN", 5)
