"""Cases, their units, classifications, human corrections and the learned model, as stored."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from intake.models import Report

CASE_STATUSES = ("triage", "to_accept", "in_progress", "closed", "not_accepted", "transferred", "merged")
FINDINGS = ("substantiated", "partly", "unfounded")  # 查实, 部分查实, 不实


class NegativeListItem(Base):
    """The 30 items of the plan's negative list (wording used by ledgers and pages)."""
    __tablename__ = "negative_list_items"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    area: Mapped[int] = mapped_column()
    area_title: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    wording: Mapped[str] = mapped_column(Text)


class Case(Base):
    """A report being worked: where it is routed and in which state (one case per report for now)."""
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    item_code: Mapped[str | None] = mapped_column(ForeignKey("negative_list_items.code"), index=True)
    area: Mapped[int | None] = mapped_column(index=True)
    lead_unit: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    in_scope: Mapped[bool] = mapped_column(default=True)
    transfer_suggested: Mapped[bool] = mapped_column(default=False)
    routing_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # casework
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    how_found: Mapped[str] = mapped_column(String(20), default="report")  # report | self_inspection | disclosure
    accepted_at: Mapped[datetime | None] = mapped_column()
    not_accepted_reason: Mapped[str] = mapped_column(String(200), default="")
    plan_problem: Mapped[str] = mapped_column(Text, default="")       # 定问题表现
    plan_measures: Mapped[str] = mapped_column(Text, default="")      # 定整改措施
    plan_responsible: Mapped[str] = mapped_column(String(200), default="")  # 定责任人员
    plan_goal: Mapped[str] = mapped_column(Text, default="")          # 定预期目标
    plan_deadline: Mapped[date | None] = mapped_column()              # 定工作时限
    findings: Mapped[str | None] = mapped_column(String(20))
    findings_note: Mapped[str] = mapped_column(Text, default="")
    rectified_on: Mapped[date | None] = mapped_column()
    rectification_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column()
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # deadlines (casework.deadlines keeps these in line with the case_deadlines rows)
    handling_from: Mapped[date | None] = mapped_column()       # the handling clock starts (accepted, reopened)
    paused_since: Mapped[date | None] = mapped_column()        # waiting on the reporter: pausable clocks stop
    police_referral_proposed_on: Mapped[date | None] = mapped_column()  # 移送公安 proposed, decision pending
    next_due_on: Mapped[date | None] = mapped_column(index=True)  # the nearest open deadline (queues sort on it)
    next_due_stage: Mapped[str | None] = mapped_column(String(20))
    next_due_uncertain: Mapped[bool] = mapped_column(default=False, server_default=false())
    deadlines_version: Mapped[int] = mapped_column(default=0, server_default="0", index=True)
    received_at: Mapped[datetime | None] = mapped_column()  # the first report's, copied: queues sort on it
    purge_warned_at: Mapped[datetime | None] = mapped_column()  # retention: the task force was told (72 h before)
    purged_at: Mapped[datetime | None] = mapped_column(index=True)  # identities and evidence removed

    __table_args__ = (  # the queue's tabs count and page through these without touching every case
        # ending in id: a count checks the id against the walls from the index alone (PostgreSQL keeps
        # no row id in an index), and a page's tie-break (newest, then id) is the index order (migration 0020)
        Index("ix_cases_lead_status_received", "lead_unit", "status", "received_at", "id"),
        Index("ix_cases_status_received", "status", "received_at", "id"),
        Index("ix_cases_lead_due", "lead_unit", "next_due_on", "id"),
        Index("ix_cases_lead_received", "lead_unit", "received_at", "id"),
        Index("ix_cases_received", "received_at", "id"),
    )

    report: Mapped[Report] = relationship()
    units: Mapped[list["CaseUnit"]] = relationship(back_populates="case", cascade="all, delete-orphan",
                                                   order_by="CaseUnit.id")

    @property
    def assist_units(self) -> list[str]:
        return [u.unit_code for u in self.units if u.role == "assist"]


class CaseUnit(Base):
    """Which units lead or assist a case: the one index that per-unit access goes through."""
    __tablename__ = "case_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(String(10))  # lead | assist

    case: Mapped[Case] = relationship(back_populates="units")

    __table_args__ = (UniqueConstraint("case_id", "unit_code", name="uq_case_units_case_unit"),
                      Index("ix_case_units_unit_role", "unit_code", "role", "case_id"))


