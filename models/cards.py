"""Cards with buttons (issue 19): a message the bot sent with [同意] [驳回], and what a tap decides.

A card's `task_id` is what the platform hands back when someone taps a button (WeCom's
template_card_event.task_id); it names one request (`kind` + `target_id`). `state` moves once, from
open to decided, by a conditional UPDATE, so a second tap or a second leader changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.roster import Member

CARD_KINDS = ("leave", "late")  # 请假 (LeaveRequest), 补报 (LateEntry)
CARD_STATES = ("open", "decided")
TASK_ID_LENGTH = 128  # WeCom: ≤128 bytes of [A-Za-z0-9_-@] (doc 101032, task_id)


class Card(Base):
    """One card with buttons, sent once; `decision` is what its tap decided (approved, rejected)."""

    __tablename__ = "card"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(TASK_ID_LENGTH), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # CARD_KINDS
    target_id: Mapped[int] = mapped_column(Integer)  # the LeaveRequest / LateEntry id
    state: Mapped[str] = mapped_column(String(12), default="open")  # CARD_STATES
    decision: Mapped[str | None] = mapped_column(String(12))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id"))

    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id])
