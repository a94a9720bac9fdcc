"""Activities: a leader's notice (发布活动, 各位委员：定于…召开…), a leader's undo (取消活动 #2,
明天的视察改到周五), a member's check-in (签到, 我到了, 特此签到) and past presence (补报)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from bot import vocabulary as vocab
from bot.dates import When
from bot.messages import Command
from bot.reading.leave import COURTESY_RE, leave_signal
from bot.reading.text import (
    ACTIVITY_REF_RE,
    ACTIVITY_WORD,
    STRIP,
    Text,
    clean,
    cut,
    is_name,
    kind_named,
    past_leaning,
    past_span,
    period_word,
    when,
    when_and_time,
)

# -- notices ------------------------------------------------------------------------------------------

_LEAD_RE = re.compile(
    r"^(?:发布活动|发布通知|活动通知|会议通知|视察通知|调研通知|学习通知|活动安排|活动预告|通知一下|发个通知|发一下通知|"
    r"通知大家|通知各位|【[^】]{0,8}(?:通知|安排|转发|预告)[^】]{0,4}】|通知|发布|"
    r"活动(?=[\s:：]))[\s:：,，]*"
)
_FORMAL_RE = re.compile(r"定于|将于|拟于|计划于|订于|兹定于|定在|安排在|拟在|准备在|计划在|决定于|经研究")
_HOLD_RE = re.compile(
    rf"(?:召开|举行|开展|组织|举办|进行|集中|开)(?:一次|一场|一个)?[^,，。;；]{{0,16}}?{ACTIVITY_WORD}"
)
INVITE_RE = re.compile(
    r"(?:请|望|希望)?(?:大家|各位|全体)?(?:委员|组员)?(?:们)?(?:准时|按时|务必|尽量|届时|提前)+[^,，。;；]{0,6}?"
    r"(?:参加|出席|到场|参会|集合|到达|赶到|到会)"
    r"|请(?:大家|各位|全体)(?:委员|组员)?(?:们)?(?:参加|出席|到场|参会|集合|安排好时间|提前安排|做好准备|互相转告|相互转告)"
    r"|互相转告|相互转告|安排好时间|收到请回复|收到请回|[^,，。;；]{0,6}集合(?:出发)?$|(?:准时|按时)(?:哈|啊|哦)?$"
    r"|(?:能来的|有空的)(?:尽量|都)?来|(?:请|望)?(?:准时|按时)到会"
)
# A notice signed at its end ("第一联络组 12月1日"): the date there is when it was written.
_SIGNED_RE = re.compile(
    r"[\s\n]*(?:[\u4e00-\u9fff]{2,10}(?:联络组|政协|办公室))?[\s\n]*(?:\d{4}年)?\d{1,2}月\d{1,2}日?$"
)
_VERB_RE = re.compile(
    r"^\s*(?:的|开展|举行|召开|进行|组织|举办|集中|开(?=\s*(?:个|一个|一次)?\s*(?:会|座谈|研讨|学习|培训)))?\s*(?:(?:大家|各位委员|委员们|全体委员)(?!会))?(?:一起)?(?:去|到|赴|前往)?\s*(?:一次|一场|一个|个)?\s*"
)
_PLACE_WORD_RE = re.compile(
    r"(?:厂|局|院|室|村|镇|乡|馆|中心|公司|园|站|场|楼|政府|社区|学校|医院|街道|路|号|所|厅|基地|企业|大厦)$"
)
_KIND_HEAD_RE = re.compile(rf"^(?:{vocab.alternation(vocab.ACTIVITY_KINDS)})(?=\S)?")


_PLACE_RES = (
    re.compile(r"地点[:：为是在\s]*([^\s,，。;；）)]+)"),
    # 在县政协三楼会议室集体学习…: the place ends with a place's word, what happens there follows
    re.compile(
        r"在([^\s,，。;；]{2,30}?(?:会议室|会议厅|报告厅|会场|室|厅|楼|馆|中心|政府|社区|学校|医院|公司|厂|基地|大厦))"
        rf"(?=(?!会议[室厅楼中])(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|开展|举行|召开|进行|组织|举办|集合|集中))"
    ),
    re.compile(r"在([^\s,，。;；]{2,30}?)(?:开展|举行|召开|进行|组织|举办|集合|参加|集中|开)"),
    # 全体委员到县农业农村局开展…调研 / 到城东社区视察: where the group goes to hold it
    re.compile(
        r"(?:(?<![要想])去|到|赴|前往)([^\s,，。;；]{2,30}?)"
        rf"(?=开展|举行|召开|进行|组织|举办|(?:集体|专题)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)})(?:活动)?(?:$|[\s,，。;；]))"
    ),
    # 县政协三楼召开座谈会: a place's word right before what is held there, without 在
    re.compile(
        r"(?:^|\s)([^\s,，。;；]{2,30}?(?:会议室|会议厅|报告厅|会场|楼|馆|中心|政府|社区|学校|医院|大厦))"
        r"(?=\s*(?:召开|举行|开展|进行|组织|举办|集合|集中))"
    ),
    re.compile(r"(?<![\u4e00-\u9fff])在([^\s,，。;；]{2,30})"),
)


def _place(rest: str) -> tuple[str | None, str]:
    """(the place, the text without it): 地点：X, 在X召开…, 在X. The verb after it stays."""
    for pattern in _PLACE_RES:
        if m := pattern.search(rest):
            return m[1], rest[: m.start()] + " " + rest[m.end(1) :]
    return None, rest


def _title(rest: str) -> str | None:
    """The clause that says what happens, without the courtesy ("请大家准时参加") and the verbs."""
    clauses = [c.strip() for c in re.split(r"[,，。;；!！\n]", rest)]
    # "…集体学习二十届四中全会精神请准时参加": what happens, then the invitation in the same clause
    clauses = [c[: m.start()].strip(STRIP) if (m := INVITE_RE.search(c)) and m.start() > 0 else c for c in clauses]
    clauses = [
        c
        for c in clauses
        if _FORMAL_RE.sub("", c).strip(STRIP) and not INVITE_RE.search(c) and not COURTESY_RE.search(c)
    ]
    titled = [c for c in clauses if kind_named(c)] or clauses
    if not titled:
        return None
    title = _FORMAL_RE.sub(" ", titled[0]).strip(STRIP)
    title = re.sub(r"^(?:再次|温馨)?(?:提醒|提示)(?:一下|大家)?[:：\s]*", "", title)  # 提醒：明天…视察: a reminder's word
    for _ in range(2):  # 全体委员到 开展…调研: the people, where they go, then the verb
        title = _VERB_RE.sub("", title, count=1)
    return re.sub(r"\s+", " ", title).strip() or None


def _place_last(title: str) -> tuple[str, str | None]:
    """年终总结座谈会 县政协二楼会议室: (the title, the place) when the place is written last; 县医院 视察:
    first, before a piece that is only the kind."""
    pieces = title.rsplit(" ", 1)
    if len(pieces) == 2 and not kind_named(pieces[1]) and _PLACE_WORD_RE.search(pieces[1]):
        return pieces[0].strip(), pieces[1]
    if len(pieces) == 2 and not kind_named(pieces[0]) and _PLACE_WORD_RE.search(pieces[0]) and _KIND_ONLY_RE.match(pieces[1]):
        return pieces[1], pieces[0].strip()
    return title, None


def _fields(t: Text, body: str) -> Command:
    found, span, clock = when_and_time(t, body)
    rest = cut(cut(body, clock), span) if clock else cut(body, span)
    rest = re.sub(r"时间[:：]\s*(?=[\s,，。;；]|$)", " ", rest)
    place, rest = _place(rest)
    title = _title(rest)
    if place is None and title:
        # "视察 城区污水处理厂": what is visited is where; "学习 全会精神" is what is studied.
        m = _KIND_HEAD_RE.match(title)
        what = title[m.end() :].strip(STRIP) if m else ""
        visited = vocab.ACTIVITY_KINDS.get(m[0]) in ("inspection", "research", "collective") if m else False
        if what and (visited or _PLACE_WORD_RE.search(what)):
            place = what
            if not visited:  # "座谈会 县政协三楼": the meeting's title is the meeting, the floor its place
                title = m[0]
    if place is None and title:
        title, place = _place_last(title)
    # The kind is what happens (the title), not where: "在…会议室开展集体学习" is study, not a meeting.
    kind = kind_named(title or "") or kind_named(rest) or kind_named(body)
    return Command(
        "announce",
        date=found.date if found else None,
        time=found.time if found else None,
        kind=kind,
        title=clean(title),
        content=clean(place),
    )


_LAID_OUT_RE = re.compile(r"时间[:：]")
_POINT_RE = re.compile(r"(?:地点|内容|主题|地址|集合地点)[:：]")


# 下次活动是什么时候 / 这周有什么活动 / 明天有视察吗 / 最近的活动安排: asking what is coming.
_SCHEDULE_RE = re.compile(
    r"^(?:请问|问一下|问下)?(?:本组|我们组|咱们组|我们|咱们)?(?:下次|下一次|下回|最近|近期|接下来|今天|明天|后天|这周|本周|下周|这个月|本月|下个月|这几天|月底前)?"
    rf"(?:的)?(?:有|有没有|还有|都有|有什么|有啥|有哪些|都有哪些|是什么)?(?:什么|啥|哪些|几次|几个|几场)?(?:(?:{ACTIVITY_WORD}|活动)(?:安排|计划)?|安排|计划)"
    r"(?:吗|呢|么|不|没有|有哪些|有什么|(?:是)?(?:什么时候|啥时候|几点|几号|哪天|在哪里?|在哪儿|在什么地方|去哪里?|去哪儿|到哪里?)(?:开始|集合|出发|举行|召开|见|开|碰头)?)?[?？]?$"
)
# After a day (明天 / 周五): when and where, without naming the activity.
_WHEN_WHERE = r"(?:是)?(?:几点|什么时候|啥时候|在哪里?|在哪儿|在什么地方|去哪里?|到哪里?|哪里|地点是哪|地点在哪|几点结束|开到几点|几点散)"
_WHEN_WHERE_RE = re.compile(
    rf"^(?:的)?(?:活动|会|集合)?{_WHEN_WHERE}(?:集合|开始|出发|见|举行|开|碰头|到)?(?:来着|啊|呀|呢)?"
    rf"(?:[?？，,\s]*(?:{_WHEN_WHERE}|地点呢)(?:集合|开始|出发|见|举行|开)?(?:来着|啊|呀|呢)?)?[?？]*$"
)
_WEEK_WORD_RE = re.compile(r"这周|本周|下周|这个星期|下个星期|这礼拜|下礼拜|下个月|下月")  # ahead: no quota period
_ASKING_WORDS_RE = re.compile(r"[?？]|吗|呢|么|没有|什么|啥|哪|几点|几号|几次|几场|安排|计划|下次|下一次|最近|近期|接下来")


# 周五的视察取消了吗 / 明天的座谈会还开不开 / 还照常吗: whether it is still on (the schedule answers).
_STILL_ON_RE = re.compile(
    rf"^(?:请问|问一下|问下)?(?P<ref>.{{0,16}}?){ACTIVITY_WORD}?(?:是不是|是否)?(?:还)?"
    r"(?:取消了?(?:吗|没有?|么)|不(?:搞|开|办|去|举行)了(?:吗|么)|改期了(?:吗|没有?)|推迟了(?:吗|没有?)|"
    r"改(?:成|到|在|为)\S{0,10}?了(?:吗|没有?)|"
    r"还?(?:搞|开|办|去|举行|照常)(?:不(?:搞|开|办|去|举行)|吗|么)|(?:还)?照常(?:举行|进行|开)?(?:吗|么|不)|还有吗)[?？]*$"
)


# 提醒大家明天的视察 / 通知一下各位委员周五的学习: a leader asks the group be told of it (the schedule
# of that day, answered in the group).
_TELL_OF_RE = re.compile(
    r"^(?:请|麻烦)?(?:帮我|帮忙)?(?:提醒|通知)(?:一下|下)?(?:大家|各位|各位委员|全体委员|委员们|组员们)(?:参加|别忘了|记得)?"
    rf"(?P<ref>.{{0,10}}?)(?:的)?(?P<kind>{ACTIVITY_WORD}|活动)[。!！]*$"
)


def schedule(t: Text) -> Command | None:
    """下次活动是什么时候 / 这周有什么活动 / 明天有视察吗 / 周五的视察取消了吗: the group's coming
    activities (and, for a day, those called off or moved)."""
    bare = t.bare
    if told := _tell_of(t, bare) or _still_on(t, bare):
        return told
    found, span = when(t, bare)
    if span is None and (part := _PART_OF_TODAY_RE.match(bare)):  # 下午的会开到几点: today's
        found, span = When(t.now.date(), None, 0, part.end(), part[0]), (0, part.end())
    # 请问周五的活动在哪里集合: the day, wherever it is written, read apart from the question.
    asking = re.sub(r"^(?:请问|问一下|问下)?\s*(?:的)?", "", cut(bare, span).strip(STRIP)) if span else bare
    # 明天几点集合？在哪里 / 几点来着 (the next activity's, no day said)
    when_where = _WHEN_WHERE_RE.match(asking) and (span is not None or len(bare) <= 10)
    if len(bare) > 24 or not (when_where or _SCHEDULE_RE.match(asking)) or not _ASKING_WORDS_RE.search(bare):
        return _from_a_day_on(t, bare)
    week = _WEEK_WORD_RE.search(bare)
    asked = week[0] if week else period_word(t)
    return Command("schedule", date=found.date if found else None, kind=kind_named(bare), title=asked)


_PART_OF_TODAY_RE = re.compile(r"^(?:请问)?(?:上午|下午|中午|晚上|今晚)的")


def _tell_of(t: Text, bare: str) -> Command | None:
    """提醒大家明天的视察: that day's schedule."""
    if m := _TELL_OF_RE.match(bare):
        found, span = when(t, m["ref"])
        if found is not None and found.date is not None and not cut(m["ref"], span).strip(STRIP):
            return Command("schedule", date=found.date, kind=kind_named(m["kind"]))
    return None


