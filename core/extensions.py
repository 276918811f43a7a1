"""Flask extensions, created unbound and bound in create_app."""
from flask import has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
babel = Babel()

LANG_COOKIE = "lang"


def select_locale() -> str:
    """Chinese first; English when the visitor chose it (?lang=en sets a cookie)."""
    if not has_request_context():  # mail rendered by a command or the scheduler: Chinese
        return "zh_CN"
    wanted = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if wanted == "en" else "zh_CN"
