"""The names every part of casework shares: the task force's code, the statuses in which a case is
still open, and the roles that supervise and that work cases. Data only, so that the deadlines and the
case rules both read them without importing each other."""
from __future__ import annotations

TASKFORCE = "taskforce"
OPEN_STATUSES = ("triage", "to_accept", "in_progress")
SUPERVISOR_ROLES = ("coordinator", "admin")
WORKER_ROLES = ("handler", "unit_head")