def _still_on(t: Text, bare: str) -> Command | None:
    """周五的视察取消了吗 / 明天的座谈会还开吗: the schedule of the day (says if called off or moved)."""
    if (m := _STILL_ON_RE.match(bare)) and len(bare) <= 30 and not re.search(r"我|本人", m["ref"]):
        found, _span = when(t, m["ref"])
        if found is not None and found.date is not None or kind_named(m["ref"]) or re.search(ACTIVITY_WORD, bare):
            return Command("schedule", date=found.date if found else None, kind=kind_named(bare))
    return None


# 元旦后的活动什么时候 / 12月20日以后有什么活动 / 后面还有什么安排: from a day on, or all to come.
_AFTER_RE = re.compile(r"^(?:请问|问一下|问下)?(?P<ref>.{0,12}?)(?:以后|之后|过后|往后|后面|今后|后)(?:的)?(?P<ask>.+)$")


def _from_a_day_on(t: Text, bare: str) -> Command | None:
    """The schedule from the day named on (title 以后 with the date), or all to come (no date)."""
    m = _AFTER_RE.match(bare)
    if not m or len(bare) > 24 or not _SCHEDULE_RE.match(m["ask"]) or not _ASKING_WORDS_RE.search(bare):
        return None
    ref = re.sub(r"^(?:本组|我们组|咱们组|我们|咱们)", "", m["ref"].strip(STRIP))
    if not ref:
        return Command("schedule", kind=kind_named(bare), title="以后")
    found, span = when(t, ref)
    if found is None or found.date is None or span is None or cut(ref, span).strip(STRIP):
        return None
    return Command("schedule", date=found.date, kind=kind_named(bare), title="以后")


