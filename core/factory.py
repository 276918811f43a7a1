"""The app factory: wiring only (config, database, extensions, blueprints, subscriptions)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import BASE_DIR, load_settings
from core import db, extensions
from intake.identity import IdentityCipher
from intake.receipts import ReceiptHasher
from intake.storage import AttachmentStore
from intake.submit import IntakeContext
from intake.validate import Limits


def create_app(overrides: dict | None = None, env: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(BASE_DIR / "templates"),
                static_folder=str(BASE_DIR / "static"), instance_path=str(BASE_DIR / "instance"))
    app.config.update(load_settings(env))
    if overrides:
        app.config.update(overrides)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)

    db.init_app(app)
    extensions.csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    extensions.limiter.init_app(app)
    extensions.babel.init_app(app, locale_selector=extensions.select_locale,
                              default_translation_directories=str(BASE_DIR / "translations"))
    app.extensions["intake"] = build_intake_context(app.config)

    from core import admin, auth, cli, keys_cli, web
    from intake import api, clerk, mail_admin, mail_cli, public
    from routing import deadline_pages, reporting_pages, runtime, staff
    web.init_app(app)
    auth.init_app(app)  # Flask-Login, /login, /logout, `users` and `audit` commands
    admin.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    extensions.csrf.exempt(api.bp)
    cli.init_app(app)
    mail_cli.init_app(app)
    keys_cli.init_app(app)  # `identity rotate`
    runtime.init_app(app)  # routing subscribes to intake's "report received"; intake never imports routing
    clerk.init_app(app)
    mail_admin.init_app(app)
    staff.init_app(app)
    deadline_pages.init_app(app)  # /supervision (督办), /weekly (周调度)
    reporting_pages.init_app(app)  # /dashboard, /bulletin (月通报), /ledgers, the .xlsx downloads
    return app


def build_intake_context(config: dict) -> IntakeContext:
    cipher = IdentityCipher(config["IDENTITY_KEY"], *config.get("IDENTITY_KEY_PREVIOUS", []))
    receipt_key = config["RECEIPT_KEY"].encode() if config["RECEIPT_KEY"] else cipher.derive(b"xlt-receipt-key")
    return IntakeContext(
        cipher=cipher,
        hasher=ReceiptHasher(receipt_key, config["RECEIPT_SCRYPT_N"]),
        store=AttachmentStore(Path(config["UPLOAD_DIR"])),
        limits=Limits(min_text=config["MIN_TEXT_CHARS"], max_text=config["MAX_TEXT_CHARS"],
                      max_files=config["MAX_FILES"], max_file_bytes=config["MAX_FILE_BYTES"],
                      check_deliverability=config["EMAIL_CHECK_DELIVERABILITY"]),
        reference_prefix=config["REFERENCE_PREFIX"],
        replay_window_seconds=config["REPLAY_WINDOW_SECONDS"])
