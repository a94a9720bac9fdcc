"""按钮: a tap on a card's [同意] / [驳回] (补报: [确认] / [驳回]) decides the request the card was
sent for (issue 19).

The tap goes the typed command's way (handlers/leave.py and handlers/late.py `decide`: the same
record, the same audit trail and notice to the member, the tap's inbound message as the
decision's), after one conditional UPDATE of the card (bot/cards.py) has made this tap the only one
that decides. Whatever else a tap meets — a member's tap, a card already decided or expired, a
request decided by typing or withdrawn meanwhile — is answered and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from bot import cards
from bot.conversation import Question
from bot.messages import TAP_INTENT, Button, CardView, Command, Notice, Reply
from bot.router import Context, Router, UserError
from handlers import late, leave
from models import Card, LateEntry, LeaveRequest, Member

router = Router()

LEADERS_ONLY = "仅组长可审批"
ASK_REASON = "组长可@我回复驳回理由（可不填）"
REASON_INTENT = "card_reason"  # the answer to ASK_REASON (a resumed question, never the parser's)
GONE = "这张卡片已失效，请用文字回复，例如「同意 #3」。"


@dataclass(frozen=True)
class _Kind:
    """What a card of one kind decides, and how its capability shows and decides it."""

    model: type
    noun: str  # 请假, 补报
    verbs: tuple[str, str]  # the typed commands: 同意 / 驳回, 确认补报 / 驳回补报
    buttons: tuple[Button, ...]
    decisions: dict[str, str]  # button key -> the request's status
    view: Callable[[Any, str, str, tuple[Button, ...]], CardView]
    state: Callable[[Session, Any, dt.tzinfo | None], str]
    decide: Callable[[Session, Any, Member, Context, str], Reply]


_KINDS = {
    "leave": _Kind(
        LeaveRequest,
        "请假",
        ("同意", "驳回"),
        cards.BUTTONS,
        cards.DECISIONS,
        leave.leave_card,
        lambda _s, row, tz: leave.state_line(row, tz),
        leave.decide,
    ),
    "late": _Kind(
        LateEntry,
        "补报",
        ("确认补报", "驳回补报"),
        late.BUTTONS,
        late.DECISIONS,
        late.late_card,
        late.state_line,
        late.decide,
    ),
}


@router.route(TAP_INTENT)
def tap(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    card, kind, row = _found(session, command.target or "")
    if row is None:
        return _alone(CardView(command.target or "", "审批", text=GONE))

    def view(text: str, buttons: tuple[Button, ...] = ()) -> CardView:
        return kind.view(row, card.task_id, text, buttons)

    if card.state == "decided" or row.status != "pending":
        # Decided by a tap or by typing, or withdrawn: said to everyone, the buttons gone.
        return _everyone(view(kind.state(session, row, ctx.now.tzinfo)))
    if card.expires_at <= ctx.now:
        typed = "」或「".join(f"{verb} #{row.id}" for verb in kind.verbs)
        return _everyone(view(f"已过期，请回复「{typed}」"))
    refusal = _refusal(session, kind, row, member)
    decision = kind.decisions.get(command.content or "")
    if refusal is not None or decision is None:
        return _alone(view(refusal or GONE, kind.buttons))
    if not cards.close(session, card, decision, member.id, ctx.now):
        session.refresh(row)  # the other tap's decision, committed while this one waited
        return _everyone(view(kind.state(session, row, ctx.now.tzinfo)))
    decided = kind.decide(session, row, member, ctx, decision)
    shown = view(kind.state(session, row, ctx.now.tzinfo))
    if decision != "rejected":
        return Reply(f"{shown.title}：{shown.text}", notices=decided.notices, card=shown)
    # 驳回 asks for the reason in a short conversation; without one the rejection stands as it is.
    shown = replace(shown, fields=(*shown.fields, ("驳回理由", ASK_REASON)))
    return Reply(
        f"{shown.title}：{shown.text}。{ASK_REASON}",
        notices=decided.notices,
        card=shown,
        question=Question("reason", Command(REASON_INTENT, target=card.task_id)),
    )


@router.route(REASON_INTENT, roles=("leader", "admin"))
def reason(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """The reason the decider gives after rejecting by a tap: kept with the request, told to the member."""
    card, kind, row = _found(session, command.target or "")
    said = (command.reason or "").strip()[:500]
    if row is None or row.status != "rejected" or row.decided_by_id != member.id or not said:
        raise UserError("没有记下理由：这条申请已不是您驳回的状态。")
    row.decision_reason = said
    what = f"{kind.noun}#{row.id}（{kind.view(row, card.task_id, '', ()).desc}）"
    notice = Notice(
        key=f"{card.kind}:{row.id}:reason",
        to_member_id=row.member_id,
        text=f"您的{what}驳回理由（{member.name}）：{said}",
    )
    return Reply(f"已记下{what}的驳回理由：{said}", notices=(notice,))


def _found(session: Session, task_id: str) -> tuple[Card | None, _Kind | None, Any]:
    """The card of `task_id`, its kind and the request it decides (None where one is missing)."""
    card = cards.find(session, task_id)
    kind = _KINDS.get(card.kind) if card is not None else None
    row = session.get(kind.model, card.target_id) if kind is not None else None
    return card, kind, row


def _refusal(session: Session, kind: _Kind, row: Any, member: Member) -> str | None:
    """Why `member` may not decide `row` (None: they may): the group's leader or an admin only, as
    for the typed command (its route's roles, then numbered_request), never one's own request."""
    if member.role not in ("leader", "admin"):
        return LEADERS_ONLY
    if row.member_id == member.id and member.role != "admin":
        return f"不能审批自己的{kind.noun}"
    try:
        leave.numbered_request(session, kind.model, row.id, member, noun=kind.noun, verb="审批")
    except UserError as err:
        return str(err)
    return None


def _everyone(view: CardView) -> Reply:
    return Reply(f"{view.title}：{view.text}", card=view)


def _alone(view: CardView) -> Reply:
    return Reply(view.text, card=replace(view, tapper_only=True))