def announce(t: Text) -> Command | None:
    """发布活动 …/通知：…, or a leader's notice: 各位委员：定于12月16日…召开座谈会，请准时参加."""
    core = _SIGNED_RE.sub("", t.core) if len(t.core) > 30 else t.core
    if m := _LEAD_RE.match(core) or _WEEK_LEAD_RE.match(core):
        body = core[m.end() :]
        if not leave_signal(body) or core.startswith(("发布", "通知")):
            return _several(t, body) or _fields(t, body)
        return None
    if leave_signal(core):
        return None
    if _noticed(t, core) and when(t, core)[0] is not None:
        return _several(t, core) or _fields(t, core)
    if _terse(t, core):
        return _fields(t, core)
    return _meeting_at(t, core)


# 明天下午三点在政协三楼开会: a day, its hour and where the group meets (开会 alone is no kind: 单位开会
# is a reason), nothing else.
_MEETING_AT_RE = re.compile(r"^(?:在|到)(?P<place>[^\s,，。;；]{2,20}?)(?:开会|开个会|集中开会|开一个会)[。!！]*$")


def _meeting_at(t: Text, core: str) -> Command | None:
    found, span, clock = when_and_time(t, core)
    if found is None or found.date is None or (found.time is None and clock is None) or re.search(r"我|本人", core):
        return None
    rest = (cut(cut(core, clock), span) if clock else cut(core, span)).strip(STRIP)
    if not (m := _MEETING_AT_RE.match(rest)) or (found.date - t.now.date()).days > 120:
        return None
    if not (_PLACE_WORD_RE.search(m["place"]) or "政协" in m["place"]):
        return None  # 明天下午三点在单位开会: one's own meeting somewhere, no place of the group's
    time = found.time or _fields(t, core).time
    return Command("announce", date=found.date, time=time, kind="meeting", title="会议", content=m["place"])


