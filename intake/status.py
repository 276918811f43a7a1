"""The status a reporter sees on follow-up, changed by casework through this one function."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.db import utcnow
from intake.models import STATUSES, Report, StatusChange


def set_public_status(session: Session, report: Report, status: str) -> bool:
    """Record a new public status with its date (in the caller's transaction). False if unchanged."""
    if status not in STATUSES:
        raise ValueError(f"unknown public status {status!r}")
    if report.status == status:
        return False
    now = utcnow()
    report.status, report.status_changed_at = status, now
    session.add(StatusChange(report_id=report.id, status=status, at=now))
    return True
