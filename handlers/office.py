"""The county office's commands: 停用/启用 a member and 导出 the duty record (a note's 采用, 批示 and
the rest of its journey are handlers/journey.py).

Each change is kept in the audit trail (models.records.audit); an export writes a file into
settings.exports.dir, says where the office can fetch it and, where the asker's platform can hand
them a file (the WeCom app, the DingTalk app robot), sends it one-to-one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messages import Command, Notice, Reply
from bot.periods import parse_period_word, period_of
from bot.router import Context, Router, UserError
from handlers.people import one_named
from handlers.status import group_asked
from models import LiaisonGroup, Member
from models.records import ChangedBy, audit

router = Router()

def _set_active(session: Session, member: Member, command: Command, ctx: Context, active: bool) -> Reply:
    name = command.name or ""
    target = one_named(session, name, member, command, ctx)
    if target is None:
        raise UserError(f"花名册里没有「{name}」。")
    if target.id == member.id:
        raise UserError("不能停用或启用自己的账号。")
    verb = "启用" if active else "停用"
    if target.active == active:
        return Reply(f"{target.name}已是{verb}状态。")
    audit(session, target, "active", target.active, active, ChangedBy(member.id, ctx.now, ctx.inbound_id))
    target.active, target.updated_at = active, ctx.now
    note = "，其记录保留，不再计入任务和提醒" if not active else "，恢复计入任务和提醒"
    return Reply(f"已{verb}{target.name}{note}。")


@router.route("deactivate", roles=("admin",))
def deactivate(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    return _set_active(session, member, command, ctx, False)


@router.route("reactivate", roles=("admin",))
def reactivate(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    return _set_active(session, member, command, ctx, True)


@router.route("export", roles=("leader", "admin"))
def export_record(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """导出本季度: the .xlsx goes to the exports directory; the answer says where to fetch it, and
    where the asker's platform sends files and knows the asker (the WeCom app, the DingTalk app
    robot), the file follows one-to-one as a file message."""
    today = ctx.now.date()
    word = command.period_word
    period = parse_period_word(word, today) if word else period_of("year", today)
    if period is None:
        raise UserError(f"没看懂「{word}」是哪个时期，可以说：导出本季度、导出今年、导出2026年第三季度。")
    if command.target == "county" and member.role != "admin":
        raise UserError("只有县政协办公室的管理员可以导出全县的履职档案。")
    group_id = None if command.target == "county" else group_asked(session, member, command, ctx)
    group_name = (
        session.scalar(select(LiaisonGroup.name).where(LiaisonGroup.id == group_id)) if group_id else None
    )
    from bot import export  # openpyxl (~16 MiB) loads in the process that exports, not in every worker

    path = export.write_file(session, ctx.settings, period, group_name, ctx.now)
    whose = group_name or "全县"
    platform = ctx.platform
    if platform and platform.sends_files(ctx.settings) and platform.member_address(member) is not None:
        # The file itself, one-to-one (it holds every member's record, so never into the group).
        sent = Notice(
            key=f"export:{ctx.inbound_id}",
            to_member_id=member.id,
            text=f"{whose}{period.label}履职档案：{path.name}",
            attachment=str(path),
        )
        return Reply(
            f"已导出{whose}{period.label}履职档案，文件稍后私信发给您（服务器上：{path}）。", notices=(sent,)
        )
    if member.role == "admin":  # the office itself: the file is on its own machine
        return Reply(f"已导出{whose}{period.label}履职档案，文件保存在运行机器人的电脑上：{path}")
    return Reply(f"已导出{whose}{period.label}履职档案：{path}（请向县政协办公室索取该文件）。")
