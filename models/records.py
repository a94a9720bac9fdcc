"""The duty record (履职档案): activities, check-ins, leave requests and submissions.

Every row keeps who, when (timezone-aware) and the inbound message it came from; every change made
afterwards leaves a `RecordChange` (written by `audit`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base
from models.roster import LiaisonGroup, Member

LEAVE_STATUSES = ("pending", "approved", "rejected", "withdrawn")
LATE_ENTRY_STATUSES = ("pending", "confirmed", "rejected")
# A note's journey (社情民意的流转): submitted → (returned for revision → submitted again) → in the
# office's bulletin (编报) → reported upward (报送) → adopted (采用); 批示 and 反馈 are events on the way,
# not states. The status is the furthest stage reached; each step is a SubmissionEvent.
SUBMISSION_STATUSES = ("submitted", "returned", "in_bulletin", "reported", "adopted", "withdrawn")
SUBMISSION_EVENTS = ("returned", "resubmitted", "bulletin", "reported", "adopted", "instructed", "feedback")


class Activity(Base):
    """An activity a leader announced: 集体活动, 视察, 调研, 学习, 会议/座谈."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("liaison_group.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    time: Mapped[dt.time | None] = mapped_column(Time)
    place: Mapped[str | None] = mapped_column(String(200))
    announced_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised by each change of date, time or place (改期): reminders of the new schedule go out anew.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime]
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    group: Mapped[LiaisonGroup] = relationship()
    announced_by: Mapped[Member | None] = relationship()


class CheckIn(Base):
    """A member's 签到 at an activity; at most one per member and activity."""

    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    checked_in_at: Mapped[dt.datetime]
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False)  # 补报, confirmed by a leader
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    activity: Mapped[Activity] = relationship()
    member: Mapped[Member] = relationship()


class LeaveRequest(Base):
    """A member's 请假 for one activity: pending until a leader approves or rejects it."""

    __tablename__ = "leave_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # LEAVE_STATUSES
    requested_at: Mapped[dt.datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(500))  # the leader's, on 驳回
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    decision_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    activity: Mapped[Activity] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id])


class Submission(Base):
    """A note or other work: 社情民意, 意见建议, 调研报告, 为民办实事, 提案."""

    __tablename__ = "submission"
    # Each note counts the group's notes of its kind in the period and looks for the member's same
    # note sent minutes ago, both read with the sender (handlers/submissions.py): by kind and time
    # within the group or the member, not among every note of the county's month.
    __table_args__ = (
        Index("ix_submission_group_kind_at", "group_id", "kind", "submitted_at"),
        Index("ix_submission_member_kind_at", "member_id", "kind", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("liaison_group.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(12), default="submitted")  # SUBMISSION_STATUSES
    adopted_level: Mapped[str | None] = mapped_column(String(32))  # 县级 / 市级 / 省级 / 全国
    adopted_at: Mapped[dt.datetime | None]
    instruction: Mapped[str | None] = mapped_column(String(200))  # 批示: by whom / what
    instructed_at: Mapped[dt.datetime | None]
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    member: Mapped[Member] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", order_by="Attachment.id"
    )
    events: Mapped[list[SubmissionEvent]] = relationship(
        back_populates="submission", order_by="SubmissionEvent.id"
    )


class SubmissionEvent(Base):
    """One dated step of a note's journey, by whom, from which message: 退回 (detail = the reason),
    更正 after a 退回 (resubmitted), 编报 (detail = 第5期), 报送 (level, detail = 市政协), 采用 (level,
    detail = the outlet, 《各界反映》), 批示 (detail = 县委书记：…), 反馈 (detail = 交通局：已完成整改)."""

    __tablename__ = "submission_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # SUBMISSION_EVENTS
    level: Mapped[str | None] = mapped_column(String(32))  # 县级 / 市级 / 省级 / 全国
    detail: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(index=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    submission: Mapped[Submission] = relationship(back_populates="events")


class Attachment(Base):
    """A file or picture of a submission (a 调研报告 as PDF, a photo of what a note reports): its
    bytes on disk under `files.dir`, content-addressed, so two rows may share one file."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # as the member's phone named it
    mime_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_path: Mapped[str] = mapped_column(String(300))  # relative to files.dir
    pages: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime]
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class LateEntry(Base):
    """A 补报: attendance at a past activity, reported afterwards; it counts once a leader confirms it.

    A leader's own 补报 for a member is confirmed at once; the check-in it creates is marked late_entry.
    """

    __tablename__ = "late_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # LATE_ENTRY_STATUSES
    requested_at: Mapped[dt.datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))
    decision_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    activity: Mapped[Activity] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    requested_by: Mapped[Member] = relationship(foreign_keys=[requested_by_id])


class RecordChange(Base):
    """The audit trail: every correction keeps the old value, who changed it and when."""

    __tablename__ = "record_change"
    __table_args__ = (Index("ix_record_change_table_row", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    changed_at: Mapped[dt.datetime]
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))


@dataclass(frozen=True)
class ChangedBy:
    """Who changed the record, when, and the inbound message that asked: what every audit row keeps."""

    member_id: int
    at: dt.datetime
    message_id: int | None


def audit(session: Session, row: Base, field: str, old: object, new: object, by: ChangedBy) -> None:
    """One audit row for one changed field of `row` (a model with an `id`; its table name is the model's)."""
    session.add(
        RecordChange(
            table_name=row.__tablename__,
            row_id=row.id,
            field=field,
            old_value=None if old is None else str(old),
            new_value=None if new is None else str(new),
            changed_by_id=by.member_id,
            changed_at=by.at,
            source_message_id=by.message_id,
        )
    )
