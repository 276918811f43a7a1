"""Routing wired into the app: the taxonomy loaded once, the learned model cache, the working-day
calendar and deadline policy, and the subscriber to intake's "report received" signal (init_app is
called by the app factory; the commands are registered there too)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from casework.deadline_rules import DeadlinePolicy
from casework.learned_store import LearnedCache
from casework.models import Case
from casework.opening import route_report
from casework.reference import load_negative_list
from casework.related import RelatedPolicy
from casework.review import on_objection_filed
from core.db import new_session
from core.reference_data import reference_loaders
from core.workdays import WorkCalendar
from intake.signals import objection_filed, report_received
from routing.learned import LearnedModel
from routing.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)


@dataclass
class RoutingRuntime:
    taxonomy: Taxonomy
    learned: LearnedCache = field(default_factory=LearnedCache)
    related: RelatedPolicy = field(default_factory=RelatedPolicy)  # config/related.toml

    def learned_model(self, session: Session) -> LearnedModel | None:
        try:
            return self.learned.current(session)
        except Exception:  # a broken stored model must not stop routing: rules alone
            log.exception("stored model could not be loaded; routing with the shipped model")
            return self.learned.default()


    def learned_model_if_reachable(self) -> LearnedModel | None:
        """The stored learned model, if a database with one is reachable; the rules alone otherwise
        (`classify` works on a machine with no database): the model shipped in the repository."""
        try:
            with new_session() as session:
                return self.learned.current(session)
        except SQLAlchemyError as exc:  # no database set up here (yet): expected, one line, no traceback
            log.warning("no stored model reachable (%s); the shipped model", type(exc).__name__)
            return self.learned.default()
        except Exception:  # a broken stored model: the same fallback as routing's
            log.exception("stored model could not be loaded; routing with the shipped model")
            return self.learned.default()


def routing_runtime(app: Flask | None = None) -> RoutingRuntime:
    return (app or current_app).extensions["routing"]


def on_report_received(sender, report_id: int) -> None:
    """With ROUTING_IN_REQUEST, classify and route a report right after intake committed it (in its own
    session). Otherwise the report waits in the routing queue for the scheduler's routing job."""
    if not has_app_context():  # a script outside the app: the routing job or `flask routing sweep` routes it
        log.warning("report %s received outside an app context; left in the routing queue", report_id)
        return
    if not current_app.config["ROUTING_IN_REQUEST"]:
        return
    runtime = routing_runtime()
    with new_session() as session:
        route_report(session, runtime.taxonomy, report_id, runtime.learned_model(session), runtime.related)


def export_fields(session: Session, report) -> dict:
    case = session.scalar(select(Case).where(Case.report_id == report.id))
    if case is None:
        return {"item": None, "lead_unit": None, "assist_units": [], "case_status": None, "in_scope": None}
    return {"item": case.item_code, "lead_unit": case.lead_unit, "assist_units": case.assist_units,
            "case_status": case.status, "in_scope": case.in_scope, "transfer_suggested": case.transfer_suggested}


def init_app(app: Flask) -> None:
    app.extensions["routing"] = RoutingRuntime(load_taxonomy(Path(app.config["CONFIG_DIR"])),
                                               LearnedCache(use_shipped=app.config["ROUTING_SHIPPED_MODEL"]),
                                               RelatedPolicy.from_config(Path(app.config["CONFIG_DIR"]) / "related.toml"))
    app.extensions["workcalendar"] = WorkCalendar.from_config(Path(app.config["CONFIG_DIR"]) / "holidays.toml")
    app.extensions["deadline_policy"] = DeadlinePolicy.from_config(Path(app.config["CONFIG_DIR"]) / "deadlines.toml")
    reference_loaders(app).append(("negative-list items", load_negative_list))
    app.extensions.setdefault("report_export_fields", []).append(export_fields)
    report_received.connect(on_report_received)
    objection_filed.connect(on_objection_filed)
