"""A note's journey (社情民意的流转), step by step, by the county office: 退回 for revision, 编报 into the
office's bulletin, 报送 upward, 采用 by an outlet (several times, each with its level), 批示 by a
leader (several), and the department's 反馈.

Each step is a dated, attributed `SubmissionEvent` and an audit row; the note's status is the
furthest stage it reached (models.records.SUBMISSION_STATUSES); its author is told one-to-one at
every step. A step already recorded is answered as such and recorded no second time: the note's
row is locked for the message, so of sixteen 采用 #12 at once the first changes it.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dashboard import may_read_note
from bot.messages import SUBMISSION_EVENT_WORDS, SUBMISSION_STATUS_WORDS, Command, Notice, Reply
from bot.quotas import ADOPTION_ORDER
from bot.router import Ask, Context, Router, UserError
from handlers import leave
from handlers.people import one_named
from handlers.phrasing import kind_word, month_day, numbered_choice
from models import Member, Submission, SubmissionEvent
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
# How far a note has come: a later step never moves it back (a 采用 after 编报 stays 采用).
_STAGE = {"submitted": 0, "returned": 0, "in_bulletin": 1, "reported": 2, "adopted": 3}


def level_named(words: str | None) -> str | None:
    """市政协 -> 市级, 省政协《各界反映》 -> 省级: the level the words start with, if any."""
    words = re.sub(r"^(?:被|由|获)", "", (words or "").strip())
    for key in sorted(_LEVEL_WORDS, key=len, reverse=True):
        if words.startswith(key):
            return _LEVEL_WORDS[key]
    return None


def _note(
    session: Session, command: Command, example: str, ctx: Context | None = None, by: Member | None = None
) -> Submission:
    """The note a command names: by number, or (with ctx and the office member) by author and topic."""
    number = command.number
    if number is None and command.name and ctx is not None and by is not None:
        number = _by_author(session, command, ctx, by, example)
    if number is None:
        raise UserError(f"请写明材料编号，例如：{example}")
    row = session.get(Submission, number, with_for_update=True)
    if row is None:
        raise UserError(f"没有找到材料#{number}，请核对编号。")
    if row.status == "withdrawn":
        raise UserError(f"材料#{number}已被撤回，不能标记。")
    return row


_TOPIC_SIMILAR = 80  # rapidfuzz partial ratio at which 农村留守老人 names 关于留守老人照护的建议


def _about(topic: str, title: str) -> bool:
    """Does a note titled `title` speak of `topic`: the words themselves, nearly (农村留守老人 /
    留守老人照护), or each two-character word of it (停车收费 / 停车场收费太贵)?"""
    words = [topic[i : i + 2] for i in range(0, len(topic) - 1, 2)]
    return (
        topic in title
        or fuzz.partial_ratio(topic, title) >= _TOPIC_SIMILAR
        or (len(words) >= 2 and all(w in title for w in words))
    )


def _by_author(session: Session, command: Command, ctx: Context, by: Member, example: str) -> int:
    """赵六那篇留守老人的社情民意: the number of the author's one note (of that kind) about the topic;
    several: asked which, by number (the answer resumes the command with that number)."""
    author = one_named(session, command.name or "", by, command, ctx)
    if author is None:
        raise UserError(f"没有找到委员「{command.name}」，请核对姓名，或写明编号，例如：{example}")
    stmt = select(Submission).where(Submission.member_id == author.id, Submission.status != "withdrawn")
    if command.kind:
        stmt = stmt.where(Submission.kind == command.kind)
    rows = session.scalars(stmt.order_by(Submission.id.desc()).limit(_LOOKED_AT)).all()
    topic = command.reason or ""
    if topic:
        rows = [r for r in rows if _about(topic, r.title)]
    what = kind_word(command.kind) if command.kind else "材料"
    if not rows:
        about = f"关于「{topic}」的" if topic else ""
        raise UserError(f"没有找到{author.name}{about}{what}，请写明编号，例如：{example}")
    if len(rows) > 1:
        options = [(f"#{r.id}《{r.title[:30]}》（{month_day(r.submitted_at.astimezone(ctx.settings.tz).date())}）", str(r.id)) for r in rows]
        raise Ask(numbered_choice(f"{author.name}有{len(rows)}篇{what}，请问是哪一篇", options, command, "target"))
    return rows[0].id


_LOOKED_AT = 200  # an author's latest notes looked through for the topic


def _label(row: Submission) -> str:
    return f"{row.member.name}的{kind_word(row.kind)}#{row.id}《{row.title[:30]}》"


def _yours(row: Submission) -> str:
    return f"您的{kind_word(row.kind)}#{row.id}《{row.title[:30]}》"


def _recorded(row: Submission, kind: str, level: str | None, detail: str | None) -> bool:
    return any(e.kind == kind and e.level == level and e.detail == detail for e in row.events)


def _step(
    session: Session,
    row: Submission,
    member: Member,
    ctx: Context,
    event: tuple[str, str | None, str | None],
    status: str | None,
) -> None:
    """Record one step: its event, and the furthest stage if this one goes further."""
    kind, level, detail = event
    by = ChangedBy(member.id, ctx.now, ctx.inbound_id)
    row.events.append(
        SubmissionEvent(
            kind=kind,
            level=level,
            detail=detail,
            at=ctx.now,
            by_id=member.id,
            source_message_id=ctx.inbound_id,
        )
    )
    if status is not None and (status == "returned" or _STAGE[status] > _STAGE.get(row.status, 0)):
        audit(session, row, "status", row.status, status, by)
        row.status = status


def _tell(row: Submission, key: str, text: str) -> tuple[Notice, ...]:
    return (Notice(key=f"journey:{row.id}:{key}", to_member_id=row.member_id, text=text),)


@router.route("return_note", roles=("leader", "admin"))
def return_note(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """退回 #12 理由: the note goes back to its author for revision, with the reason. A leader's 退回 #3
    is a leave request turned down (the word is one of 驳回's), as it always was."""
    if member.role != "admin" or (command.number and session.get(Submission, command.number) is None):
        return leave.reject(session, member, command, ctx)
    row = _note(session, command, "退回 #12 请补充具体建议")
    if row.status == "adopted":
        raise UserError(f"{_label(row)}已被采用，不能退回。")
    reason = (command.reason or "").strip()[:500] or None
    if row.status == "returned":
        return Reply(f"{_label(row)}已退回修改，等待委员更正。")
    _step(session, row, member, ctx, ("returned", None, reason), "returned")
    why = f"：{reason}" if reason else ""
    text = f"{_yours(row)}被退回修改{why}。修改后请发「更正 #{row.id} 标题。正文……」重新提交。"
    return Reply(
        f"已退回{_label(row)}{why}，已告知本人。", notices=_tell(row, f"returned:{ctx.inbound_id}", text)
    )


@router.route("bulletin", roles=("admin",))
def bulletin(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """编报 #12 第5期: the note is edited into the office's bulletin, that issue."""
    row = _note(session, command, "编报 #12 第5期")
    issue = (command.content or "").strip()[:100] or None
    if _recorded(row, "bulletin", None, issue):
        return Reply(f"{_label(row)}已记录编报{issue or ''}。")
    _step(session, row, member, ctx, ("bulletin", None, issue), "in_bulletin")
    where = f"（{issue}）" if issue else ""
    text = f"{_yours(row)}已被县政协编报{where}。"
    return Reply(f"已记录{_label(row)}编报{where}。", notices=_tell(row, f"bulletin:{issue}", text))


@router.route("report_up", roles=("admin",))
def report_up(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """报送 #12 市政协: the note is sent on upward (its level read from the words)."""
    row = _note(session, command, "报送 #12 市政协")
    to = (command.content or "").strip()[:100] or None
    level = level_named(to)
    if _recorded(row, "reported", level, to):
        return Reply(f"{_label(row)}已记录报送{to or ''}。")
    _step(session, row, member, ctx, ("reported", level, to), "reported")
    where = to or "上级"
    text = f"{_yours(row)}已报送{where}。"
    return Reply(f"已记录{_label(row)}报送{where}。", notices=_tell(row, f"reported:{to}", text))


@router.route("adopt", roles=("admin",))
def adopt(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """采用 #12 市级 / 采用 #12 省政协《各界反映》: one adoption, with its level and outlet; a note may
    be adopted several times, and counts at its highest level."""
    row = _note(session, command, "采用 #12 市级", ctx, member)
    written = (command.title or "").strip()[:200]
    level = level_named(written) or _LEVEL_WORDS.get(
        re.sub(r"(?:采用|政协|层面|的)", "", command.content or "").strip()
    )
    if level is None:
        raise UserError(f"请写明采用级别（{'/'.join(ADOPTION_LEVELS)}），例如：采用 #{row.id} 市级")
    outlet = re.sub(r"^(?:县级|市级|省级|全国|国家级)(?:采用)?$", "", written).strip() or None
    if _recorded(row, "adopted", level, outlet) or (
        outlet is None and any(e.kind == "adopted" and e.level == level for e in row.events)
    ):
        return Reply(f"{_label(row)}已标记为{level}采用。")
    by = ChangedBy(member.id, ctx.now, ctx.inbound_id)
    _step(session, row, member, ctx, ("adopted", level, outlet), "adopted")
    if row.adopted_level is None or ADOPTION_ORDER.index(level) < ADOPTION_ORDER.index(row.adopted_level):
        audit(session, row, "adopted_level", row.adopted_level, level, by)
        row.adopted_level, row.adopted_at = level, ctx.now
    by_whom = f"{level}采用" + (f"（{outlet}）" if outlet else "")
    text = f"您的{kind_word(row.kind)}《{row.title[:30]}》已被{by_whom}。"
    return Reply(f"已标记{_label(row)}为{by_whom}。", notices=_tell(row, f"adopted:{level}:{outlet}", text))


@router.route("instruct", roles=("admin",))
def instruct(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """批示 #12 县委书记：…: who commented on the note, and what (a note may have several)."""
    row = _note(session, command, "批示 #12 县委书记：请交通局研究")
    text = (command.content or "").strip()[:200]
    if not text:
        raise UserError(f"请写明批示的领导或内容，例如：批示 #{row.id} 县委书记")
    if _recorded(row, "instructed", None, text):
        return Reply(f"{_label(row)}已记录这条批示。")
    audit(session, row, "instruction", row.instruction, text, ChangedBy(member.id, ctx.now, ctx.inbound_id))
    _step(session, row, member, ctx, ("instructed", None, text), None)
    row.instruction, row.instructed_at = text, ctx.now
    told = f"您的{kind_word(row.kind)}《{row.title[:30]}》获{instruction_words(text)}。"
    return Reply(
        f"已记录{_label(row)}获{instruction_words(text)}。",
        notices=_tell(row, f"instructed:{ctx.inbound_id}", told),
    )


@router.route("feedback", roles=("admin",))
def feedback(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """反馈 #12 交通局：已完成整改: what the department did about the note."""
    row = _note(session, command, "反馈 #12 交通局：已完成整改")
    text = (command.content or "").strip()[:500]
    if not text:
        raise UserError(f"请写明反馈的部门和办理情况，例如：反馈 #{row.id} 交通局：已完成整改")
    if _recorded(row, "feedback", None, text):
        return Reply(f"{_label(row)}已记录这条反馈。")
    _step(session, row, member, ctx, ("feedback", None, text), None)
    told = f"{_yours(row)}有了办理反馈：{text}"
    return Reply(f"已记录{_label(row)}的办理反馈。", notices=_tell(row, f"feedback:{ctx.inbound_id}", told))


def resubmit(session: Session, row: Submission, member: Member, ctx: Context) -> None:
    """A returned note corrected by its author (更正 #12 …) is submitted again."""
    _step(session, row, member, ctx, ("resubmitted", None, None), None)
    audit(session, row, "status", row.status, "submitted", ChangedBy(member.id, ctx.now, ctx.inbound_id))
    row.status = "submitted"


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


@router.route("note_journey")
def note_journey(session: Session, member: Member, command: Command, ctx: Context) -> Reply:
    """#12 到哪一步了: the note's state and each step, dated, by whom — for its author, the leader of
    the group it was filed in, and the office."""
    number = command.number
    row = session.get(Submission, number) if number is not None else None
    if row is None:
        raise UserError(f"没有找到材料#{number}，请核对编号。")
    if not may_read_note(member, row):
        raise UserError("只能查看本人（组长：本组）的材料。")
    tz = ctx.now.tzinfo
    level = f"（{row.adopted_level}）" if row.adopted_level else ""
    lines = [f"{_label(row)}：{SUBMISSION_STATUS_WORDS.get(row.status, row.status)}{level}"]
    lines.append(f"{month_day(row.submitted_at.astimezone(tz).date())} 提交")
    steps = session.execute(
        select(SubmissionEvent, Member.name)
        .outerjoin(Member, Member.id == SubmissionEvent.by_id)
        .where(SubmissionEvent.submission_id == row.id)
        .order_by(SubmissionEvent.at, SubmissionEvent.id)
    ).all()
    for event, by in steps:
        what = SUBMISSION_EVENT_WORDS.get(event.kind, event.kind)
        detail = " ".join(x for x in (event.level, event.detail) if x)
        lines.append(f"{month_day(event.at.astimezone(tz).date())} {what}{' ' + detail if detail else ''}{f'（{by}）' if by else ''}")
    return Reply("\n".join(lines))