_OVER_RE = re.compile(r"到此结束|圆满结束|已经结束|顺利结束|结束了|感谢大家|辛苦了|圆满完成")
_GOING_RE = re.compile(r"(?:去|到|赴|前往)[^\s,，。;；]{2,20}?(?:开展|举行|召开|进行|组织|举办)")


def _noticed(t: Text, core: str) -> bool:
    """Worded as a notice: 定于…召开, …请准时参加, 各位委员：…视察, points laid out, a place given."""
    if _OVER_RE.search(core) and not INVITE_RE.search(core):
        return False  # 各位委员，今天的座谈会到此结束，感谢大家: it is over, nothing to come
    named = kind_named(core)
    # 定于…召开 / 最后一次活动定在12月28日上午: a set day for something held
    formal = _FORMAL_RE.search(core) and (named or _HOLD_RE.search(core) or re.search(r"活动", core))
    held = _HOLD_RE.search(core) and (INVITE_RE.search(core) or t.to_everyone)
    addressed = t.to_everyone and named  # "各位委员：明天上午8:30集体视察…": a notice to the group
    # 一、时间：… 二、地点：… 三、内容：…: a notice laid out in points, forwarded or written.
    laid_out = _LAID_OUT_RE.search(core) and _POINT_RE.search(core)
    placed = _HOLD_RE.search(core) and re.search(r"地点|地址", core)  # "…召开座谈会 地点县政协二楼"
    # 下下周三上午去敬老院开展集体慰问活动: where the group goes to hold it (nobody's own plan: no 我)
    going = _HOLD_RE.search(core) and _GOING_RE.search(core) and not re.search(r"我|本人|俺", core)
    return bool(formal or held or addressed or laid_out or placed or going)


# 本周活动安排：… / 下周安排：…: a schedule of the days to come, one activity or several.
_WEEK_LEAD_RE = re.compile(
    r"^(?:本周|这周|下周|近期|本月|这个月|下个月|下月|近两周|最近)(?:的)?(?:活动安排|活动计划|活动预告|安排)[\s:：,，]*"
)
_ITEM_RE = re.compile(r"[,，;；\n]+|[。](?!$)|\s+(?=[1-9一二三四五][.、)）])")


def _several(t: Text, body: str) -> Command | None:
    """12月10日下午3点…座谈会，12月11日上午9点视察县人民医院: each clause with its own day and kind
    starts an activity, the clauses after it (地点…, 请准时参加) belong to it; None for fewer than two."""
    pieces: list[str] = []
    for clause in _ITEM_RE.split(body):
        clause = re.sub(r"^[1-9一二三四五][.、)）]\s*", "", clause.strip(STRIP))
        if not clause:
            continue
        found, _span = when(t, clause)
        if found is not None and found.dated and found.date is not None and kind_named(clause):
            pieces.append(clause)
        elif pieces:
            pieces[-1] += "，" + clause
    if len(pieces) < 2:
        return None
    items = tuple(_fields(t, piece) for piece in pieces)
    return replace(items[0], items=items)


def _terse(t: Text, core: str) -> bool:
    """12月10日下午3点 座谈会 县政协三楼: a day with its hour, a kind and perhaps a place, nothing else."""
    found, span, clock = when_and_time(t, core)
    if found is None or found.date is None or re.search(r"[?？吗呢]", core):
        return False
    if found.time is None and not re.search(r"上午|下午|晚上|早上|中午", found.text):
        return False  # 12月10日 座谈会: a day and a kind may be a question or a report; with its hour, a notice
    rest = cut(cut(core, clock), span) if clock else cut(core, span)
    rest = re.sub(r"(?:议题|主题|内容)[:：]\s*\S+", " ", rest)  # 议题：民营经济发展
    pieces = [p for p in re.split(r"[\s,，。;；]+", rest) if p]
    # a day past (12月5日 read as next year's) is rather a member telling what they did
    return _only_kind_and_place(pieces, soon=(found.date - t.now.date()).days <= 120)


def _only_kind_and_place(pieces: list[str], soon: bool) -> bool:
    """The pieces are one kind and at most one place, or 到城东社区视察 (the place and the kind in one,
    for a day soon to come) alone."""
    gone = [p for p in pieces if soon and _GONE_TO_RE.match(p)]
    held = [p for p in pieces if soon and _HELD_KIND_RE.match(p)]  # 开座谈会 / 召开学习会
    named = [p for p in pieces if p in gone or p in held or kind_named(p) and _KIND_ONLY_RE.match(p)]
    placed = [p for p in pieces if p not in named and _PLACE_WORD_RE.search(p) and len(p) <= 16]
    return len(named) == 1 and len(named) + len(placed) == len(pieces) and len(placed) <= (0 if gone else 1)


