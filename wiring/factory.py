"""The app factory: wiring only (config, database, extensions, blueprints, subscriptions, commands).
It stands on the top floor: it imports every package, and nothing imports it but wsgi.py and the tests."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from casework import mail_pages as clerk_mail_pages
from casework import feedback_pages
from casework import pages as case_pages
from casework import recusal_cli, related_cli
from casework import routing_cli as casework_routing_cli
from casework import runtime
from config.settings import BASE_DIR, load_settings
from core import accounts_cli, admin, audit, auth, calendar_cli, db, extensions, web
from demo import cli as demo_cli
from intake import api, clerk, export_cli, keys_cli, mail_admin, mail_cli, public
from intake import public_feedback  # noqa: F401 (the follow-up's rating and objection routes, on public.bp)
from intake.identity import IdentityCipher
from intake.quotas import Quotas
from intake.receipts import ReceiptHasher
from intake.storage import AttachmentStore
from intake.submit import IntakeContext
from intake.validate import Limits
from jobs import cli as jobs_cli
from oversight import cli as oversight_cli
from oversight import pages as oversight_pages
from oversight import supervision_pages
from routing import cli as routing_cli
from wiring import setup_cli


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
    audit.init_app(app)  # the audit trail's MAC keys, given to every session
    extensions.csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    extensions.limiter.init_app(app)
    extensions.babel.init_app(app, locale_selector=extensions.select_locale,
                              default_translation_directories=str(BASE_DIR / "translations"))
    app.extensions["intake"] = build_intake_context(app.config)

    # pages and the JSON API
    web.init_app(app)
    auth.init_app(app)  # Flask-Login, /login, /logout
    admin.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    extensions.csrf.exempt(api.bp)
    clerk.init_app(app)
    mail_admin.init_app(app)
    runtime.init_app(app)  # routing subscribes to intake's "report received"; intake never imports routing
    case_pages.init_app(app)
    clerk_mail_pages.init_app(app)  # /clerk/mail: unmatched replies and quarantined mail
    feedback_pages.init_app(app)  # the review of an objection and the clerks' 回访 list
    supervision_pages.init_app(app)  # /supervision (督办), /weekly (周调度)
    oversight_pages.init_app(app)  # /dashboard, /bulletin (月通报), /ledgers, the .xlsx downloads
    # commands
    setup_cli.init_app(app)  # `setup`
    accounts_cli.init_app(app)  # `users …`, `audit verify|anchor`
    export_cli.init_app(app)  # `reports export`
    related_cli.init_app(app)  # `reports related` (casework.related, on intake's `reports` group)
    calendar_cli.init_app(app)  # `calendar due`
    mail_cli.init_app(app)  # `mail fetch|send|…`
    keys_cli.init_app(app)  # `identity rotate`
    routing_cli.init_app(app)  # `classify`, `classify-eval`
    casework_routing_cli.init_app(app)  # `routing sweep|retrain|correct`
    recusal_cli.init_app(app)  # `recusal rescan`
    jobs_cli.init_app(app)  # `scheduler run`, `reminders run`, `deadlines sync`, …
    oversight_cli.init_app(app)  # `ledger export`
    demo_cli.init_app(app)  # `demo seed`
    return app


def build_intake_context(config: dict) -> IntakeContext:
    cipher = IdentityCipher(config["IDENTITY_KEY"], *config.get("IDENTITY_KEY_PREVIOUS", []))
    if config["RECEIPT_KEY"]:  # a receipt key of its own: an identity-key rotation does not touch receipts
        receipt_keys = [config["RECEIPT_KEY"].encode()]
    else:  # derived from each identity key, current first: old receipts are re-keyed on their next use
        receipt_keys = cipher.derive_all(b"xlt-receipt-key")
    return IntakeContext(
        cipher=cipher,
        hasher=ReceiptHasher(receipt_keys[0], config["RECEIPT_SCRYPT_N"], previous=receipt_keys[1:]),
        store=AttachmentStore(Path(config["UPLOAD_DIR"])),
        limits=Limits(min_text=config["MIN_TEXT_CHARS"], max_text=config["MAX_TEXT_CHARS"],
                      max_files=config["MAX_FILES"], max_file_bytes=config["MAX_FILE_BYTES"],
                      check_deliverability=config["EMAIL_CHECK_DELIVERABILITY"]),
        reference_prefix=config["REFERENCE_PREFIX"],
        replay_window_seconds=config["REPLAY_WINDOW_SECONDS"],
        quotas=Quotas(messages_per_day=config["REPORT_MAX_MESSAGES_PER_DAY"],
                      messages_total=config["REPORT_MAX_MESSAGES_TOTAL"],
                      files_per_day=config["REPORT_MAX_FILES_PER_DAY"], files_total=config["REPORT_MAX_FILES_TOTAL"],
                      bytes_per_day=config["REPORT_MAX_BYTES_PER_DAY"], bytes_total=config["REPORT_MAX_BYTES_TOTAL"]))
