"""Read one chat message into a `Command` (intent + fields), the JSON of `python app.py parse`.

Pure and fast: no clock (the caller passes `now`), no database, no Flask. `parse` never raises;
`parse_strict` is the same reading but raises `bot.dates.DateError` for a stated date that does
not exist, whose str() is the line to show the user ("没有11月31日这一天"); `parse` instead
returns the intent as read with `date=None`.

Field mapping per intent:
- checkin: date (stated, else today), time, kind.
- opinion/suggestion/report/project/proposal: title, content; the leading keyword decides, so a
  note mentioning 请假/签到 stays a note; an empty note gives title=None, content=None.
- leave: date of the activity (None if none stated), time, kind (if named), reason.
- announce: date, time, kind, title (what happens, e.g. "视察 城区污水处理厂"), content = the place
  ("地点 X", "在X开展…", else the object after the kind word, e.g. "城区污水处理厂").
- approve/reject: target = the member's name or the request number without '#' ("张三", "3");
  reason = the rest of a reject ("活动重要").
- status/my: target = the intent word asked about ("opinion" for 谁还没交社情民意, "checkin" for
  谁没签到), title = the period word as written (本月, 本季度, 上季度, 今年, ...).
- status: also target = an activity kind ("inspection" for 本季度视察, with attendance), "leave" for
  待审批/请假情况 (pending leave and 补报), "county" for 全县情况; content = a group named in the
  message ("第二联络组情况", for the office).
- my: target = a member's name for 张三的履职 (a leader's look at one member).
- bind: target = name, content = the mobile number, digits only (+86 and separators dropped).
Office extensions (not in DESIGN.md's list):
- withdraw 撤回 / correct 更正: target = the submission number ("12"), or "leave" for 撤回请假, or a
  submission intent; correct also title/content of the corrected note.
- late 补报: date (past-leaning: 11月5日 on 11月23日 is this year's), kind, target = the member's name
  when a leader reports for someone, reason. confirm_late 确认补报 / reject_late 驳回补报: target = number
  or name, reason (reject).
- adopt 采用 / instruct 批示: target = submission number, content = the level (市级) / the comment.
- deactivate 停用 / reactivate 启用: target = name. export 导出: title = the period word.
Decisions: "我建议大家早点到" is chatter (unknown): 建议 is a suggestion only as the leading word
followed by a separator, 关于 or 《; a bare "关于…的建议/提案" (or a "标题：…内容：…" note) takes its
kind from the title, else opinion. "同意楼上的观点" is chatter, not an approval. A bare "3点" means
15:00 (see bot.dates).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import replace

from bot.dates import DateError, When, find_when
from bot.messages import Command

__all__ = ["DateError", "parse", "parse_strict"]

_MAX_LEN = 5000  # longer messages are read from their start (bounds the worst case); a note keeps all

# Length-preserving clean-up: full-width letters/digits/space and odd spaces become ASCII, the
# Chinese punctuation a note's content is written with (，。：) is kept as typed.
_TRANSLATE = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}  # ０-９
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})  # ａ-ｚ
_TRANSLATE.update(
    {
        ord(k): v
        for k, v in {
            "＃": "#",
            "＠": "@",
            "［": "【",
            "］": "】",
            "〔": "【",
            "〕": "】",
            "＋": "+",
            "－": "-",
            "／": "/",
            "．": ".",
            "～": "~",
        }.items()
    }
)
_SPACE_RE = re.compile(r"[^\S\n]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_MENTION_RE = re.compile(r"^(?:@\S{1,30}\s+)+")
_SEP = r"\s:：,，、;；.。!！?？~\-—_|"
_SEP_RE = re.compile(f"[{_SEP}]+")
_STRIP = " \t\n:：,，、;；.。!！?？~-—_|…\"'“”‘’()（）"  # for str.strip: the separators, quotes, brackets

_TAG_RE = re.compile(r"^【([^】]{1,10})】")
_TAGS = {
    "社情民意": "opinion",
    "社情民意信息": "opinion",
    "意见建议": "suggestion",
    "建议": "suggestion",
    "调研报告": "report",
    "为民办实事": "project",
    "办实事": "project",
    "提案": "proposal",
    "请假": "leave",
    "签到": "checkin",
    "通知": "announce",
    "活动": "announce",
    "发布活动": "announce",
    "活动通知": "announce",
    "帮助": "help",
}
_HELP = {
    "帮助",
    "help",
    "?",
    "？",
    "怎么用",
    "菜单",
    "功能",
    "使用说明",
    "说明",
    "指令",
    "命令",
    "/help",
    "怎么用?",
    "怎么用？",
    "帮助一下",
    "功能菜单",
    "有什么功能",
    "能做什么",
}

_SUBMISSION_RE = re.compile(
    r"^(?:我要|我想|我来|我)?(?:提交|报送|上报|再交|补交|交|反映|报)?(?:一[篇条份个件]|一下)?"
    r"(?P<kw>社情民意信息|社情民意|意见建议|调研报告|为民办实事|办实事|民生实事|提案|建议(?=[\s:：,，]|关于|《|$))"
)
_SUBMISSION_KW = {
    "社情民意信息": "opinion",
    "社情民意": "opinion",
    "意见建议": "suggestion",
    "建议": "suggestion",
    "调研报告": "report",
    "为民办实事": "project",
    "办实事": "project",
    "民生实事": "project",
    "提案": "proposal",
}
_NOTE_INTENTS = frozenset(_SUBMISSION_KW.values())
# "关于…的建议/提案" written without a keyword in front: the note's own title names its kind.
_ABOUT_RE = re.compile(
    r"^关于[^。！？!?\n]{2,60}?(?:的)?(?P<kw>社情民意信息|社情民意|意见建议|调研报告|提案|建议)(?=[。！？!?\n\s:：,，]|$)"
)

_TARGET_WORDS = [
    ("社情民意", "opinion"),
    ("意见建议", "suggestion"),
    ("调研报告", "report"),
    ("办实事", "project"),
    ("提案", "proposal"),
    ("签到", "checkin"),
    ("请假", "leave"),
    ("建议", "suggestion"),
    ("报告", "report"),
]
_PERIOD_RE = re.compile(
    r"(?:\d{4}年)?第?[一二三四1-4]季度|\d{4}年[上下]半年|\d{4}年(?:\d{1,2}月份?)?|(?<![\d一二三四五六七八九十])\d{1,2}月份?"
    r"|本月|这个月|上个?月|本季度|这个?季度|上个?季度|本季|今年|本年度|本年|去年|全年|上半年|下半年|本周|上周|这周"
)
_QUERY_PREFIX_RE = re.compile(r"^(?:请(?=查|看))?(?:查询|查看|看看|看一下|查一下|查下|查|看)?(?:一下)?")
_STATUS_RE = re.compile(
    r"^(?:本组|我组|全组|小组|我们组|组里|联络组)?(?:的)?(?:履职)?(?:情况|进度|统计|完成情况|汇总|欠交情况)"
    r"|^(?:谁|哪些人|哪些委员|哪位|还有谁|有谁)(?:还)?(?:没|未|没有)"
    r"|^(?:谁|哪些人|哪些委员|哪位|有谁)(?:已经?)?(?:请假|签到|交|提交|报送)了?$"
    r"|^(?:本组|我组|全组)"
)
_LEAVE_LIST_RE = re.compile(
    r"^(?:本组|我组|全组)?的?(?:待审批|待批|待处理|请假(?:情况|名单|记录|审批|列表|的人|人员))"
)
_COUNTY_RE = re.compile(
    r"^(?:全县|各组|各联络组|全部联络组|所有联络组)的?(?:履职)?(?:情况|进度|统计|排名|汇总)?$"
)
_GROUP_RE = re.compile(r"第[一二三四五六七八九十百\d]{1,4}联络组|[\u4e00-\u9fff]{2,8}?联络组")
_ACTIVITY_QUERY_RE = re.compile(
    r"^(?:本组|我组|全组)?的?(?:集体活动|集体视察|视察|调研|考察|集体学习|学习|培训|座谈会?|会议|协商会?)(?:活动)?"
    r"(?P<tail>情况|出勤(?:情况)?|考勤|签到情况|参加情况|出席情况)?$"
)
_RECORD_OF_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,5}?)(?:委员)?的?(?:履职|情况|记录|档案)(?:情况|记录|档案|统计)?$"
)
_NOT_A_MEMBER_RE = re.compile(r"组|县|全|本|各|我|谁|哪|大家|所有|今|上|去|这|那|季|月|年")
_WITHDRAW_RE = re.compile(r"^(?:我要|我想|请|帮我)?(?:撤回|撤销|收回)")
_CORRECT_RE = re.compile(r"^(?:我要|我想|请|帮我)?(?:更正|改正|更改|修改)(?:一下)?")
_LATE_RE = re.compile(r"^(?:我要|我想|请|帮我)?补报")
_CONFIRM_LATE_RE = re.compile(r"^(?:确认|同意|批准)补报")
_REJECT_LATE_RE = re.compile(r"^(?:驳回|不同意|不批准|拒绝)补报")
_ADOPT_RE = re.compile(r"^(?:标记)?采用(?=\s*[#＃]?\s*\d)")
_INSTRUCT_RE = re.compile(r"^(?:领导)?批示(?=\s*[#＃]?\s*\d)")
_ACTIVE_RE = re.compile(r"^(?P<verb>停用|启用|恢复启用|重新启用)(?:委员)?")
_EXPORT_RE = re.compile(r"^(?:导出|下载)")
_LAST_RE = re.compile(r"^(?:上一条|上一篇|刚才|刚刚|最近|最新)?(?:的|那条|那篇|一条|一篇)?")
_MY_RE = re.compile(
    r"^我的(?:履职|情况|记录|档案|统计|进度|社情民意|提案|签到|请假|完成情况)"
    r"|^我(?:\S{0,4}?)(?:交|报|提交|报送|签到|请假|参加)了(?:几|多少)"
    r"|^我(?:还)?(?:欠|差)(?:几|多少|什么)"
)
_ANNOUNCE_RE = re.compile(r"^(?:发布活动|活动通知|活动安排|发布通知|发布|通知|活动(?=[\s:：]))[\s:：,，]*")
_INVITE_RE = re.compile(r"请(?:大家|各位)?(?:委员)?(?:准时|按时)?(?:参加|出席)")
_APPROVE_RE = re.compile(r"^(?:同意|批准|准假|准了)")
_REJECT_RE = re.compile(r"^(?:驳回|不同意|不批准|不准假?|拒绝|退回)")
_NOT_A_NAME_RE = re.compile(r"的|这|那|大家|楼上|楼下|你|您|他|她|我|方案|意见|观点|建议|安排|一下")
_BIND_RE = re.compile(r"^绑定(?:身份)?")
_PHONE_RE = re.compile(r"(?:\+?86[\s-]*)?(1[\s-]*(?:\d[\s-]*){9}\d)")
_LEAVE_RE = re.compile(
    r"(?:我|本人)?(?:要|想|需要)?(?:请(?:个|一下|一天|半天|几天|一次)?假|告假|告个假)(?:一下)?(?:了)?"
    r"|参加不了|去不了|来不了|到不了|无法参加|不能参加|没法参加|没办法参加|参加不成|不能去|无法出席|不能出席|缺席"
)
_CHECKIN_RE = re.compile(r"^(?:我)?(?:已经?|已)?(?:签到|到了|已到|到达|报到|到场|打卡)(?:了|啦)?(?![表])")
_CHECKIN_TAIL_RE = re.compile(r"(?:签到|报到|打卡)(?:了|啦)?$")
_KINDS = [
    ("collective", r"集体活动"),
    ("inspection", r"视察"),
    ("research", r"调研|考察"),
    ("study", r"学习|培训"),
    ("meeting", r"会议|座谈|协商|例会|议事会"),
]
_KIND_RE = re.compile("|".join(f"(?P<{k}>{p})" for k, p in _KINDS))
_KIND_WORD_RE = re.compile(
    r"^(?:集体视察|视察|调研|考察|集体学习|学习|培训|座谈会|座谈|协商会|协商|会议|集体活动)(?=\S)?"
)
_ACTIVITY_WORDS_RE = re.compile(  # longest first: "的会" is the meeting, "单位开会" a reason
    r"的会|集体活动|集体学习|集体|活动|视察|调研|考察|学习|培训|会议|座谈会?|协商会?|例会|这次|那次|那天|当天|的|我|本人"
)
_FILLER_RE = re.compile(r"^(?:因为|由于|原因是?|理由是?|事由|请假原因|请假理由|需要|要)[:：\s]*")
# A leader's reason keeps 需要 ("驳回 #3 需要本人参加"): only the words that introduce it go.
_DECISION_FILLER_RE = re.compile(r"^(?:因为|由于|原因是?|理由是?)[:：\s]*")


def _normalise(text: str) -> str:
    text = text.translate(_TRANSLATE)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub("", text)
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    text = "\n".join(_SPACE_RE.sub(" ", line).strip() for line in text.split("\n"))
    text = re.sub(r"\n{2,}", "\n", text).strip()
    return _MENTION_RE.sub("", text).strip()


def _clean(text: str | None) -> str | None:
    text = (text or "").strip(_STRIP)
    return text or None


def _kind(text: str) -> str | None:
    m = _KIND_RE.search(text)
    return m.lastgroup if m else None


def _when(text: str, now: dt.datetime, strict: bool) -> tuple[When | None, tuple[int, int] | None]:
    """The stated date/time and its span; an impossible date raises only when strict."""
    try:
        when = find_when(text, now)
    except DateError as err:
        if strict:
            raise
        return None, (err.start, err.end)
    return when, ((when.start, when.end) if when else None)


def _cut(text: str, span: tuple[int, int] | None) -> str:
    return text if span is None else text[: span[0]] + " " + text[span[1] :]


# -- submissions ----------------------------------------------------------------------------------


def _split_note(body: str) -> tuple[str | None, str | None]:
    body = body.lstrip(_STRIP).rstrip()  # the note's own closing 。 is part of its content
    if not body.strip(_STRIP):
        return None, None
    m = re.search(r"标题[:：\s]*(?P<t>.+?)[\s,，。;；]*(?:内容|正文)[:：\s]*(?P<c>.*)$", body, re.S)
    if m:
        return _clean(m["t"]), (m["c"].strip() or None)
    m = re.match(r"标题[:：\s]*(.+)$", body, re.S)
    if m:
        body = m[1]
    m = re.match(r"《(?P<t>[^》]{1,60})》[\s:：,，。]*(?P<c>.*)$", body, re.S)
    if m:
        return m["t"].strip(), (m["c"].strip() or body)
    m = re.match(r"(?P<t>[^。！？!?\n]+)[。！？!?\n]+(?P<c>.+)$", body, re.S)
    if m and len(m["t"].strip()) <= 40 and m["c"].strip(_STRIP):
        return _clean(m["t"]), m["c"].strip()
    first = re.split(r"[，,；;：:。！？!?\n]", body, maxsplit=1)[0].strip()
    title = first if 0 < len(first) <= 30 else body[:30]
    return _clean(title), body


def _submission(text: str) -> Command | None:
    m = _SUBMISSION_RE.match(text)
    if m:
        title, content = _split_note(text[m.end() :])
        return Command(_SUBMISSION_KW[m["kw"]], title=title, content=content)
    m = _ABOUT_RE.match(text)
    if m:
        title, content = _split_note(text)
        return Command(_SUBMISSION_KW[m["kw"]], title=title, content=content)
    if re.match(r"标题[:：\s]", text) and re.search(r"(?:内容|正文)[:：\s]", text):
        # A titled note without a keyword: its title may name the kind, else it is the usual 社情民意.
        title, content = _split_note(text)
        m = _ABOUT_RE.match(title or "")
        return Command(_SUBMISSION_KW[m["kw"]] if m else "opinion", title=title, content=content)
    return None


# -- leader commands ------------------------------------------------------------------------------


def _decision(intent: str, rest: str) -> Command:
    rest = re.sub(r"^[了\s:：,，]*(?:(?:他|她)?的?请假(?:申请)?)?[\s:：,，]*", "", rest)
    target: str | None = None
    m = re.match(r"#?\s*(\d{1,9})(?:号|条)?", rest)
    if m:
        target, rest = m[1], rest[m.end() :]
    else:
        m = re.match(r"([\u4e00-\u9fff·A-Za-z]{1,10}?)(?=的?请假|的?申请|[\s,，。:：;；!！]|$)", rest)
        if m is None:
            m = re.match(r"[\u4e00-\u9fff·]{1,3}", rest)  # "驳回李四活动重要": guess a 3-character name
        if m:
            target, rest = m.group(1) if m.lastindex else m.group(0), rest[m.end() :]
    if target and not target.isdigit() and (len(target) > 5 or _NOT_A_NAME_RE.search(target)):
        return Command("unknown")  # "同意楼上的观点", "不同意这个方案": chatter, not a decision on leave
    rest = re.sub(r"^[\s:：,，]*的?(?:请假)?(?:申请)?[\s:：,，]*", "", rest)
    reason = _clean(_DECISION_FILLER_RE.sub("", rest)) if intent == "reject" else None
    return Command(intent, target=_clean(target), reason=reason)


def _announce(body: str, now: dt.datetime, strict: bool) -> Command:
    when, span = _when(body, now, strict)
    rest = _cut(body, span)
    place = None
    m = re.search(r"地点[:：\s]*([^\s,，。;；]+)", rest)
    if m is None:
        m = re.search(r"在([^\s,，。;；]{2,30}?)(?:开展|举行|召开|进行|组织|举办|集合|参加)", rest)
    if m is None:
        m = re.search(r"在([^\s,，。;；]{2,30})", rest)
    if m:
        place, rest = m[1], rest[: m.start()] + " " + rest[m.end() :]
    # Drop the courtesy clauses ("请大家准时参加") and keep the first clause that says what happens.
    clauses = [c.strip() for c in re.split(r"[,，。;；!！\n]", rest)]
    clauses = [c for c in clauses if c.strip(_STRIP) and not _INVITE_RE.search(c)]
    title = clauses[0] if clauses else None
    if title:
        title = re.sub(r"^(?:的|开展|举行|召开|进行|组织|举办)\s*", "", title.strip(_STRIP))
        title = _SPACE_RE.sub(" ", title).strip() or None
    if place is None and title:
        m = _KIND_WORD_RE.match(title)
        if m and title[m.end() :].strip(_STRIP):
            place = title[m.end() :].strip(_STRIP)
    # The kind is what happens (the title), not where: "在…会议室开展集体学习" is study, not a meeting.
    kind = _kind(title or "") or _kind(rest)
    return Command(
        "announce",
        date=when.date if when else None,
        time=when.time if when else None,
        kind=kind,
        title=_clean(title),
        content=_clean(place),
    )


# -- member requests ------------------------------------------------------------------------------


def _leave(text: str, now: dt.datetime, strict: bool) -> Command:
    when, span = _when(text, now, strict)
    reasons: list[str] = []
    pos = 0
    for piece in re.split(r"([,，。;；!！\n ]+)", text):
        start, pos = pos, pos + len(piece)
        if not piece.strip(_STRIP):
            continue
        # The clause with the date in it, or with a leave word, may carry part of the reason.
        if span and start < span[1] and span[0] < pos:
            local = (max(span[0] - start, 0), min(span[1] - start, len(piece)))
            piece_cut = _cut(piece, local)
            touched = True
        else:
            piece_cut, touched = piece, False
        without_leave = _LEAVE_RE.sub(" ", piece_cut)
        touched = touched or without_leave != piece_cut
        leftover = _ACTIVITY_WORDS_RE.sub("", without_leave).strip(_STRIP)
        if not leftover:
            continue  # only the activity reference and the request: no reason in it
        reason = (
            re.sub(
                r"^(?:的|我|本人)?(?:活动|视察|调研|学习|会议|座谈会?|协商会?)?\s*", "", without_leave.strip()
            )
            if touched
            else piece
        )
        reason = _FILLER_RE.sub("", reason.strip(_STRIP))
        reason = re.sub(r"^因(?=..)", "", reason)  # 因出差 -> 出差, but keep 因病
        if reason.strip(_STRIP):
            reasons.append(reason.strip(_STRIP))
    reason = "，".join(reasons) or None
    kind = _kind(text.replace(reason, " ") if reason else text)
    return Command(
        "leave", date=when.date if when else None, time=when.time if when else None, kind=kind, reason=reason
    )


def _checkin(text: str, now: dt.datetime, strict: bool) -> Command:
    when, _ = _when(text, now, strict)
    date = when.date if when else (None if _ else now.date())
    return Command("checkin", date=date, time=when.time if when else None, kind=_kind(text))


def _query(intent: str, text: str, target: str | None = None, group: str | None = None) -> Command:
    period = _PERIOD_RE.search(text.replace(group, " ") if group else text)
    if target is None:
        target = next((t for word, t in _TARGET_WORDS if word in text), None)
    if target is None and intent == "status":
        target = _kind(text)  # 谁没参加视察: the inspections and who was there
    return Command(intent, title=period[0] if period else None, target=target, content=group)


# -- office extensions ----------------------------------------------------------------------------


def _number(rest: str) -> tuple[str | None, str]:
    m = re.match(r"[\s:：,，]*[#＃]?\s*(\d{1,9})(?:号|条|篇)?", rest)
    return (m[1], rest[m.end() :]) if m else (None, rest)


def _withdraw(rest: str) -> Command | None:
    number, rest = _number(rest)
    rest = _LAST_RE.sub("", rest.strip(_STRIP), count=1).strip(_STRIP)
    if len(rest) > 12:
        return None  # "撤回了对方案的支持，因为……": a sentence, not a command
    if number:
        return Command("withdraw", target=number)
    if _LEAVE_RE.search(rest) or "请假" in rest:
        return Command("withdraw", target="leave")
    kw = next((t for word, t in _TARGET_WORDS if word in rest and t not in ("checkin", "leave")), None)
    return Command("withdraw", target=kw)


def _correct(rest: str) -> Command:
    number, rest = _number(rest)
    rest = re.sub(r"^[\s:：,，]*(?:上一条|上一篇|刚才的?|刚刚的?)?[\s:：,，]*(?:为|成)?[\s:：,，]*", "", rest)
    m = _SUBMISSION_RE.match(rest)
    if m:
        rest = rest[m.end() :]
    title, content = _split_note(rest)
    return Command("correct", target=number, title=title, content=content)


def _past_leaning(when: When | None, today: dt.date) -> dt.date | None:
    """A 补报 is about a day gone by: 11月5日 said on 11月23日 is this year's, 25号 last month's."""
    if when is None or when.date is None or when.date <= today or re.search(r"\d{4}\s*年", when.text):
        return when.date if when else None
    day = when.date
    if "月" in when.text:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return None  # 2月29日 of a year that has none: ask again rather than guess
    if re.search(r"[日号]", when.text) and not re.search(r"[天周]", when.text):
        first = day.replace(day=1) - dt.timedelta(days=1)
        try:
            return first.replace(day=day.day)
        except ValueError:
            return None
    return day - dt.timedelta(days=7 * ((day - today).days // 7 + 1))


def _late(rest: str, now: dt.datetime, strict: bool) -> Command:
    rest = rest.strip(_STRIP)
    when, span = _when(rest, now, strict)
    date = _past_leaning(when, now.date())
    kind = _kind(rest)
    body = _cut(rest, span)
    body = _KIND_RE.sub(" ", body)
    body = re.sub(r"签到|出勤|出席|参加|活动|的", " ", body)
    words = [w for w in _SEP_RE.split(body) if w.strip(_STRIP)]
    target = None
    # "补报 张三 11月5日 签到": a leader reports for a member, whose name comes first.
    first = words[0] if words else ""
    if (
        re.fullmatch(r"[\u4e00-\u9fff·]{2,5}", first)
        and not _NOT_A_NAME_RE.search(first)
        and rest.startswith(first)
    ):
        target, words = first, words[1:]
    reason = _clean(_FILLER_RE.sub("", " ".join(words))) if words else None
    return Command("late", date=date, kind=kind, target=target, reason=reason)


def _office(text: str, now: dt.datetime, strict: bool) -> Command | None:
    """The office and correction commands, each introduced by its own leading word."""
    if m := _REJECT_LATE_RE.match(text):
        return replace(_decision("reject", text[m.end() :]), intent="reject_late")
    if m := _CONFIRM_LATE_RE.match(text):
        return replace(_decision("approve", text[m.end() :]), intent="confirm_late")
    if m := _LATE_RE.match(text):
        return _late(text[m.end() :], now, strict)
    if m := _WITHDRAW_RE.match(text):
        return _withdraw(text[m.end() :])
    if m := _CORRECT_RE.match(text):
        return _correct(text[m.end() :])
    for pattern, intent in ((_ADOPT_RE, "adopt"), (_INSTRUCT_RE, "instruct")):
        if m := pattern.match(text):
            number, rest = _number(text[m.end() :])
            return Command(intent, target=number, content=_clean(rest))
    if m := _ACTIVE_RE.match(text):
        name = text[m.end() :].strip(_STRIP)
        if re.fullmatch(r"[\u4e00-\u9fff·A-Za-z]{1,10}", name) and not _NOT_A_NAME_RE.search(name):
            return Command("deactivate" if m["verb"] == "停用" else "reactivate", target=name)
        return None
    if m := _EXPORT_RE.match(text):
        rest = text[m.end() :]
        core = re.sub(r"履职档案|履职情况|履职|档案|表格|情况|记录|数据|excel|Excel|EXCEL|的|表", "", rest)
        group = _GROUP_RE.search(core)
        period = _PERIOD_RE.search(core)
        leftover = core
        for found in (group, period):
            if found:
                leftover = leftover.replace(found[0], "")
        if leftover.strip(_STRIP):
            return None  # 导出 followed by something else is not a request for the file
        return Command("export", title=period[0] if period else None, content=group[0] if group else None)
    return None


def _status(text: str, core: str) -> Command | None:
    """本组情况 and the leader's other keyword queries; None when `core` is not one of them."""
    if _COUNTY_RE.match(core):
        return _query("status", text, target="county")
    group_m = _GROUP_RE.search(core)
    group = group_m[0] if group_m else None
    if group:
        core = (core[: group_m.start()] + core[group_m.end() :]).strip(_STRIP)
        core = re.sub(r"^的", "", core) or "情况"
    if _LEAVE_LIST_RE.match(core):
        return _query("status", text, target="leave", group=group)
    m = _ACTIVITY_QUERY_RE.match(core)
    if m and (m["tail"] or _PERIOD_RE.search(text) or group):
        return _query("status", text, target=_kind(core), group=group)
    if _STATUS_RE.match(core):
        return _query("status", text, group=group)
    m = _RECORD_OF_RE.match(core)
    if m and not group and not _NOT_A_MEMBER_RE.search(m["name"]) and not _NOT_A_NAME_RE.search(m["name"]):
        return _query("my", text, target=m["name"])
    return None


