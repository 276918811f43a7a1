"""Demo data of the reporter's side (反馈): a result for every ended case, ratings (online and by 回访),
objections, and reviews decided by the task force, so the three rates show something."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy.orm import Session

from casework.models import Case
from casework.return_call_models import RETURN_CALL_CHANNELS, ReturnCall
from core.accounts import User
from core.localtime import LOCAL_TZ, local_date
from intake.feedback_models import ReportObjection, ReportRating, ReportResult
from intake.models import Report

RESULTS = {"closed": ("经核查，反映的问题基本属实，相关单位已责令整改并对责任人作出处理，整改已完成。",
                      "经核查，反映的问题部分属实，已对相关人员批评教育，医院已完善相关制度。",
                      "经核查，未发现反映的问题，已将核查情况向被举报单位反馈。"),
           "not_accepted": ("经审查，所反映的内容不属于本次集中整治范围，已告知可向有关部门反映。",
                            "所反映的情况缺少可核查的具体线索，暂不予受理；如有新的线索可补充后再次反映。")}


def _at(day: date, rnd: random.Random) -> datetime:
    moment = datetime.combine(day, time(9 + rnd.randrange(8), rnd.randrange(60)), LOCAL_TZ)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def add_feedback(session: Session, rnd: random.Random, case: Case, report: Report, reviewer: User | None,
                 clerk: User | None, today: date, *, objection_wanted: bool = False) -> bool:
    """A result for an ended case; then, by chance, a rating, a 回访, an objection and its review. With
    `objection_wanted` an unsatisfied rating always brings its objection (so that a demo shows one
    whatever the day it is seeded on). Whether an objection was filed."""
    if case.status not in RESULTS:
        return False
    ended = local_date(case.closed_at) if case.closed_at else min(local_date(report.received_at) + timedelta(days=10),
                                                                   today)
    result = ReportResult(report_id=report.id, case_id=case.id, kind=case.status, decided_on=ended,
                          text=rnd.choice(RESULTS[case.status]), author_id=case.handler_id)
    session.add(result)
    session.flush()
    window_end = min(ended + timedelta(days=30), today)
    if (window_end - ended).days < 1:
        return False
    rating = rnd.choices(("satisfied", "basically_satisfied", "unsatisfied", None), (45, 25, 12, 18))[0]
    called = not report.anonymous and report.channel in RETURN_CALL_CHANNELS and clerk is not None
    when = ended + timedelta(days=rnd.randint(1, (window_end - ended).days))
    if called and rnd.random() < 0.8:
        session.add(ReturnCall(case_id=case.id, report_id=report.id, result_id=result.id, caller_id=clerk.id,
                               caller_name=clerk.display_name or clerk.username, called_at=_at(when, rnd),
                               rating=rating, words={"unsatisfied": "希望再查一查", None: "不便评价"}.get(rating, "满意，谢谢")))
        source = "return_call"
    else:
        source = rnd.choice(("web", "api"))
    if rating is not None:
        session.add(ReportRating(report_id=report.id, result_id=result.id, rating=rating, source=source,
                                 comment="" if rating != "unsatisfied" else "问题没有彻底解决", rated_at=_at(when, rnd)))
    if rating == "unsatisfied" and (rnd.random() < 0.6 or objection_wanted):
        filed = _at(when, rnd)
        objection = ReportObjection(report_id=report.id, result_id=result.id, text="处理结果与事实不符，相关问题仍然存在，请求复查。",
                                    filed_at=filed, state="open")
        if reviewer is not None and (today - when).days > 10:
            objection.state, objection.reviewer_id = "upheld", reviewer.id
            objection.decided_at = filed + timedelta(days=rnd.randint(5, 25))
            objection.reply = "经复查，原办理结果认定事实清楚、处理适当，予以维持。"
        session.add(objection)
        return True
    return False