# 座谈会 / 集体视察 / 学习会: a piece that is only the activity's kind.
_KIND_ONLY_RE = re.compile(
    rf"^(?:集体|专题|集中|小组)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)})(?:会|活动)?$"
)


# 开座谈会 / 召开学习会 / 开展集体视察: the kind held, its verb before it.
_HELD_KIND_RE = re.compile(
    rf"^(?:开|召开|举行|开展|组织|进行)(?:个|一个|一次|一场)?(?:集体|专题)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)})(?:会|活动)?$"
)
# 到城东社区视察 / 去县医院调研 / 赴敬老院慰问: where the group goes and what it does there.
_GONE_TO_RE = re.compile(
    r"^(?:去|到|赴|前往)[\u4e00-\u9fff\w]{2,16}?(?:开展|进行)?"
    rf"(?:集体|专题)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)})(?:活动)?$"
)


def invited(t: Text) -> Command | None:
    """ "明天上午9点视察…，请大家准时参加": a date, a kind and an invitation make a notice."""
    if INVITE_RE.search(t.core) and kind_named(t.core) and not leave_signal(t.core) and when(t, t.core)[0]:
        return _fields(t, t.core)
    return None


# -- a leader's undo: cancel or change an activity ------------------------------------------------------

_CANCEL_LEAD_RE = re.compile(
    rf"^(?:取消(?:掉)?(?=\s*#\s*\d)|(?:取消|撤回|撤销|作废)(?:掉)?(?:本次|这次|这个|该)?(?=.{{0,16}}?{ACTIVITY_WORD}))"
)
_STOP = r"取消|不搞|不开|不办|不去|不举行|停止|暂停|作废"
_CANCEL_TAIL_RE = re.compile(
    rf"^(?P<ref>.{{0,24}}?){ACTIVITY_WORD}?\s*(?:#\s*\d+\s*)?(?:临时|暂时|因故)?"
    r"(?:取消了?|不搞了|不开了|不办了|不去了|不举行了?|停止|暂停|作废)(?:了)?[。！!]*$"
)
_CHANGE_VERB = r"(?:改到|改为|改成|改在|改至|调整到|调整为|调到|推迟到|延期到|延后到|提前到|挪到|换到|改期到|改期为|改期至|顺延到|推到)"
_CHANGE_RE = re.compile(rf"^(?P<ref>.{{0,24}}?)(?:的)?(?:时间|地点|日期)?{_CHANGE_VERB}(?P<new>.+)$")
_RESCHEDULE_RE = re.compile(
    rf"^(?P<ref>.{{0,24}}?){ACTIVITY_WORD}?(?:要|需要)?(?:改期|延期|推迟|延后|顺延|另行通知)"
)
_PLACE_CHANGE_RE = re.compile(
    r"^(?P<ref>.{0,24}?)(?:改地点|地点(?:改为|改到|改成|换到|换成|调整为|变更为|变为|调整到)|换个地方|换地方)[:：\s]*(?P<place>.*)$"
)
_NOTICE_PREFIX_RE = re.compile(r"^(?:紧急|重要)?(?:通知|提醒|告知)[:：\s]*")
_AFTERWORD_RE = re.compile(
    r"[,，。；;\s]*(?:具体)?(?:改期)?(?:时间|日期|改期时间)?(?:另行通知|待定|再通知|另定|另行安排)[。!！]*$"
    r"|[,，。；;\s]*(?:请|望)?(?:大家|各位)?(?:互相转告|相互转告|周知|知悉|留意)[。!！]*$"
)
_SUBMISSION_WORD_RE = re.compile(vocab.alternation(w for w in vocab.SUBMISSION_KINDS if len(w) >= 2))


def _ref(t: Text, ref: str) -> tuple[str | None, dt.date | None, str | None, bool]:
    """(number, date, kind, ok) of the activity a leader points at ("#2", "明天的视察", "活动")."""
    numbered = re.search(r"#\s*(\d{1,9})|(\d{1,9})\s*号活动|活动\s*(\d{1,9})", ref)
    found, span = when(t, ref) if ref.strip() else (None, None)
    named = bool(numbered or kind_named(ref) or re.search(ACTIVITY_WORD, ref))
    leftover = re.sub(
        rf"#\s*\d+|{ACTIVITY_WORD}|原定|原来|原计划|本次|这次|这个|那个|的|该", "", cut(ref, span)
    )
    ok = (named or found is not None) and len(leftover.strip(STRIP)) <= 6
    n = next((g for g in numbered.groups() if g), None) if numbered else None
    return n, _nearest(found, t.now.date()), kind_named(ref), ok


def _nearest(found: When | None, today: dt.date) -> dt.date | None:
    """The day an existing activity is pointed at by: 12月9日 said on 12月10日 is yesterday's, not next
    year's, as a date to come would be read (a year written out is kept)."""
    if found is None or found.date is None or re.search(r"\d{4}\s*年", found.text):
        return found.date if found else None
    if (found.date - today).days > 180:
        try:
            return found.date.replace(year=found.date.year - 1)
        except ValueError:
            return found.date
    return found.date


def _undo_text(t: Text) -> str:
    return _AFTERWORD_RE.sub("", _NOTICE_PREFIX_RE.sub("", t.core))


