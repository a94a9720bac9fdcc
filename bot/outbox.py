"""The outbox: every outgoing message is a row before it is sent, unique by its key.

`enqueue` is called inside the caller's transaction (a handler's notice, a deferred
reply, a reminder), so a message exists exactly when the record it announces does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messages import Person
from models import OutboxMessage


def enqueue(
    session: Session,
    *,
    key: str,
    target_kind: str,  # "group" | "member" | "reply"
    text: str,
    now: dt.datetime,
    group_id: int | None = None,
    member_id: int | None = None,
    platform: str | None = None,
    address: dict[str, Any] | None = None,
    mentions: tuple[Person, ...] = (),
    markdown: bool = False,
) -> bool:
    """Store one message to send; False when a message with this key already exists."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return False
    session.add(
        OutboxMessage(
            key=key,
            target_kind=target_kind,
            group_id=group_id,
            member_id=member_id,
            platform=platform,
            address=address,
            text=text,
            mentions=[asdict(p) for p in mentions],
            markdown=markdown,
            created_at=now,
            next_attempt_at=now,
        )
    )
    session.flush()
    return True
