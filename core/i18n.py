"""Compile the translation catalogues (.po → .mo) when they are missing or stale, so that a fresh
clone shows Chinese after `flask setup` without a separate build step."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from config.settings import BASE_DIR

TRANSLATIONS = BASE_DIR / "translations"


def compile_catalogs(root: Path = TRANSLATIONS, force: bool = False) -> list[Path]:
    compiled = []
    for po_path in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with open(po_path, "rb") as fh:
            catalog = read_po(fh, locale=po_path.parts[-3])
        # A temporary file of this process's own, then one atomic rename: processes that compile at the
        # same moment (test workers, gunicorn workers) never write into or rename each other's file.
        fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=mo_path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalog, use_fuzzy=False)
            os.chmod(tmp_name, 0o644)  # mkstemp makes it 0600: the service may run as another user
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        compiled.append(mo_path)
    return compiled
