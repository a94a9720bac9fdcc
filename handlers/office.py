"""The county office's commands: 采用 and 批示 on a note, 停用/启用 a member, and 导出 the duty record.

Each change is kept in the audit trail (models.records.audit); an export writes a file into
settings.exports.dir, says where the office can fetch it and, where the asker's platform can hand
them a file (the WeCom app, the DingTalk app robot), sends it one-to-one.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.messages import Command, Notice, Reply
from bot.periods import parse_period_word, period_of
from bot.quotas import ADOPTION_ORDER
from bot.router import Context, Router, UserError
from handlers.people import one_named
from handlers.phrasing import kind_word
from handlers.status import group_asked
from models import LiaisonGroup, Member, Submission
from models.records import ChangedBy, audit

router = Router()

ADOPTION_LEVELS = ADOPTION_ORDER[::-1]  # 县级/市级/省级/全国, as the office names them
_LEVEL_WORDS = {
    "县": "县级",
    "县级": "县级",
    "区级": "县级",
    "市": "市级",
    "市级": "市级",
    "省": "省级",
    "省级": "省级",
    "全国": "全国",
    "国家": "全国",
    "国家级": "全国",
    "全国政协": "全国",
}


def _submission(session: Session, command: Command) -> Submission:
    number = command.number
    if number is None:
        raise UserError("请写明材料编号，例如：采用 #12 市级")
    # Once per note: its row is locked, so of sixteen 采用 #12 at once (by one admin or several) the
    # first changes it and the others find it already adopted (see adopt).
    row = session.get(Submission, number, with_for_update=True)
    if row is None:
        raise UserError(f"没有找到材料#{number}，请核对编号。")
    if row.status == "withdrawn":
        raise UserError(f"材料#{number}已被撤回，不能标记。")
    return row


def _label(row: Submission) -> str:
    return f"{row.member.name}的{kind_word(row.kind)}#{row.id}《{row.title[:30]}》"


@router.route("adopt", roles=("admin",))
def adopt(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """采用 #12 市级: the note counts as adopted at that level (a later, higher level replaces it)."""
    row = _submission(session, command)
    word = re.sub(r"(?:采用|政协|层面|的)", "", command.content or "").strip()
    level = _LEVEL_WORDS.get(word)
    if level is None:
        raise UserError(f"请写明采用级别（{'/'.join(ADOPTION_LEVELS)}），例如：采用 #{row.id} 市级")
    if row.status == "adopted" and row.adopted_level == level:
        return Reply(f"{_label(row)}已标记为{level}采用。")
    by = ChangedBy(member.id, ctx.now, ctx.inbound_id)
    audit(session, row, "status", row.status, "adopted", by)
    audit(session, row, "adopted_level", row.adopted_level, level, by)
    row.status, row.adopted_level, row.adopted_at = "adopted", level, ctx.now
    notice = Notice(
        key=f"adopt:{row.id}:{level}",
        to_member_id=row.member_id,
        text=f"您的{kind_word(row.kind)}《{row.title[:30]}》已被{level}采用。",
    )
    return Reply(f"已标记{_label(row)}为{level}采用。", notices=(notice,))


@router.route("instruct", roles=("admin",))
def instruct(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """批示 #12 县领导：…: who commented on the note, and what."""
    row = _submission(session, command)
    text = (command.content or "").strip()[:200]
    if not text:
        raise UserError(f"请写明批示的领导或内容，例如：批示 #{row.id} 县委书记")
    if row.instruction == text:
        return Reply(f"{_label(row)}已记录这条批示。")
    audit(session, row, "instruction", row.instruction, text, ChangedBy(member.id, ctx.now, ctx.inbound_id))
    row.instruction, row.instructed_at = text, ctx.now
    notice = Notice(
        key=f"instruct:{row.id}:{ctx.inbound_id}",
        to_member_id=row.member_id,
        text=f"您的{kind_word(row.kind)}《{row.title[:30]}》获{instruction_words(text)}。",
    )
    return Reply(f"已记录{_label(row)}获{instruction_words(text)}。", notices=(notice,))


_LEADER_MAX = 12  # 县委书记, 市政协主席, 县委常委、副县长: a title, not the comment itself
_INSTRUCTION_RE = re.compile(rf"(?P<leader>[^：:]{{1,{_LEADER_MAX}}})[：:]\s*(?P<comment>.*)", re.S)


def instruction_words(text: str) -> str:
    """县委书记批示：请交通局牵头研究解决 for "县委书记：请交通局牵头研究解决": the leader before 批示,
    the comment after it; with no colon a short text is the leader alone (县长批示), a long one the
    comment (批示：…)."""
    m = _INSTRUCTION_RE.match(text)
    if m is None:
        return f"{text}批示" if len(text) <= _LEADER_MAX else f"批示：{text}"
    leader, comment = m["leader"].strip().removesuffix("批示"), m["comment"].strip()
    return f"{leader}批示：{comment}" if comment else f"{leader}批示"


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
    group_id = group_asked(session, member, command, ctx)
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