# 我就不去了 / 明天不去了，临时有事 / 明天的视察不去了: one's own absence (a leave); the group's only
# when the group is said (大家都不去了 / 全体不去了) — a leave filed by mistake is withdrawn with one word,
# an activity called off by mistake has told the whole group.
_NOT_GOING_RE = re.compile(r"(?:我|本人)\S{0,3}不去|^(?!.*(?:大家|全体|都|我们组|本组|咱们)).*不去了?")


def cancel_activity(t: Text) -> Command | None:
    """取消活动 #2 / 明天的视察取消了 / 原定本周五的学习取消，时间另行通知."""
    core = _undo_text(t)
    # "…取消了，镇里临时开会" / "因天气原因，明天的视察取消": one clause cancels, the others say why.
    said = next((c for c in re.split(r"[，,。；;]", core) if _CANCEL_TAIL_RE.match(c.strip())), None)
    if m := _CANCEL_LEAD_RE.match(core):
        ref = re.split(r"[，,。；;]", core[m.end() :], maxsplit=1)[0]
    elif said is not None and not _NOT_GOING_RE.search(said):  # 我就不去了 / 明天不去了: a leave
        core = said.strip()
        m = _CANCEL_TAIL_RE.match(core)
        ref = re.split(rf"临时|暂时|因故|{_STOP}", core[: m.end()])[0]
    else:
        return None
    if _SUBMISSION_WORD_RE.search(ref) or re.match(r"^\s*(?:刚才|刚刚|上一条|上一篇)", ref):
        return None  # 撤回刚才那篇调研报告: a note, not an activity
    target, date, kind, ok = _ref(t, ref)
    if not ok:
        return None
    return Command("cancel_activity", target=target, date=date, kind=kind)


def change_activity(t: Text) -> Command | None:
    """#2 改到12月18日下午3点 / 明天的视察改到周五 / #3 地点改为县政协二楼 / 活动延期."""
    core = _undo_text(t)
    if re.search(r"(?:了)?(?:吗|么|没有?|嘛)[?？]*$|[?？]$", core):
        return None  # 明天的视察改成线上了吗: a question (the schedule answers it)
    if m := _PLACE_CHANGE_RE.match(core):
        target, date, kind, ok = _ref(t, m["ref"])
        if not (ok or not m["ref"].strip()):
            return None
        return Command("change_activity", target=target, kind=kind, content=clean(m["place"]), ref_date=date)
    if m := _CHANGE_RE.match(core):
        target, date, kind, ok = _ref(t, m["ref"])
        if not ok or _SUBMISSION_WORD_RE.search(m["ref"]):
            return None
        found, span = when(t, m["new"])
        if found is not None and not found.dated:  # "周三的学习改到下午两点半": the same day, a new time
            found = replace(found, date=date)
        place = clean(re.sub(r"[,，。]?\s*(?:地点|时间)不变.*$", "", cut(m["new"], span)))
        if place:
            place = clean(re.sub(r"^(?:在|到)|(?:举行|召开|进行|开展)$", "", place))
        if found is not None and place and len(place) <= 1:
            place = None
        if place and re.fullmatch(r"(?:上午|下午|晚上|中午|早上|明天|后天)(?:的)?", place):
            place = None  # 改到下午: no hour said, no place either (the handler asks which)
        return Command(
            "change_activity",
            target=target,
            date=found.date if found else None,
            time=found.time if found else None,
            kind=kind,
            content=place,
            ref_date=date,
        )
    if m := _RESCHEDULE_RE.match(core):
        target, date, kind, ok = _ref(t, m["ref"] + "活动")
        if ok:
            return Command("change_activity", target=target, kind=kind, ref_date=date)
    return None


# -- check-in and past presence -----------------------------------------------------------------------

_CHECKIN_RE = re.compile(
    rf"^(?:现场|在现场|到场)?(?:我|本人|人)?(?:已经?|已|现在|刚刚?|也)?(?:来|在)?(?:{vocab.alternation(vocab.CHECKIN_WORDS)})"
    r"(?:了|啦|咯|喽|哈|啊)?"
    r"(?![表处点码家]|的时间|时间|地点|在哪|怎么|几点|方式|二维码|链接|的时候|的时|时|前|后|以后|之后|的人|的请|的委员|的同志)"
)
_CHECKIN_TAIL_RE = re.compile(
    r"(?:签到|报到|打卡|签个到|报个到|(?<![收得看听找想做遇碰接拿领买送提见])到了|已到|到场|在现场了?)(?:了|啦|咯|哈)?$"
)
# A clause that checks in, in a longer polite message: "特此签到", "现签到", "请予签到登记", "已到会场".
_CHECKIN_CLAUSE_RE = re.compile(
    rf"^(?:特此|现|现在|请予?|我|本人|已|先)*(?:{vocab.alternation(vocab.CHECKIN_WORDS)})(?:登记|一下)?(?:了)?$"
    rf"|^(?:今天的?)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动)?(?:我|本人|我们|我们[\u4e00-\u9fff]{{1,2}}个)(?:已经?|也|都)?"
    r"(?:到了|到位了|到场了|已到|都到了)$"
    r"|^(?:我|本人)?(?:已经?|已)?(?:按时|准时)?(?:到达|抵达|到了|到)[\u4e00-\u9fff]{0,14}?(?:现场|会场|会议室|地点)(?:了)?$"
    r"|^(?:我|本人)?(?:已经?|已)?(?:在|到)(?:会场|现场|会议室)(?:了)?$"
)
_SIGNED_SHORT_RE = re.compile(r"^(?:我|本人)?(?:已经?|已)签(?:了|好了|上了)?[。!！~]*$|^签(?:好了|上了|了)[。!！~]*$")  # 已签
_NAME_ARRIVED_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,4}?)(?:已经?|已|也)?到(?:了|啦)?$"
)  # "李秀英到": roll call
_ARRIVED_AT_RE = re.compile(r"^(?:我|本人)?(?:已|已经)?到\s+[\u4e00-\u9fff]{2,8}(?:了)?$")  # "到 新桥村"
_ARRIVED_RE = re.compile(
    r"^(?:(?:到|我到|来了|我来了|人到了|我在|在|已到|在的|到位|已到位|到了)[了啦咯喽哈呀啊~！!]*){1,3}$"
)
_NOT_CHECKIN_RE = re.compile(r"谁|哪些|哪位|几个|多少|吗|没|不|怎么|如何|表|在哪|几点|时间|督促|提醒|要求|通知|请各|请大家|组长们|各组长")
_ASKED_RE = re.compile(r"谁|哪些|哪位|几个|几次|几回|几篇|多少|吗|怎么|如何|在哪|几点")
_FORGOT_RE = re.compile(
    r"(?:忘记|忘了|忘|没来得及|来不及|漏了?|没)(?:签到|签|打卡)|补签|没签上|没签成|签不上|没打上卡|[没未]能签到|未签到|没有签到"
)
# 今天的视察 / 我今天参加了视察 / 参加了上午的座谈会: today's activity of the group, the kind right after
# (我今天参加了镇里的会议 is some other body's).
_OURS_TODAY_RE = re.compile(
    rf"(?:今天|今日)(?:上午|下午|晚上)?(?:的)?\s*(?:我)?(?:参加了|去了|出席了)?\s*(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动)"
    rf"|(?:参加了|去了|出席了)(?:今天|今日)?(?:上午|下午|晚上)的\s*(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动)"
)
_WAS_THERE_RE = re.compile(
    r"(?:我|本人)?(?:也|都|是|全程)?(?<![不没])(?:去了|参加了|到了|在场|去过|参加过|到场了|出席了|参加)"
)