class Classification(Base):
    """One run of the classifier on a report, with its evidence and the versions that produced it."""
    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str | None] = mapped_column(String(8))
    in_scope: Mapped[bool] = mapped_column()
    confidence: Mapped[float] = mapped_column()
    candidates: Mapped[list] = mapped_column(JSON)   # [{"item", "score", "evidence": [...]}, ...]
    routing: Mapped[dict] = mapped_column(JSON)      # {"lead_unit", "assist_units", "triage", ...}
    rules_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)  # set when the classifier raised
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingCorrection(Base):
    """A person corrected the item or the lead unit; the learned model trains on these."""
    __tablename__ = "routing_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    corrected_by: Mapped[str] = mapped_column(String(100))
    corrected_by_user_id: Mapped[int | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    old_item: Mapped[str | None] = mapped_column(String(8))
    new_item: Mapped[str | None] = mapped_column(String(8))
    item_changed: Mapped[bool] = mapped_column(default=False)
    old_lead: Mapped[str] = mapped_column(String(20))
    new_lead: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnedModelRecord(Base):
    """A trained second model (serialised), the newest active one is used beside the rules."""
    __tablename__ = "learned_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    examples: Mapped[int] = mapped_column()
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseReport(Base):
    """Every report a case holds (线索归集): the first one, and those merged into it later."""
    __tablename__ = "case_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)


class CaseLink(Base):
    """Two cases about the same institution or person, linked but worked separately."""
    __tablename__ = "case_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (UniqueConstraint("case_id", "other_id", name="uq_case_links_pair"),)


class Referral(Base):
    """移送: a case handed to discipline inspection or the police, or transferred elsewhere."""
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(20))  # discipline | police | transfer
    referred_on: Mapped[date] = mapped_column()
    document_no: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseNotice(Base):
    """Notices owed to a real-name reporter: the acceptance notice and the result feedback."""
    __tablename__ = "case_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # acceptance | result
    given_on: Mapped[date] = mapped_column()
    method: Mapped[str] = mapped_column(String(40))  # phone | letter | visit | message | email
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry:
    """The columns the plan's two ledgers share (Attachments 3 and 4), after the name columns."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)  # the reporting unit
    item_code: Mapped[str] = mapped_column(ForeignKey("negative_list_items.code"))  # 违反负面清单条目
    manifestation: Mapped[str] = mapped_column(Text, default="")  # 腐败问题具体表现
    how_found: Mapped[str] = mapped_column(String(100), default="")  # 发现途径
    found_on: Mapped[date | None] = mapped_column()               # 发现问题日期
    measures: Mapped[str] = mapped_column(Text, default="")       # 整治措施
    handling_opinion: Mapped[str] = mapped_column(Text, default="")  # 处理意见
    policy_basis: Mapped[str] = mapped_column(Text, default="")   # 处理政策依据
    rectified: Mapped[bool] = mapped_column(default=False)       # 整改是否完成
    rectified_on: Mapped[date | None] = mapped_column()           # 整改完成日期
    responsible_person: Mapped[str] = mapped_column(String(100), default="")  # 整改/整治负责人
    phone: Mapped[str] = mapped_column(String(40), default="")    # 手机号码
    own_disclosure: Mapped[bool] = mapped_column(default=False)   # 主动说明
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerInstitution(LedgerEntry, Base):
    """A row of the plan's Attachment 3 (institutions found with problems)."""
    __tablename__ = "ledger_institutions"

    name: Mapped[str] = mapped_column(String(200))               # 存在问题机构名称
    supervising_dept: Mapped[str] = mapped_column(String(200), default="")  # 主管部门


class LedgerPerson(LedgerEntry, Base):
    """A row of the plan's Attachment 4 (individuals found with problems)."""
    __tablename__ = "ledger_persons"

    name: Mapped[str] = mapped_column(String(100))                # 存在问题人员姓名
    employer: Mapped[str] = mapped_column(String(200), default="")  # 所属单位
    employer_supervisor: Mapped[str] = mapped_column(String(200), default="")  # 所属单位主管部门


class RevealRequest(Base):
    """A request to see a reporter's identity, and the coordinator's decision (all logged)."""
    __tablename__ = "reveal_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | refused
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    # An approval lets its requester view the identity for this long after the decision, then they ask again:
    # an approval is for the step it was asked for, not a standing right while the case is open.
    APPROVAL_VALID = timedelta(hours=72)

    @property
    def approved_until(self) -> datetime | None:
        return self.decided_at + self.APPROVAL_VALID if self.status == "approved" and self.decided_at else None

    def approval_valid(self, now: datetime) -> bool:
        until = self.approved_until
        return until is not None and now <= until
