import base64
import subprocess
import sys

import pytest

from config.settings import BASE_DIR, ConfigError, load_settings, normalise_database_url
from wiring.factory import create_app

GOOD_KEY = base64.urlsafe_b64encode(b"z" * 32).decode()
PROD = {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "IDENTITY_KEY": GOOD_KEY,
        "DATABASE_URL": "postgresql://u:p@db/xlt", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "IDENTITY_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_each_secret(missing, tmp_path):
    env = {k: v for k, v in PROD.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env, instance_path=tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_short_secret_and_bad_identity_key(tmp_path):
    with pytest.raises(ConfigError, match="at least 32"):
        load_settings({**PROD, "SECRET_KEY": "short"}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="32 random bytes"):
        load_settings({**PROD, "IDENTITY_KEY": base64.urlsafe_b64encode(b"x" * 16).decode()}, instance_path=tmp_path)


def test_wsgi_exits_with_a_clear_message_in_production_without_keys(tmp_path):
    env = {"APP_ENV": "production", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "production refuses to start" in proc.stderr
    assert "SECRET_KEY" in proc.stderr and "Traceback" not in proc.stderr


def test_development_creates_keys_once_under_instance(tmp_path):
    first = load_settings({"APP_ENV": "development"}, instance_path=tmp_path)
    second = load_settings({"APP_ENV": "development"}, instance_path=tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 32
    assert first["IDENTITY_KEY"] == second["IDENTITY_KEY"]
    assert (tmp_path / "identity_key").stat().st_mode & 0o077 == 0
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'xinglongtai.sqlite3'}"


def test_database_url_uses_psycopg3():
    assert normalise_database_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_unknown_app_env_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_settings({"APP_ENV": "staging"}, instance_path=tmp_path)


def test_production_trusts_one_proxy_and_marks_cookies_secure(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite3"},
                     env={**PROD, "UPLOAD_DIR": str(tmp_path / "u")})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.add_url_rule("/whoami", "whoami", lambda: __import__("flask").request.remote_addr + " "
                     + __import__("flask").request.scheme)
    resp = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert resp.status_code == 200  # never redirects to https itself
    assert resp.get_data(as_text=True) == "203.0.113.9 https"
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_development_ignores_forwarded_headers(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/d.sqlite3"},
                     env={"APP_ENV": "development", "INSTANCE_DIR": str(tmp_path)})
    app.add_url_rule("/whoami", "whoami", lambda: __import__("flask").request.remote_addr)
    resp = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.get_data(as_text=True) == "127.0.0.1"
    assert app.config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("store", [None, "", "memory://", "file:///tmp/limits", "memory://redis://"])
def test_production_refuses_a_rate_limit_store_of_its_own_per_worker(store, tmp_path):
    env = {k: v for k, v in PROD.items() if k != "RATELIMIT_STORAGE_URI"}
    if store is not None:
        env["RATELIMIT_STORAGE_URI"] = store
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI must name a store shared by all workers"):
        load_settings(env, instance_path=tmp_path)


@pytest.mark.parametrize("store", ["redis://cache:6379/0", "rediss://cache:6380/1", "memcached://cache:11211"])
def test_production_starts_with_a_shared_store(store, tmp_path):
    assert load_settings({**PROD, "RATELIMIT_STORAGE_URI": store}, instance_path=tmp_path)["RATELIMIT_STORAGE_URI"] == store


def test_make_run_keeps_the_memory_store_outside_production(tmp_path):
    for app_env in ("development", "testing"):
        assert load_settings({"APP_ENV": app_env}, instance_path=tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"


def test_wsgi_in_production_with_memory_store_exits_with_the_reason(tmp_path):
    env = {**PROD, "RATELIMIT_STORAGE_URI": "memory://", "PATH": "/usr/bin:/bin", "INSTANCE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "RATELIMIT_STORAGE_URI must name a store shared by all workers" in proc.stderr


def test_the_body_limit_covers_every_field_the_api_takes(tmp_path):
    from config.settings import ONE_LINE_FIELD_CHARS
    from intake.validate import LINE_LIMITS
    assert sum(LINE_LIMITS.values()) <= ONE_LINE_FIELD_CHARS
    settings = load_settings({"APP_ENV": "testing"}, instance_path=tmp_path)
    assert 200 * 1024 < settings["MAX_BODY_BYTES"] < 400 * 1024  # a few hundred KB, not the 102 MB of files


def test_the_audit_key_is_never_short_and_otherwise_derived(tmp_path):
    """Production has an audit key whenever it starts (IDENTITY_KEY is required); an AUDIT_KEY given must
    be long enough, and a stable AUDIT_KEY keys the trail whatever IDENTITY_KEY is."""
    from core.keys import audit_keyring
    with pytest.raises(ConfigError, match="AUDIT_KEY must be at least 32"):
        load_settings({**PROD, "AUDIT_KEY": "short"}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="AUDIT_KEY_PREVIOUS must be at least 32"):
        load_settings({**PROD, "AUDIT_KEY": "a" * 32, "AUDIT_KEY_PREVIOUS": "old"}, instance_path=tmp_path)
    derived = audit_keyring(load_settings(PROD, instance_path=tmp_path))
    assert len(derived) == 1 and GOOD_KEY.encode() not in derived[0].secret  # a subkey, not the identity key
    other = base64.urlsafe_b64encode(b"y" * 32).decode()
    stable = [audit_keyring(load_settings({**PROD, "IDENTITY_KEY": k, "AUDIT_KEY": "a" * 32}, instance_path=tmp_path))[0]
              for k in (GOOD_KEY, other)]
    assert stable[0] == stable[1] != derived[0]