# 8号的座谈我准时到 / 明天的视察我一定参加: saying one will come, which needs no record (签到 on the day).
_WILL_ATTEND_RE = re.compile(
    r"(?:我|本人)?(?:一定|肯定|准时|按时|会|能|可以|保证|届时)+(?:会|能)?(?:到|到场|参加|出席|去|过去|赶到)(?:的)?(?:哈|啊|呀)?$"
    r"|^(?:我|本人)?(?:报名|报个名)(?:参加)?$|^(?:我|本人)?(?:要|想)?(?:报名|报个名)(?:参加|参与)"
    r"|(?:我|本人)(?:也|都)?(?:参加|出席|去)(?:的)?$"
)
# Not one's own coming: a refusal, a leader's 请大家准时参加, or a check-in already (本人准时出席 after 签到).
# 下午的座谈我可能晚到一会: coming late — still a check-in on arrival.
_LATE_ARRIVAL_RE = re.compile(
    r"(?:可能|会|要|得|估计)?(?:晚到|迟到|晚点到|晚一点到|晚些到|晚一会儿?到?|晚点儿?过去|晚一点过去)"
    r"(?:一会儿?|一点|一些|[几\d一二三四五六七八九十两]{1,3}分钟|半小时|半个小时|一下)?(?:哈|啊|呀)?$"
    # 可能要晚半个小时到 / 晚十分钟到: how late, then the arrival
    r"|(?:可能|会|要|得|估计)*晚(?:半个?小时|[几\d一二三四五六七八九十两]{1,3}分钟|一个?小时|一会儿?|一点|些)(?:左右)?(?:到|过去|过来|来)(?:哈|啊|呀)?$"
)
_WONT_RE = re.compile(r"不|没法|无法|去不了|来不了|请假|有事|大家|各位|全体|签到|到了|已到|请(?:准时|按时|务必|届时)")
# 我今天有事晚点到 / 快到了: coming late is no leave for the reason given, nor there already.
_WONT_LATE_RE = re.compile(r"不|没法|无法|去不了|来不了|请假|大家|各位|全体|签到|已到|请(?:准时|按时|务必|届时)")
# 快到了 / 马上到 / 在路上了: on the way, not there yet (签到 on arrival).
_ON_THE_WAY_RE = re.compile(
    r"^(?:我|本人)?(?:已经|正)?(?:在路上了?|快到了|马上到了?|马上就到|就到了|一会儿?就到|很快就?到|这就到|马上过来|马上来|"
    r"正在赶过来|在赶过来的路上|在往那边赶|出发了|已经出发了)(?:了)?(?:哈|啊|呀|啦|哦)?[。!！~～]*$"
)


# 我会去的 / 我也去 / 我会参加的: said to the bot alone, of what is coming (the answer lists it).
_I_COME_RE = re.compile(r"^(?:我|本人)(?:也|都)?(?:会|一定|肯定)?(?:去|参加|出席|到)(?:的)?(?:哈|啊|呀)?$")


def will_attend(t: Text) -> Command | None:
    """8号的座谈我准时到 / 明天的视察我一定参加 / 报名: one will come (answered: 签到 on the day)."""
    bare = t.bare
    late = bool(_LATE_ARRIVAL_RE.search(bare) or _ON_THE_WAY_RE.match(bare))
    if len(bare) > 30 or (_WONT_LATE_RE if late else _WONT_RE).search(bare):
        return None
    if not (late or _WILL_ATTEND_RE.search(bare)):
        return None
    found, _span = when(t, bare)
    if found is None and late:  # 我可能晚到半小时 / 快到了: today's, said on the day
        return Command("will_attend", date=t.now.date(), kind=kind_named(bare), content="late")
    if found is None and not kind_named(bare) and not bare.startswith(("报名", "我报名")) and not _I_COME_RE.match(bare):
        return None  # "收到 会准时参加的": an acknowledgement of some notice, to what the bot cannot tell
    return Command(
        "will_attend", date=found.date if found else None, kind=kind_named(bare), content="late" if late else None
    )


