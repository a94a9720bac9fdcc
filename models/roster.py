"""The roster: liaison groups, their chats on each platform, and members."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base

ROLES = ("member", "leader", "admin")
ROLE_NAMES = {"member": "委员", "leader": "组长", "admin": "管理员"}


class LiaisonGroup(Base):
    """A 联络组: 5-15 members with a leader, and a chat on WeCom and/or DingTalk."""

    __tablename__ = "liaison_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]

    members: Mapped[list[Member]] = relationship(back_populates="group")
    chats: Mapped[list[ChatBinding]] = relationship(back_populates="group")


class ChatBinding(Base):
    """A group chat on one platform that belongs to a liaison group."""

    __tablename__ = "chat_binding"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("liaison_group.id"))
    platform: Mapped[str] = mapped_column(String(16))  # "wecom" | "dingtalk"
    chat_id: Mapped[str] = mapped_column(String(128))

    group: Mapped[LiaisonGroup] = relationship(back_populates="chats")


class Member(Base):
    """A 政协委员 (or the group's leader, or an office admin) with their platform ids."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), index=True)
    mobile: Mapped[str] = mapped_column(String(20), unique=True)
    # Indexed: a group's members are read by the roll call, the reminders and the group's questions.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("liaison_group.id"), index=True)
    role: Mapped[str] = mapped_column(String(8), default="member")  # ROLES
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The id the WeCom smart bot knows this member by, when it is not the userid above: a smart bot
    # may see an encrypted open_userid (doc 101521), kept here by 绑定 so that wecom_userid stays real.
    wecom_bot_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    dingtalk_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    group: Mapped[LiaisonGroup | None] = relationship(back_populates="members")
