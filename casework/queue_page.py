"""The queue page of the staff blueprint (casework.pages registers these views): a tab of cases with its
counts, filters and search, its .xlsx download and the bulk assignment from it. The cases come from
casework.queue (access and recusal applied there); the page only adds what the rows show beside them."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from casework import workflow as casework
from casework.access import case_for, visible_reference
from casework.models import NegativeListItem
from casework.page_actions import action_error_message
from casework.queue import Badge, QueueFilters, QueueRow, audit_listing, deadline_badge, queue_page, tabs_for
from casework.queue_export import write_queue
from casework.related_views import related_summary, repeats_news
from casework.search import reference_in
from core.accounts import User
from core.audit import record
from core.auth import safe_next
from core.db import get_session
from core.downloads import XLSX, audited_download
from core.labels import in_chinese, label, person_label
from core.localtime import local_today
from core.roles import CASE_ROLES, roles_required
from core.units import list_units


def int_arg(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def date_arg(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filters_from(args, user: User) -> QueueFilters:
    """The queue's filters from a request's arguments; a tab the user does not have becomes their first."""
    tabs = tabs_for(user)
    return QueueFilters(
        tab=args.get("tab") if args.get("tab") in tabs else tabs[0],
        area=int_arg(args.get("area")), item=args.get("item") or None,
        status=args.get("status") or None, channel=args.get("channel") or None,
        lead_unit=args.get("lead_unit") or None, handler_id=int_arg(args.get("handler")),
        received_from=date_arg(args.get("received_from")), received_to=date_arg(args.get("received_to")),
        due_from=date_arg(args.get("due_from")), due_to=date_arg(args.get("due_to")), q=args.get("q", "")[:100],
        sort=args.get("sort") or "relevance",  # the best match first when searching, else the newest
        descending=args.get("dir", "desc") != "asc",
        page=int_arg(args.get("page")) or 1, per_page=int_arg(args.get("per_page")) or 50)


def assignable_handlers(session, user: User) -> list[User]:
    stmt = select(User).where(User.active.is_(True), User.role.in_(("handler", "unit_head")))
    if not user.is_taskforce:
        stmt = stmt.where(User.unit_code == user.unit_code)
    return list(session.scalars(stmt.order_by(User.unit_code, User.username)))


PLAIN = re.compile(r"[A-Za-z0-9._~-]+")  # never escaped in a URL path: a reference like XLT-2026-000123


@dataclass(frozen=True)
class RowWords:
    """What a queue row shows in words: looked up here, once per distinct code of the page, rather than through
    a template filter per cell (50 rows read some 300 labels and built 50 URLs)."""
    href: str
    received: str
    channel: str
    lead_unit: str
    handler: str
    status: str
    badge: Badge | None
    stage: str
    days: str


def row_words(rows: list[QueueRow]) -> list[RowWords]:
    today, local = local_today(), current_app.jinja_env.filters["local"]
    known: dict[tuple, str] = {}

    def word(code, kind: str) -> str:
        if (code, kind) not in known:
            known[(code, kind)] = label(code, kind)
        return known[(code, kind)]

    case_path = url_for("staff.case_page", reference="0")[:-1]
    out = []
    for row in rows:
        ref, b = row.reference, deadline_badge(row.case, today)
        days = "" if b is None else (_("%(n)s days overdue", n=-b.days) if b.days < 0 else
                                     _("due today") if b.days == 0 else _("%(n)s days left", n=b.days))
        out.append(RowWords(
            case_path + ref if PLAIN.fullmatch(ref) else url_for("staff.case_page", reference=ref),
            local(row.received_at, "%Y-%m-%d"), word(row.channel, "channel"), word(row.case.lead_unit, "unit"),
            person_label(row.handler) if row.handler else "—", word(row.case.status, "status"), b,
            word(b.stage, "stage") if b else "", days))
    return out


@roles_required(*CASE_ROLES)
def queue():
    session = get_session()
    f = filters_from(request.args, current_user)
    wanted = reference_in(f.q)
    if wanted:  # a reference from any tab: straight to the case, if the user may see it
        found = visible_reference(session, current_user, wanted)
        record(session, "queue.listed", actor=current_user, tab=f.tab, filters={}, q=f.q.strip()[:100], page=1,
               sort=f.sort, descending=f.descending, matched=int(found is not None), reference=wanted)
        session.commit()
        if found is not None:
            return redirect(url_for("staff.case_page", reference=found))
        flash(_("No case you may see has the reference %(reference)s.", reference=wanted))
        return redirect(url_for("staff.queue", tab=f.tab))
    result = queue_page(session, current_user, f)
    ids = [row.case.id for row in result.rows]
    # everything the page reads, in the listing's transaction (no second BEGIN after the commit) ...
    shown = dict(items=session.scalars(select(NegativeListItem).order_by(NegativeListItem.code)).all(),
                 units=list_units(session), handlers=assignable_handlers(session, current_user),
                 repeats=repeats_news(session, current_user, ids), related=related_summary(session, current_user, ids))
    audit_listing(session, current_user, f, result)
    session.commit()  # ... then the audit event, committed at once: the audit head is held only for this short write
    return render_template("staff/queue.html", page=result, f=f, tabs=tabs_for(current_user), **shown,
                           rows=list(zip(result.rows, row_words(result.rows))), args=request.args.to_dict(),
                           no_real_name=current_user.lacks_real_name)


@roles_required(*CASE_ROLES)
def queue_xlsx():
    """The queue's current filter, every page of it, as .xlsx (same access and recusal as the page)."""
    session = get_session()
    f = filters_from(request.args, current_user)
    filters = {k: v for k, v in request.args.items() if k not in ("page", "per_page") and v}
    out = io.BytesIO()
    with in_chinese():
        title = label(f.tab, "queue_tab")
    rows = write_queue(session, current_user, f, out, title)
    return audited_download(session, current_user, out, XLSX, f"案件列表-{local_today():%Y%m%d}.xlsx",
                            "queue.exported", filters=filters, rows=rows)


@roles_required("unit_head", "coordinator", "admin")
def bulk_assign():
    session = get_session()
    handler = session.get(User, int_arg(request.form.get("handler")) or 0)
    references = request.form.getlist("case")[:200]
    cases = [case_for(session, current_user, ref) for ref in references]
    if handler is None or not cases:
        flash(_("Choose cases and a handler."))
    else:
        try:
            count = casework.bulk_assign(session, current_user, cases, handler)
            flash(_("%(n)s case(s) assigned.", n=count))
        except casework.CaseActionError as exc:
            session.rollback()
            flash(action_error_message(exc))
    return redirect(safe_next(request.form.get("back")) or url_for("staff.queue"))
