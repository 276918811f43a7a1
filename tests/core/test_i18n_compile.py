"""The catalogues compile on first use in every process (test workers, gunicorn workers, `flask setup`):
processes that find the .mo stale at the same moment must all succeed and leave one whole file."""
from __future__ import annotations

import shutil
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from babel.messages.mofile import read_mo

from core.i18n import TRANSLATIONS, compile_catalogs


def _compile(root: str) -> int:
    return len(compile_catalogs(Path(root), force=True))


def test_processes_compiling_at_once_all_succeed_and_leave_one_whole_catalogue(tmp_path):
    root = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, root, ignore=shutil.ignore_patterns("*.mo"))
    with ProcessPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(_compile, [str(root)] * 12))
    assert results == [1] * 12
    (mo,) = root.glob("*/LC_MESSAGES/messages.mo")
    assert not list(root.glob("*/LC_MESSAGES/*.tmp"))
    assert stat.S_IMODE(mo.stat().st_mode) == 0o644
    with open(mo, "rb") as fh:
        catalog = read_mo(fh)
    assert catalog.get("Reporter's phone").string == "举报人电话"