def _bind(rest: str) -> Command:
    phone = _PHONE_RE.search(rest)
    if phone:
        digits = re.sub(r"\D", "", phone[1])
        rest = rest[: phone.start()] + " " + rest[phone.end() :]
    else:
        digits = re.sub(r"\D", "", rest) or None
        rest = re.sub(r"[\d+\-]", " ", rest)
    rest = re.sub(r"姓名|手机号?码?|电话", " ", rest)
    name = next((w for w in _SEP_RE.split(rest) if w.strip(_STRIP)), None)
    return Command("bind", target=_clean(name), content=digits)


# -- dispatch -------------------------------------------------------------------------------------


def _read(text: str, now: dt.datetime, strict: bool) -> Command:
    full = _normalise(text)
    command = _classify(full[:_MAX_LEN], now, strict)
    if len(full) > _MAX_LEN and command.intent in _NOTE_INTENTS:
        # What it is was read from the start; the note itself is the whole text.
        command = _note(full) or command
    return command


def _note(text: str) -> Command | None:
    """A note by its 【tag】 or its keyword; None if the text is not one."""
    tag = _TAG_RE.match(text)
    if tag and _TAGS.get(tag[1].strip()) in _NOTE_INTENTS:
        title, content = _split_note(text[tag.end() :].strip())
        return Command(_TAGS[tag[1].strip()], title=title, content=content)
    return _submission(text)


