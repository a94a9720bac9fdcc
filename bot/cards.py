"""Cards with buttons (issue 19): offering one for a request, and deciding it once when tapped.

A card row maps the task id the platform hands back on a tap to the request it decides. The
decision is one conditional UPDATE (state open → decided): of two taps at once, by one leader
twice or by two leaders, exactly one finds the card open; the other changes nothing and is told
what happened. Handlers build what a card shows; this module keeps the row.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.messages import Button, CardView, Tap
from models import Card

APPROVE, REJECT = "approve", "reject"  # the buttons' keys (Tap.key)
BUTTONS = (Button(APPROVE, "同意"), Button(REJECT, "驳回"))
DECISIONS = {APPROVE: "approved", REJECT: "rejected"}
# A card still open after a week is left to the typed command (同意 #3): by then the activity is
# usually over, and an old card far up the chat is more likely tapped by mistake.
OPEN_DAYS = 7


# 这是一篇社情民意吗？: a card whose buttons say the answer for the one who taps (no row: a tap is
# read as the tapper typing the button's words, so the open question answers itself or nothing).
SAY_PREFIX = "say-"
NOTE_KINDS = (
    Button("opinion", "社情民意"),
    Button("suggestion", "意见建议"),
    Button("report", "调研报告"),
    Button("project", "为民办实事"),
    Button("proposal", "提案"),
    Button("no", "不记录"),
)
_SAID = {"opinion": "是", "no": "不是", **{b.key: b.text for b in NOTE_KINDS[1:5]}}
NOTE_KIND_TITLE = "这是一篇社情民意吗？"
NOTE_KIND_HINT = "点类别即记录（只有发这条消息的委员能点）"


def note_kind_view(text: str) -> CardView:
    """The question about a message that reads like a note without its keyword, with a button per
    kind; its task id is new each time (WeCom refuses one used before)."""
    first = " ".join(text.split())
    return CardView(
        task_id=f"{SAY_PREFIX}{secrets.token_hex(8)}",
        title=NOTE_KIND_TITLE,
        desc=first[:40] + ("…" if len(first) > 40 else ""),
        text=NOTE_KIND_HINT,
        buttons=NOTE_KINDS,
    )


def said_by(tap: Tap) -> str | None:
    """The words a tap on a 「这是一篇社情民意吗？」 card says (是 / 意见建议 / … / 不是), else None."""
    return _SAID.get(tap.key) if tap.task_id.startswith(SAY_PREFIX) else None


def can_show(ctx) -> bool:
    """Whether the answer to this message may carry a card with buttons: a group chat on a channel
    whose platform shows them (the descriptor says), where the leaders see it."""
    platform = ctx.platform
    return (
        platform is not None
        and ctx.incoming.is_group
        and platform.buttons(ctx.incoming.platform, ctx.settings)
    )


def offer(session: Session, kind: str, target_id: int, now: dt.datetime, message_id: int | None) -> Card:
    """A new open card for request `target_id` of `kind`; its task id is unique per bot (WeCom
    refuses a task id used before, also by an earlier database), so it carries a random part."""
    card = Card(
        task_id=f"{kind}-{target_id}-{secrets.token_hex(6)}",
        kind=kind,
        target_id=target_id,
        state="open",
        created_at=now,
        expires_at=now + dt.timedelta(days=OPEN_DAYS),
        source_message_id=message_id,
    )
    session.add(card)
    session.flush()
    return card


def find(session: Session, task_id: str) -> Card | None:
    return session.scalars(select(Card).where(Card.task_id == task_id)).first()


def close(session: Session, card: Card, decision: str, decider_id: int, now: dt.datetime) -> bool:
    """Decide `card` if it is still open, in one conditional UPDATE: True if this call decided it.
    False: another tap got there first (PostgreSQL made this one wait for it); `card` is then
    re-read, to say who decided what."""
    won = session.execute(
        update(Card)
        .where(Card.id == card.id, Card.state == "open")
        .values(state="decided", decision=decision, decided_by_id=decider_id, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(card)
    return won == 1
