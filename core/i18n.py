"""Compile the translation catalogues (.po → .mo) when they are missing or stale, so that a fresh
clone shows Chinese after `flask setup` without a separate build step."""
from __future__ import annotations

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
        tmp = mo_path.with_suffix(".mo.tmp")
        with open(tmp, "wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        tmp.replace(mo_path)
        compiled.append(mo_path)
    return compiled