def _classify(text: str, now: dt.datetime, strict: bool) -> Command:
    if not text:
        return Command("unknown")
    tag = _TAG_RE.match(text)
    if tag and tag[1].strip() in _TAGS:
        intent, body = _TAGS[tag[1].strip()], text[tag.end() :].strip()
        if intent in _NOTE_INTENTS:
            return _note(text)
        if intent == "help":
            return Command("help")
        text = {"leave": "请假 ", "checkin": "签到 ", "announce": "通知 "}[intent] + body
    bare = text.strip(_STRIP).lower()
    if bare in _HELP or text.strip() in _HELP:
        return Command("help")
    if _BIND_RE.match(text):
        return _bind(text[_BIND_RE.match(text).end() :])
    office = _office(text, now, strict)
    if office:
        return office
    m = _REJECT_RE.match(text)
    if m:
        return _decision("reject", text[m.end() :])
    m = _APPROVE_RE.match(text)
    if m:
        return _decision("approve", text[m.end() :])
    note = _submission(text)
    if note:
        return note
    query = _QUERY_PREFIX_RE.sub("", text, count=1)
    query_core = _PERIOD_RE.sub("", query).strip(_STRIP) or query
    query_core = _QUERY_PREFIX_RE.sub("", query_core, count=1)
    if _MY_RE.match(query_core) or _MY_RE.match(query):
        return _query("my", text)
    if len(text) <= 40:
        status = _status(text, query_core)
        if status:
            return status
    m = _ANNOUNCE_RE.match(text)
    if m and not (_LEAVE_RE.search(text) and not text.startswith(("发布", "通知"))):
        return _announce(text[m.end() :], now, strict)
    if _LEAVE_RE.search(text):
        return _leave(text, now, strict)
    if _CHECKIN_RE.match(text) or (len(text) <= 25 and _CHECKIN_TAIL_RE.search(text) and "谁" not in text):
        return _checkin(text, now, strict)
    if _INVITE_RE.search(text) and _kind(text) and _when(text, now, strict)[0] is not None:
        return _announce(text, now, strict)  # "明天上午9点视察…，请大家准时参加" from a leader
    return Command("unknown")


def parse(text: str, now: dt.datetime) -> Command:
    """The reading of `text` at `now` (aware, local). Never raises; a bad date gives date=None."""
    try:
        return _read(text if isinstance(text, str) else str(text), now, strict=False)
    except Exception:  # any input at all must give an answer; unknown is the safe one
        return Command("unknown")


def parse_strict(text: str, now: dt.datetime) -> Command:
    """Like `parse`, but a stated date that does not exist raises DateError ("没有11月31日这一天")."""
    try:
        return _read(text if isinstance(text, str) else str(text), now, strict=True)
    except DateError:
        raise
    except Exception:
        return Command("unknown")
