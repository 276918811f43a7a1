"""Configuration classes read from the environment.

APP_ENV selects one of development | testing | production. Production refuses to start
without SECRET_KEY, IDENTITY_KEY and DATABASE_URL; development creates its keys once
under instance/ so that a newcomer's `make run` needs nothing set by hand.
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any, Mapping

BASE_DIR = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """The environment does not describe a usable configuration."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_identity_key(key: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ConfigError("IDENTITY_KEY must be urlsafe base64") from exc
    if len(raw) != 32:
        raise ConfigError("IDENTITY_KEY must encode exactly 32 random bytes "
                          "(python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())')")
    return key


def check_audit_key(name: str, key: str) -> str:
    if len(key) < 32:
        raise ConfigError(f"{name} must be at least 32 characters (the audit trail's MAC key; "
                          "python -c 'import secrets;print(secrets.token_urlsafe(48))')")
    return key


def _instance_secret(instance: Path, name: str, make) -> str:
    """Read a development secret from instance/, creating it once (mode 0600)."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


SHARED_LIMIT_STORES = ("redis://", "rediss://", "redis+unix://", "redis+sentinel://", "redis+cluster://",
                       "memcached://")


def check_limit_store(uri: str, enabled: bool, production: bool) -> str:
    """Production runs several workers (`gunicorn -w 4`): each would count on its own in a per-process
    store, multiplying every documented limit by the number of workers."""
    if production and enabled and not uri.startswith(SHARED_LIMIT_STORES):
        raise ConfigError("production refuses to start: RATELIMIT_STORAGE_URI must name a store shared by all "
                          f"workers (redis://host:6379/0 or memcached://host:11211), got {uri or 'nothing'!r}; "
                          "a per-process store (memory://) would give every worker its own budget")
    return uri


# The one-line fields of a report (intake/validate.py LINE_LIMITS add up to 1,884; a test keeps this above them).
ONE_LINE_FIELD_CHARS = 2_000


def body_limit(max_text: int) -> int:
    """The largest non-multipart body the service needs: the report text and every one-line field at their
    limits, each character at its longest encoding (a JSON escape of a surrogate pair is 12 bytes, a
    percent-encoded 4-byte character 12 too), plus 16 KB for keys, tokens and the other fields."""
    return (max_text + ONE_LINE_FIELD_CHARS) * 12 + 16 * 1024


def _new_identity_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def load_settings(env: Mapping[str, str] | None = None, instance_path: Path | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = os.environ if env is None else env
    app_env = env.get("APP_ENV", "development").strip() or "development"
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
    instance = Path(instance_path or env.get("INSTANCE_DIR") or BASE_DIR / "instance")
    production = app_env == "production"

    if production:
        missing = [n for n in ("SECRET_KEY", "IDENTITY_KEY", "DATABASE_URL") if not env.get(n)]
        if missing:
            raise ConfigError("production refuses to start: set " + ", ".join(missing)
                              + " in the environment (see README, Configuration)")
        secret_key = env["SECRET_KEY"]
        if len(secret_key) < 32:
            raise ConfigError("production refuses to start: SECRET_KEY must be at least 32 characters")
        identity_key = env["IDENTITY_KEY"]
        database_url = env["DATABASE_URL"]
    else:
        secret_key = env.get("SECRET_KEY") or _instance_secret(instance, "secret_key", lambda: secrets.token_urlsafe(48))
        identity_key = env.get("IDENTITY_KEY") or _instance_secret(instance, "identity_key", _new_identity_key)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'xinglongtai.sqlite3'}"
    check_identity_key(identity_key)
    previous_keys = [check_identity_key(k.strip()) for k in env.get("IDENTITY_KEY_PREVIOUS", "").split(",") if k.strip()]
    audit_key = check_audit_key("AUDIT_KEY", env["AUDIT_KEY"]) if env.get("AUDIT_KEY") else ""
    previous_audit_keys = [check_audit_key("AUDIT_KEY_PREVIOUS", k.strip())
                           for k in env.get("AUDIT_KEY_PREVIOUS", "").split(",") if k.strip()]

    upload_dir = Path(env.get("UPLOAD_DIR") or instance / "uploads")
    limits_on = _bool(env.get("RATELIMIT_ENABLED"), True)
    limit_store = check_limit_store(env.get("RATELIMIT_STORAGE_URI", "" if production else "memory://").strip(),
                                    limits_on, production)
    max_text = _int(env, "MAX_TEXT_CHARS", 20_000)
    max_file_mb = _int(env, "MAX_FILE_MB", 20)
    max_files = _int(env, "MAX_FILES", 5)
    return {
        "APP_ENV": app_env,
        "TESTING": app_env == "testing",
        "SECRET_KEY": secret_key,
        "IDENTITY_KEY": identity_key,
        # Keys being rotated out, newest first: they still decrypt; `flask identity rotate` re-encrypts
        # everything under IDENTITY_KEY. The oldest one keeps deriving the receipt and mail-signature keys.
        "IDENTITY_KEY_PREVIOUS": previous_keys,
        # Key of the receipts' HMAC; derived from IDENTITY_KEY unless set on its own.
        "RECEIPT_KEY": env.get("RECEIPT_KEY") or "",
        # Key of the audit trail's MACs (core/keys.py); derived from IDENTITY_KEY unless set on its own.
        # Never in the database: someone holding only the database cannot recompute the chain. Old keys
        # (AUDIT_KEY_PREVIOUS, and the IDENTITY_KEY_PREVIOUS ones) still verify the entries they keyed.
        "AUDIT_KEY": audit_key,
        "AUDIT_KEY_PREVIOUS": previous_audit_keys,
        # scrypt cost of receipts issued before migration 0008, still verified (then re-stored as HMAC).
        "RECEIPT_SCRYPT_N": _int(env, "RECEIPT_SCRYPT_N", 2 ** 14),
        "DATABASE_URL": normalise_database_url(database_url),
        # A pooled PostgreSQL connection idle this long is pinged before use (a restart or a firewall
        # may have dropped it); connections in steady use are not.
        "DB_PING_IDLE_SECONDS": _int(env, "DB_PING_IDLE_SECONDS", 10),
        "UPLOAD_DIR": str(upload_dir),
        "MAX_FILE_BYTES": max_file_mb * 1024 * 1024,
        "MAX_FILES": max_files,
        "MAX_TEXT_CHARS": max_text,
        "MIN_TEXT_CHARS": _int(env, "MIN_TEXT_CHARS", 20),
        # Cap of a multipart request (the only kind that carries files): every file at its limit plus room
        # for the text fields. Every other body (JSON, url-encoded forms) gets MAX_BODY_BYTES (core/web.py).
        "MAX_CONTENT_LENGTH": max_files * max_file_mb * 1024 * 1024 + 2 * 1024 * 1024,
        "MAX_BODY_BYTES": _int(env, "MAX_BODY_KB", body_limit(max_text) // 1024) * 1024,
        # Quotas of one report's follow-up (replies and their files, whichever channel), per 24 hours and in
        # total, so that a flood from one receipt cannot fill the disk. Files handed in with the report count.
        "REPORT_MAX_MESSAGES_PER_DAY": _int(env, "REPORT_MAX_MESSAGES_PER_DAY", 20),
        "REPORT_MAX_MESSAGES_TOTAL": _int(env, "REPORT_MAX_MESSAGES_TOTAL", 200),
        "REPORT_MAX_FILES_PER_DAY": _int(env, "REPORT_MAX_FILES_PER_DAY", 20),
        "REPORT_MAX_FILES_TOTAL": _int(env, "REPORT_MAX_FILES_TOTAL", 100),
        "REPORT_MAX_BYTES_PER_DAY": _int(env, "REPORT_MAX_MB_PER_DAY", 200) * 1024 * 1024,
        "REPORT_MAX_BYTES_TOTAL": _int(env, "REPORT_MAX_MB_TOTAL", 1000) * 1024 * 1024,
        "EMAIL_CHECK_DELIVERABILITY": _bool(env.get("EMAIL_CHECK_DELIVERABILITY"), production),
        "RATELIMIT_ENABLED": limits_on,
        "RATELIMIT_STORAGE_URI": limit_store,
        # Accepted submissions per client, web form and API together; attempts refused by validation count
        # only against the higher RATELIMIT_SUBMIT_FAILED (so a citizen's typos do not use up the budget).
        "RATELIMIT_SUBMIT": env.get("RATELIMIT_SUBMIT", "10 per hour;30 per day"),
        "RATELIMIT_SUBMIT_FAILED": env.get("RATELIMIT_SUBMIT_FAILED", "30 per hour;100 per day"),
        "RATELIMIT_LOOKUP": env.get("RATELIMIT_LOOKUP", "10 per minute;60 per hour"),
        "RATELIMIT_API": env.get("RATELIMIT_API", "120 per minute"),
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "20 per minute"),
        "LOGIN_MAX_FAILURES": _int(env, "LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCK_MINUTES": _int(env, "LOGIN_LOCK_MINUTES", 15),
        "CORS_ORIGINS": [o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()],
        "REPLAY_WINDOW_SECONDS": _int(env, "REPLAY_WINDOW_SECONDS", 600),
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 1 if production else 0),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,  # Flask-Login's cookie (never set: no "remember me"), locked anyway
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": _int(env, "SESSION_LIFETIME_SECONDS", 1800),
        # A staff session ends at logout (its id is removed on the server) and at the latest this long after
        # its login, however busy.
        "STAFF_SESSION_MAX_HOURS": _int(env, "STAFF_SESSION_MAX_HOURS", 12),
        "WTF_CSRF_TIME_LIMIT": _int(env, "CSRF_TIME_LIMIT_SECONDS", 3 * 3600),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        "SITE_NAME": env.get("SITE_NAME", ""),
        "REFERENCE_PREFIX": env.get("REFERENCE_PREFIX", "XLT"),
        "CONFIG_DIR": env.get("DOMAIN_CONFIG_DIR") or str(BASE_DIR / "config"),
        # Email channel (issue: mailboxes of Attachment 2) and the outbox.
        "MAILBOX_HEALTH": env.get("MAILBOX_HEALTH", ""),
        "MAILBOX_MARKET": env.get("MAILBOX_MARKET", ""),
        "MAILBOX_MEDINSURE": env.get("MAILBOX_MEDINSURE", ""),
        "SMTP_URL": env.get("SMTP_URL", ""),
        "MAIL_FROM": env.get("MAIL_FROM", "noreply@localhost"),
        "MAIL_SENDER_NAME": env.get("MAIL_SENDER_NAME", "兴隆台区医药领域腐败问题举报平台"),
        "MAIL_FETCH_MAX_MESSAGES": _int(env, "MAIL_FETCH_MAX_MESSAGES", 200),
        "MAIL_FETCH_MAX_SECONDS": _int(env, "MAIL_FETCH_MAX_SECONDS", 120),
        "MAIL_MAX_MESSAGE_BYTES": _int(env, "MAIL_MAX_MESSAGE_MB", 60) * 1024 * 1024,
        "MAIL_MAX_ATTEMPTS": _int(env, "MAIL_MAX_ATTEMPTS", 20),
        # A mail claimed by a sender that then died is taken over after this long.
        "MAIL_CLAIM_SECONDS": _int(env, "MAIL_CLAIM_SECONDS", 600),
        # Data retention: ended cases lose reporter identities and evidence files after this many days
        # (0 keeps them for ever); the task force is told RETENTION_NOTICE_HOURS before.
        "RETENTION_DAYS": _int(env, "RETENTION_DAYS", 3 * 365),
        "RETENTION_NOTICE_HOURS": _int(env, "RETENTION_NOTICE_HOURS", 72),
        "SITE_URL": env.get("SITE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The scheduler process (`flask scheduler run`): job intervals and the lease other processes wait on.
        "SCHEDULER_REMINDERS_SECONDS": _int(env, "SCHEDULER_REMINDERS_SECONDS", 600),
        "SCHEDULER_OUTBOX_SECONDS": _int(env, "SCHEDULER_OUTBOX_SECONDS", 60),
        "SCHEDULER_ROUTING_SECONDS": _int(env, "SCHEDULER_ROUTING_SECONDS", 2),
        "SCHEDULER_COUNTS_SECONDS": _int(env, "SCHEDULER_COUNTS_SECONDS", 60),
        # Route each report inside the request that submitted it (the reporter waits for the classifier,
        # the matrix and the deadlines) instead of in the scheduler's routing job a few seconds later.
        # On for the test suite, where no scheduler runs; off wherever one does (`make run`, production).
        "ROUTING_IN_REQUEST": _bool(env.get("ROUTING_IN_REQUEST"), app_env == "testing"),
        # Route with the corpus model shipped in routing/data/model.json.gz when the database holds no
        # newer one. Off for the test suite (its routing expectations are the rules'; the tests of the model
        # turn it on), on everywhere else.
        "ROUTING_SHIPPED_MODEL": _bool(env.get("ROUTING_SHIPPED_MODEL"), app_env != "testing"),
        # The routing job classifies a large batch in this many forked processes (routing.pool); 0 or 1: in
        # the job's own process. Off for the test suite (its tests of the pool turn it on).
        "ROUTING_WORKERS": _int(env, "ROUTING_WORKERS", 0 if app_env == "testing" else 2),
        # The labelled corpus `flask routing retrain` learns from (JSON Lines files, the format of
        # routing/data/train, routing/data/README.md); empty: the corpus shipped in routing/data/train.
        "ROUTING_TRAIN_DIR": env.get("ROUTING_TRAIN_DIR", ""),
        "SCHEDULER_MAIL_FETCH_SECONDS": _int(env, "SCHEDULER_MAIL_FETCH_SECONDS", 300),
        "SCHEDULER_LEASE_SECONDS": _int(env, "SCHEDULER_LEASE_SECONDS", 60),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }
