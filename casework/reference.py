"""Reference data of routing loaded by `flask setup`: the negative list's items (the classifier
reads its cue terms from config/ directly; the database keeps codes and wording for pages and ledgers)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import NegativeListItem
from routing.taxonomy import load_taxonomy


def load_negative_list(session: Session, config_dir: Path) -> int:
    """Validate the three routing config files and upsert the 30 items. Idempotent."""
    tax = load_taxonomy(config_dir)  # raises TaxonomyError on an inconsistent configuration
    existing = {row.code: row for row in session.scalars(select(NegativeListItem))}
    for code, item in tax.items.items():
        row = existing.get(code) or NegativeListItem(code=code)
        row.area, row.area_title, row.title, row.wording = item.area, item.area_title, item.title, item.wording
        session.add(row)
    session.flush()
    return len(tax.items)
