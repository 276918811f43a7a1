"""WSGI entry point: `gunicorn wsgi:app`. Starts no scheduler and runs no migration."""
import sys

from config.settings import ConfigError
from wiring.factory import create_app

try:
    app = create_app()
except ConfigError as exc:  # a clear message instead of a traceback
    sys.stderr.write(f"configuration error: {exc}\n")
    raise SystemExit(2) from None
