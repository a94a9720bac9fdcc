"""Read one chat message into a `Command` (intent + fields), the JSON of `python app.py parse`.

Pure and fast: no clock (the caller passes `now`), no database, no Flask. The words come from
`bot.vocabulary` (one table per vocabulary) and `bot.periods` (period words); the intents are an
ordered list of rules, `RULES`, the first that reads the message wins, each with the reason for its
place; the readers live in `bot.reading`. `parse_strict` raises `bot.dates.DateError` for a stated
date that does not exist (its str() is the line to show the user, "没有11月31日这一天"); `parse`
gives the same reading with date=None. Anything else that goes wrong is a bug and is raised.

Field mapping per intent:
- checkin: date (stated, else today), time, kind.
- opinion/suggestion/report/project/proposal: title, content (cut from what the member wrote); the
  leading keyword decides, so a note mentioning 请假/签到 stays a note; an empty note gives
  title=None, content=None.
- leave: date of the activity (None if none stated; past-leaning for 没去成), time, kind, reason.
- announce: date, time, kind, title (what happens, e.g. "视察 城区污水处理厂"), content = the place.
- approve/reject: target = the member's name, the request number without '#', or "all" (都同意);
  reason = the rest of a reject.
- status/my: target = what is asked about ("opinion" for 谁还没交社情民意, "checkin" for 谁没签到, an
  activity kind for 本季度视察, "leave" for 待审批, "county" for 全县情况; for my a member's name),
  title = the period word as written, content = a group named ("第二联络组情况"); status target
  "journey" is the notes' funnel (社情民意流转情况); my content "notes" lists the notes (我的社情民意).
- office_link (后台, 登录后台, 后台链接): a login link to the office's web page, one-to-one.
- schedule (下次活动是什么时候, 这周有什么活动, 明天有视察吗): date, kind and the period word asked about.
- will_attend (8号的座谈我准时到, 明天的视察我一定参加): date and kind of the activity, nothing recorded.
- score (积分): target None for one's own, "group" (content = a group named), "county".
- return_note/bulletin/report_up/feedback: target = the note's number; reason = 退回's reason,
  content = 编报's issue, 报送's destination, 反馈's text; adopt's title = the outlet as written.
- bind: target = name, content = the mobile number, digits only.
- withdraw/correct, late, confirm_late/reject_late, adopt/instruct, deactivate/reactivate, export:
  README "组长和办公室"; adopt's content is the level (县级/市级/省级/全国) when one is named.
- cancel_activity / change_activity: target = the activity number; date/time/content = the new date,
  time and place of a change (a cancel's date is the activity's); `ref_date` (an extra JSON key,
  only when set) = the date of the activity a change refers to ("明天的视察改到周五").
- announce of several activities (本周活动安排：12月10日…座谈会，12月11日…视察): the first one's fields,
  and `items` (an extra JSON key, only when set) = every activity's reading, the first included.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot import vocabulary as vocab
from bot.dates import DateError
from bot.messages import Command
from bot.reading import activities, decisions, leave, notes, office, queries
from bot.reading.text import EMOJI_RE, HEAD, SEP_RE, Text, normalise, prepare

__all__ = ["RULES", "DateError", "is_chatter", "looks_like_note", "parse", "parse_strict"]

_MAX_LEN = 5000  # longer messages are read from their start (bounds the worst case); a note keeps all

_TAG_RE = re.compile(r"^【([^】]{1,10})】")
_TAGS = {
    **vocab.SUBMISSION_KINDS,
    "社情民意信息": "opinion",
    "请假": "leave",
    "签到": "checkin",
    "通知": "announce",
    "活动": "announce",
    "发布活动": "announce",
    "活动通知": "announce",
    "会议通知": "announce",
    "帮助": "help",
}
_NOTE_INTENTS = frozenset(vocab.SUBMISSION_KINDS.values())


def _tag(t: Text) -> Command | None:
    """【社情民意】… states the kind outright; nothing in the text overrides it."""
    m = _TAG_RE.match(t.core)
    intent = _TAGS.get(m[1].strip()) if m else None
    if intent is None:
        return None
    if intent in _NOTE_INTENTS:
        title, content = notes.split_note(t.written_from(m.end()))
        return Command(intent, title=title, content=content)
    if intent == "help":
        return Command("help")
    lead = {"leave": "请假 ", "checkin": "签到 ", "announce": "通知 "}[intent]
    return _classify(t.with_core(lead + t.core[m.end() :].strip()))


@dataclass(frozen=True)
class Rule:
    name: str
    read: Callable[[Text], Command | None]  # the reading, or None: not this rule's message
    why_here: str


RULES: tuple[Rule, ...] = (
    Rule("help", queries.help_, "帮助, ?, 怎么请假: whole-message words and questions about the bot"),
    Rule("backstage", queries.backstage, "后台 / 登录后台: a whole message asking for the web page's link"),
    Rule("tag", _tag, "【社情民意】… states the kind outright, over every word in the text"),
    Rule("roster_change", office.roster_change, "我换组了 / 改手机号: the roster is the office's, before 绑定 reads a number"),
    Rule("bind", office.bind, "绑定 / 我是张三 1380…: read before anything looks at a name"),
    Rule("late_decision", decisions.late_decision, "确认补报/驳回补报 start like 同意/驳回"),
    Rule("cancel_activity", activities.cancel_activity, "取消活动 #2: before 撤回 and leave words"),
    Rule("withdraw", office.withdraw, "撤回…/不请假了: before leave, which 不请假了 contains"),
    Rule("correct", notes.correct, "更正 …: the note that follows is not a new one"),
    Rule("late", office.late, "补报/补签 …: before check-in and leave, whose words it carries"),
    Rule("returned", office.returned, "退回 #12 理由: a note sent back, before 驳回's words take 退回"),
    Rule("decision", decisions.decision, "同意/驳回 …: a leader's 同意 is never their own leave"),
    Rule("note_journey", queries.note_journey, "#12采用了吗: a question on one note, before the office's 采用 #12"),
    Rule("journey_query", queries.journey_query, "社情民意流转情况: a question, before a note it starts like"),
    Rule("who_gave", queries.who_gave, "本月谁交了社情民意: who did, before a note that 交了社情民意 would open"),
    Rule("owed", queries.owed, "还要交几篇提案: a question on the quota, before a note its preamble would open"),
    Rule("my_notes", queries.my_notes, "我的社情民意 lists one's notes: before a note, whose keyword it holds"),
    Rule("remind_to_submit", queries.remind_to_submit, "提醒大家交社情民意: a leader's ask, before the note its keyword opens"),
    Rule("note_fault", notes.note_fault, "我刚才交的调研报告有误: how to mend a note, never a new one of that text"),
    Rule("note", notes.note, "a note opens with its keyword: what it mentions later is its text"),
    Rule("suggestion", notes.suggestion, "提个建议：… is a note too, before the questions"),
    Rule("help_question", queries.help_question, "…能干什么 anywhere in a short message: after notes, whose text may ask it"),
    Rule("closing", decisions.closing_decision, "…的事，同意: a short message ending in 同意, once no note"),
    Rule("office", office.office, "采用/批示/退回/编报/报送/反馈 #12, #2 被县政协采用了, 停用/启用"),
    Rule("export", office.export, "导出…: before the questions, which share the period words"),
    Rule("change_activity", activities.change_activity, "#2 改到…: carries a date, before notices"),
    Rule("score", queries.score, "我的积分 / 本组积分 / 全县积分排名: before 我的履职, which 我的积分 matches"),
    Rule("my_group", queries.my_group, "我是哪个组的 / 我们组长是谁: who is in one's group, before 我的… and 本组…"),
    Rule("my", queries.my, "我的履职 / 我交了几篇: the sender's own, before the group's"),
    Rule("who_was_absent", queries.who_was_absent, "这个月谁缺席了: a question, before leave, which 缺席 would claim"),
    Rule("schedule", activities.schedule, "下次活动是什么时候: a question, before notices that lead with 活动安排"),
    Rule("checked_in_asked", activities.checked_in_asked, "今天的调研我签过了吗: a question, before 签到 its words hold"),
    Rule("status", queries.status, "谁没交, 本组情况: short questions, before notices and leave"),
    Rule("announce", activities.announce, "a notice may say 如不能参加请提前请假: before leave"),
    Rule("will_attend", activities.will_attend, "周五的学习我准时参加: coming, not there already; before 补报 and check-in"),
    Rule("was_there", activities.was_there, "4号视察我去了忘记签到了: 补报, before leave and check-in"),
    Rule("leave", leave.leave, "请假 or 去不了 anywhere, once nothing above claimed it"),
    Rule("checkin", activities.checkin, "签到/到了: last of the members' because so much contains 到"),
    Rule("invited", activities.invited, "a date, a kind and 请大家参加 without 通知: a leader's notice"),
    Rule("backstage_mention", queries.backstage_mention, "后台打不开咋办: a short message on the page, last of all"),
)


def _classify(t: Text) -> Command:
    if not t.core:
        return Command("unknown")
    for rule in RULES:
        command = rule.read(t)
        if command is not None:
            return command
    return Command("unknown")


# Command words a slip of the keyboard may hide when nothing reads the message as written ("同一 #7").
_SOUNDED_WORDS = sorted(
    {
        *("签到", "报到", "打卡", "请假", "同意", "驳回", "批准", "准假", "补报", "撤回", "导出", "绑定"),
        *("采用", "批示", "提案", "建议", "实事", "视察", "调研", "座谈", "学习", "培训", "协商"),
        *vocab.FUZZY_SUBMISSION_WORDS,
    },
    key=lambda w: (-len(w), w),
)


_SLIP_LEAD_RE = re.compile(r"^(?:我的|我要|我想|我|本人的?|这是)?")


def _sounded(core: str) -> str:
    """`core` with the command words it seems to mistype, in its head, written right (length kept)."""
    chars = list(core)
    for word in _SOUNDED_WORDS:
        # A short word is mistyped where a command starts ("同一 #7", "我请加"), not inside a sentence
        # (国庆假期 is not 请假).
        reach = HEAD if len(word) >= 4 else 1 + _SLIP_LEAD_RE.match(core).end()
        for start in range(min(len(chars) - len(word) + 1, reach)):
            window = "".join(chars[start : start + len(word)])
            same = sum(a == b for a, b in zip(window, word, strict=True))
            if window != word and same >= len(word) // 2 and vocab.sounds_like(window, word):
                chars[start : start + len(word)] = word
    return "".join(chars)


def _read(text: str, now: dt.datetime, strict: bool) -> Command:
    written = text if isinstance(text, str) else str(text)
    t = prepare(written, now, strict, limit=_MAX_LEN)
    command = _classify(t)
    if command.intent == "unknown":
        sounded = _sounded(t.core)
        if sounded != t.core:
            command = _classify(t.with_core(sounded))
    if len(written) > _MAX_LEN and command.intent in _NOTE_INTENTS:
        # What it is was read from the start; the note itself is the whole text.
        whole = prepare(written, now, strict)
        command = _tag(whole) or notes.note(whole) or command
    return command


# Readings of the day: the most frequent messages are the same few words (签到, 我的履职, 本组情况),
# read again and again. The rules read `now` for its day only (签到 is today's); a time of day in a
# reading (下午3点, 两小时后) may come from the clock too, so only readings without one are kept,
# by text and day.
_OF_THE_DAY: dict[tuple[str, bool, dt.date], Command] = {}
_OF_THE_DAY_MAX = 512
_OF_THE_DAY_LEN = 40  # notes are long and never the same twice: not kept


def _remembered(text: str, now: dt.datetime, strict: bool) -> Command:
    key = (text, strict, now.date())
    if (known := _OF_THE_DAY.get(key)) is not None:
        return known
    command = _read(text, now, strict)
    if len(text) <= _OF_THE_DAY_LEN and command.time is None:
        if len(_OF_THE_DAY) >= _OF_THE_DAY_MAX:
            _OF_THE_DAY.clear()  # a bound, not a policy: the few frequent texts come back at once
        _OF_THE_DAY[key] = command
    return command


def parse(text: str, now: dt.datetime) -> Command:
    """The reading of `text` at `now` (aware, local); a stated date that does not exist gives date=None."""
    return _remembered(text, now, strict=False)


def parse_strict(text: str, now: dt.datetime) -> Command:
    """Like `parse`, but a stated date that does not exist raises DateError ("没有11月31日这一天")."""
    return _remembered(text, now, strict=True)


# -- what the pipeline asks of a message it could not place ----------------------------------------

_CHATTER = frozenset(vocab.CHATTER)


# 这周大家辛苦了 / 谢谢大家 / 感谢各位的支持: thanks and good wishes to the group, no request in them.
_THANKS_RE = re.compile(
    r"(?:这周|本周|今天|这段时间|最近|近期|这次|今年|一年来)?(?:大家|各位|各位委员|组长|同志们|委员们)?(?:都)?"
    r"(?:辛苦了|辛苦啦|受累了)(?:啊|呀)?"
    r"|(?:谢谢|感谢|多谢)(?:大家|各位|各位委员|组长|委员们)(?:的)?(?:支持|配合|参与|付出|辛苦)?(?:啊|呀)?"
    r"|[\u4e00-\u9fff]{0,2}(?:组长|主任|老师)"  # 组长 谢谢: the address beside the thanks
)


# 今天的视察圆满结束 / 今天的调研就到这里: a leader closing the day's activity, said to the group.
_CLOSING_RE = re.compile(
    rf"(?:今天|本次|这次)?(?:的)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动|会)?(?:就|到此)?"
    r"(?:到这里|到这儿|到此结束|圆满结束|顺利结束|结束了|圆满完成)(?:了|啦)?"
)


def is_chatter(text: str) -> bool:
    """Group chatter that @s the bot and wants no answer: 收到, 好的👍, 谢谢, one or two words."""
    bare = EMOJI_RE.sub("", normalise(text if isinstance(text, str) else str(text))).lower()
    pieces = [p for p in SEP_RE.split(bare) if p]
    if not pieces:
        return True
    if all(
        p in _CHATTER or re.fullmatch(r"(?:哈|嗯|好|谢|收到|好的|ok)+", p) or _THANKS_RE.fullmatch(p) or _CLOSING_RE.fullmatch(p)
        for p in pieces
    ):
        return True
    return len(re.sub(r"[^\u4e00-\u9fff\w]", "", bare)) <= 3


# What a note without its keyword says: a problem reported and what should be done about it.
_NOTE_HINT = re.compile(
    r"建议|希望|呼吁|请求|恳请|反映|困难|隐患|不方便|不安全|危险|坏了|没人(?:管|清理|修|处理)|群众|意见很?大|投诉|脏乱|积水|漏水"
)
_NOTE_HINT_CHARS = 18  # 镇里的垃圾站一直没人清理，群众意见很大
# Short, but plainly a problem raised or a remedy asked for: 我想反映一下城区路灯不亮的问题 / 关于…的问题 /
# 建议增加公交线路 / 城区路灯不亮，建议尽快修 / 群众反映医院停车难 (asked about, never recorded as is).
_SHORT_NOTE_RE = re.compile(
    r"^(?:我|本人)?(?:想|要)?(?:反映|反应)(?:一下|个|一个)?(?:情况|问题)?[:：，,\s]*[^?？]{4,}$"
    r"|^关于[^?？]{2,30}的(?:问题|建议|情况)$"
    r"|^(?:建议|希望)(?!大家|各位|委员|组长|你们|您)[^?？]{4,}$"
    r"|^[^?？]{4,}[，,](?:建议|希望)(?!大家|各位|委员|组长)[^?？]{2,}$"
    r"|^(?:群众|老百姓|村民|居民|市民)(?:反映|说|反应|提出)[^?？]{3,}$"
)


def looks_like_note(text: str) -> bool:
    """Long text, a title-like first line with more below, or a sentence reporting a problem and
    asking for something: probably a note sent without a keyword (asked about, never recorded as is)."""
    core = prepare(text if isinstance(text, str) else str(text), dt.datetime.min, False).core
    first, _, rest = core.partition("\n")
    if len(core) >= 40 or (bool(rest.strip()) and len(first) <= 40 and len(core) >= 20):
        return True
    if len(core) >= 8 and _SHORT_NOTE_RE.match(core):
        return True
    return len(core) >= _NOTE_HINT_CHARS and len(_NOTE_HINT.findall(core)) >= 2
