"""按钮: a tap on a card's [同意] / [驳回] decides the request the card was sent for (issue 19).

The tap goes the typed command's way (handlers/leave.py `decide`: the same record, the same
notice to the member, the tap's inbound message as the decision's), after one conditional UPDATE of
the card (bot/cards.py) has made this tap the only one that decides. Whatever else the tap meets —
a member's tap, a card already decided, expired, or a request withdrawn meanwhile — is answered and
changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from bot import cards
from bot.messages import TAP_INTENT, CardView, Command, Reply
from bot.router import Context, Router, UserError
from handlers.leave import decide, leave_card, numbered_request, state_line
from models import LeaveRequest, Member

router = Router()

LEADERS_ONLY = "仅组长可审批"
GONE = "这张卡片已失效，请用文字回复，例如「同意 #3」。"


@router.route(TAP_INTENT)
def tap(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    card = cards.find(session, command.target or "")
    leave = session.get(LeaveRequest, card.target_id) if card is not None and card.kind == "leave" else None
    if card is None or leave is None:
        return _alone(CardView(command.target or "", "请假审批", text=GONE))
    if card.state == "decided" or leave.status != "pending":
        # Decided by a tap or by 同意 #3, or withdrawn: said to everyone, the buttons gone.
        return _everyone(leave_card(leave, card.task_id, state_line(leave, ctx.now.tzinfo)))
    if card.expires_at <= ctx.now:
        return _everyone(
            leave_card(leave, card.task_id, f"已过期，请回复「同意 #{leave.id}」或「驳回 #{leave.id}」")
        )
    refusal = _refusal(session, leave, member)
    decision = cards.DECISIONS.get(command.content or "")
    if refusal is not None or decision is None:
        return _alone(leave_card(leave, card.task_id, refusal or GONE, cards.BUTTONS))
    if not cards.close(session, card, decision, member.id, ctx.now):
        session.refresh(leave)  # the other tap's decision, committed while this one waited
        return _everyone(leave_card(leave, card.task_id, state_line(leave, ctx.now.tzinfo)))
    decided = decide(session, leave, member, ctx, decision)
    view = leave_card(leave, card.task_id, state_line(leave, ctx.now.tzinfo))
    return Reply(f"{view.title}：{view.text}", notices=decided.notices, card=view)


def _refusal(session: Session, leave: LeaveRequest, member: Member) -> str | None:
    """Why `member` may not decide `leave` (None: they may): the group's leader or an admin only,
    as for the typed 同意 #3 (ROLE_REFUSAL, numbered_request), and never one's own request."""
    if member.role not in ("leader", "admin"):
        return LEADERS_ONLY
    if leave.member_id == member.id:
        return "不能审批自己的请假"
    try:
        numbered_request(session, LeaveRequest, leave.id, member, noun="请假", verb="审批")
    except UserError as err:
        return str(err)
    return None


def _everyone(view: CardView) -> Reply:
    return Reply(f"{view.title}：{view.text}", card=view)


def _alone(view: CardView) -> Reply:
    return Reply(view.text, card=replace(view, tapper_only=True))


__all__ = ["router"]