# 今天的调研我签过了吗 / 我签到了没 / 我有没有签到: whether one is checked in (nothing recorded).
_CHECKED_IN_ASKED_RE = re.compile(
    r"(?:我|本人)(?:今天|刚才|刚刚)?(?:的)?(?:签(?:到)?(?:过|上|成功)?了(?:吗|没有?|么)|有没有签(?:到|上)|签没签(?:到|上)|签到(?:成功)?了没有?"
    r"|签到(?:记录)?(?:有吗|在吗|记上了吗|记上没))[?？]?$"
    # 签到了吗 / 今天签到了没有: asked with no one named, of the asker
    r"|^(?:今天)?(?:的)?(?:签到|签)(?:成功)?了(?:吗|没有?|么)[?？]?$"
)


def checked_in_asked(t: Text) -> Command | None:
    """今天的调研我签过了吗: the day's activity and whether the sender is checked in to it (target "asked")."""
    bare = t.bare
    if len(bare) > 20 or not _CHECKED_IN_ASKED_RE.search(bare):
        return None
    command = _today_or_stated(t, bare)
    return replace(command, target="asked")


def _today_or_stated(t: Text, text: str) -> Command:
    found, span = when(t, text)
    date = found.date if found else (None if span else t.now.date())
    return Command("checkin", date=date, time=found.time if found else None, kind=kind_named(text))


# 帮张三签个到 / 替李四签到: someone else's presence — a 补报 for today, which only a leader records.
_FOR_ANOTHER_RE = re.compile(r"^(?:请|麻烦)?(?:组长)?(?:帮|替|给|为)(?P<name>[\u4e00-\u9fff·]{2,4}?)(?:委员)?(?:也)?(?:签个到|签一下到|签到|签下到|报个到|报到)")


def checkin(t: Text) -> Command | None:
    """签到 / 到了 / 今天的视察我到了 / 我已按时到达县人民医院视察现场，特此签到 / 学习签到 唐丽萍."""
    if (m := _FOR_ANOTHER_RE.match(t.bare)) and is_name(m["name"]) and m["name"] not in ("我", "本人"):
        return Command("late", date=t.now.date(), kind=kind_named(t.bare), target=m["name"])
    command = _checkin(t)
    if command is not None and _ALSO_NOTE_RE.search(t.bare):
        return replace(command, content="also_note")  # the note in it is not recorded: the answer says so
    return command


# 我签到了，另外交一篇社情民意：…: a note after the check-in, which one message does not also record.
_ALSO_NOTE_RE = re.compile(rf"[,，。；;\s](?:另外|还有|顺便|同时)?(?:交|提交|报)?(?:一篇|一条|一份)?(?:{vocab.alternation(vocab.SUBMISSION_KINDS)})[:：]")


def _checkin(t: Text) -> Command | None:
    bare = t.bare
    head, _, tail = bare.rpartition(" ")
    if (
        head
        and re.fullmatch(r"[\u4e00-\u9fff]{2,8}", tail)
        and not kind_named(tail)
        and _CHECKIN_TAIL_RE.search(head)
    ):
        return _today_or_stated(t, head)  # the member's own name or the place, written after the check-in
    named = _NAME_ARRIVED_RE.match(bare)
    if (
        _SIGNED_SHORT_RE.match(bare)
        or _ARRIVED_RE.match(bare)
        or _CHECKIN_RE.match(bare)
        or _ARRIVED_AT_RE.match(bare)
        or (named and is_name(named["name"]))
    ):
        return _today_or_stated(t, bare)
    if len(bare) <= 25 and _CHECKIN_TAIL_RE.search(bare) and not _NOT_CHECKIN_RE.search(bare):
        return _today_or_stated(t, bare)
    clauses = [c.strip(STRIP) for c in re.split(r"[,，。;；!！\n\s]", bare)]
    if (
        len(bare) <= 80
        and not _ASKED_RE.search(bare)
        and any(_CHECKIN_CLAUSE_RE.match(c) for c in clauses if c)
    ):
        return _today_or_stated(t, bare)
    return None


def was_there(t: Text) -> Command | None:
    """ "4号视察我去了忘记签到了": present at a past activity, not checked in -> 补报; today's -> 签到."""
    core = t.bare
    present = _WAS_THERE_RE.search(core) and ACTIVITY_REF_RE.search(core)
    if len(core) > 60 or not (_FORGOT_RE.search(core) or present):
        return None
    if _ASKED_RE.search(core) or (leave_signal(core) and not _FORGOT_RE.search(core)):
        return None
    if INVITE_RE.search(core) and not _FORGOT_RE.search(core):
        return None  # …请准时参加: a leader's invitation, not one's own presence
    found, _span = when(t, core)
    date = past_leaning(found, t.now.date())
    if date is not None and date < t.now.date():
        return Command("late", date=date, kind=kind_named(core))
    spanned = past_span(core) if date is None else None
    if spanned in ("上周", "上个月", "上次"):  # 上周的座谈会我去了忘记签到了: this week's may be today's
        return Command("late", kind=kind_named(core), title=spanned)
    if _FORGOT_RE.search(core) or (date in (None, t.now.date()) and _OURS_TODAY_RE.search(core)):
        return _today_or_stated(t, core)  # 我今天参加了镇里的会议: some other body's meeting, no check-in
    return None
