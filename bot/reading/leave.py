"""请假: a member will not be at an activity (请假, 去不了, 家里有事) or was not (没去成, 未能参加):
the activity's date and kind, and the reason alone, as written."""

from __future__ import annotations

import re
from dataclasses import replace

from bot import vocabulary as vocab
from bot.dates import When
from bot.messages import Command
from bot.reading.text import (
    ACTIVITY_REF_RE,
    NOT_A_NAME_RE,
    STRIP,
    Text,
    cut,
    is_name,
    kind,
    kind_named,
    past_leaning,
    when,
)

LEAVE_RE = re.compile(  # not 请假条 / 请假单, the paper itself; not 没请假的 (those who did not)
    rf"(?<![没未不])(?<!不准)(?<!不能)(?<!不许)(?<!不要)(?<!不用)(?<!不得)(?<!不予)(?:我|本人)?(?:要|想|需要)?(?:{vocab.alternation(vocab.LEAVE_WORDS)})(?![条单表]|的)(?:一下|一天|半天|两天|一次)?(?:了)?"
)
PAST_LEAVE_RE = re.compile(vocab.alternation(vocab.PAST_LEAVE_WORDS))
# "未及时请假，特此补假说明": leave not asked in time is an excuse after the fact.
_LATE_EXCUSE_RE = re.compile(r"(?:未|没|没有|忘了|忘记)(?:及时|提前)?请假(?!的)|补假|补请假")
# "明天的视察我有事": being busy, said of an activity, is a leave too.
_BUSY_RE = re.compile(
    r"(?:临时|突然)?有(?:点|些|急|要紧的?|重要的?)?事|(?:要|得)?出差|身体不(?:舒服|适)|生病|住院|在外地|走不开"
)
# A notice's "如不能参加请提前请假" is about others' leave, not the sender's.
COURTESY_RE = re.compile(
    r"(?:如|若|如果|确实|实在|因故)[^,，。;；]{0,10}(?:请假|参加|出席|来)(?!不了|不成)"
    r"|有事的?[^,，。;；]{0,10}(?:请假|请|须|需|提前)"  # 有事的请假 asks others; 有事来不了 is one's own
    r"|(?:请假|不能参加|无法参加)[^,，。;；]{0,6}(?:的|者)[^,，。;；]{0,8}(?:请|须|需|提前|及时)"
    r"|(?:提前|及时|务必)[^,，。;；]{0,8}请假|(?:请|须|需|要|应)[^,，。;；]{0,4}(?:向|跟|和)[^,，。;；]{0,6}(?:请假|说明|报告)"
)
_HEDGE_RE = re.compile(r"^(?:我|本人)?(?:可能|恐怕|估计|怕是|应该|大概|也许|实在|确实|真的|就)*(?:会)?")
_REASON_FILLER_RE = re.compile(
    r"^(?:那天|当天|那时|到时候?|届时|那会儿?|当日)?[\s,，]*"
    r"(?:因为|由于|原因是?|理由是?|事由|请假原因|请假理由|需要|要|得)?[:：\s]*"
)
_POLITE_RE = re.compile(
    r"(?:请|望|敬请|恳请)?(?:组长)?(?:批准|批示|谅解|见谅|原谅)(?:为盼|谢谢)?|特此请假|特此说明|特此补假说明|谢谢(?:组长)?"
    r"|麻烦了|不好意思|抱歉|对不起|(?:我)?(?:跟|向|和)(?:你|您|组长)(?:请个假|请假|说一下|说一声|报告一下)"
    r"|^(?:收到|好的|明白|知道了)(?:了)?$|^\s*特此\s*$"
    r"|^\s*[\u4e00-\u9fff]{0,2}(?:组长|主任|老师|书记|主席|联络员)(?:您好|你好|好)?\s*$"  # 王组长 (addressed)
)
_ACTIVITY_WORDS_RE = re.compile(  # longest first: "的会" is the meeting, "单位开会" a reason
    rf"(?:的|这次|那次|本次|此次)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动|集体)(?:活动)?"
    r"|这次|那次|那天|当天|的|我|本人|那个|这个"
)
_PARTICLES = r"[了的啊呢吧哈哦呀我]+"


def own_clauses(text: str) -> list[str]:
    """The clauses that speak for the sender: a notice's courtesy clauses left out."""
    return [c for c in re.split(r"[,，。;；!！\n]", text) if not COURTESY_RE.search(c)]


def leave_signal(text: str) -> bool:
    """Does `text` say the sender will not be (or was not) there?"""
    return any(LEAVE_RE.search(c) or PAST_LEAVE_RE.search(c) for c in own_clauses(text))


def _reason_piece(piece: str, local: tuple[int, int] | None) -> str | None:
    piece_cut = cut(piece, local)
    without = PAST_LEAVE_RE.sub(" ", LEAVE_RE.sub(" ", piece_cut))
    without = _POLITE_RE.sub(" ", _LATE_EXCUSE_RE.sub(" ", without))
    touched = local is not None or without != piece_cut
    leftover = _HEDGE_RE.sub("", _ACTIVITY_WORDS_RE.sub("", without).strip(STRIP)).strip(STRIP)
    leftover = re.sub(r"^(?:了|啊|呢|吧|哈|哦|呀|去|参加|来|出席)+$", "", leftover)
    leftover = re.sub(r"上午|下午|中午|晚上|可能|也许|恐怕|估计|大概|应该|怕是|^先|^就", "", leftover).strip(STRIP)
    if not leftover or re.fullmatch(_PARTICLES, leftover):
        return None  # only the activity reference and the request: no reason in it
    if re.search(r"(?:我|本人)(?:会|能|可以|准时|按时)?(?:参加|去|来|到)(?:的)?$", piece):
        return None  # 下周三的座谈会我参加，…: the one the sender comes to, not a reason
    reason = without.strip() if touched else piece
    if touched:
        reason = re.sub(
            rf"^(?:的|我|本人)?\s*(?:的)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动)?\s*", "", reason
        )
        # 有事参加不了明天的视察: the activity after the reason, its day taken out
        reason = re.sub(rf"\s+(?:的)?(?:{vocab.alternation(vocab.ACTIVITY_KINDS)}|活动)$", "", reason)
    reason = _HEDGE_RE.sub("", reason.strip(STRIP)).strip(STRIP)
    reason = _REASON_FILLER_RE.sub("", reason).strip(STRIP)
    reason = re.sub(r"^因(?=..)", "", reason)  # 因出差 -> 出差, but keep 因病
    reason = re.sub(r"^(?:啊|呀|哈|哦|呢|吧)+", "", reason)  # 我去不了啊单位有事
    reason = re.sub(r"\s+(?:了|啊|呢)$", "", reason).strip(STRIP)
    return reason if reason and not re.fullmatch(_PARTICLES, reason) else None


def reason(text: str, span: tuple[int, int] | None) -> str | None:
    """What is left of a leave message once the request, the activity and the date are taken out."""
    reasons: list[str] = []
    pos = 0
    for piece in re.split(r"([,，。;；!！\n ]+)", text):
        start, pos = pos, pos + len(piece)
        if not piece.strip(STRIP):
            continue
        # The clause with the date in it may carry part of the reason.
        local = None
        if span and start < span[1] and span[0] < pos:
            local = (max(span[0] - start, 0), min(span[1] - start, len(piece)))
        found = _reason_piece(piece, local)
        if found:
            reasons.append(found)
    return "，".join(reasons) or None


# 帮周七请个假，他下周四去市里开会 / 替张三请假 明天的视察: a leave for someone else (target: the name).
_FOR_SOMEONE_RE = re.compile(
    r"^(?:请|麻烦)?(?:帮|替|给|代)(?P<name>[\u4e00-\u9fff·]{2,5}?)(?:委员|同志|老师)?(?:也|再|一起)?(?=请(?:个|一下|一天)?假|请一下假)"
)
_THIRD_PERSON_RE = re.compile(r"(?<!其)(?:他|她)(?:们)?(?!人)")
_FOR_ME_RE = re.compile(r"^(?:请|麻烦)?(?:帮|替|给)(?:我|本人)(?=请)")  # 帮我请个假: one's own


# 吴八请假的事您看一下: someone's request talked about, never the sender's own leave.
_ABOUT_ANOTHERS_RE = re.compile(
    r"^(?:这个|这条|那个|那条|他的|她的|你的)(?:请假|假)(?P<name3>)"
    r"|^(?P<name>我|本人|[\u4e00-\u9fff·]{2,5}?)(?:委员|同志)?(?:的)?(?:请假|请的假)(?:的事|这件事|那件事|这事|的申请|申请|那条|的那条)"
    r"|^(?P<name2>[\u4e00-\u9fff·]{2,5}?)(?:委员|同志)?的(?:请假|请的假|假)(?!条)"  # 张三的请假我看到了
)
_APPROVE_IT_RE = re.compile(r"批一下|批了吧|批准一下|给批了|给批一下|通过一下|同意一下")


# 请假要提前说 / 请假的话跟我说一声: how leave is asked, a rule said to all, no one's leave.
_RULE_OF_LEAVE_RE = re.compile(r"(?:请假|请个假)(?:要|需要|必须|得|应该|的话|请(?:提前|及时|务必)|一律|须|需|都要|都得|一定要)")
# 李四今天来不了，他家里有事: a leave for someone named first (the handler takes the sender's own name as theirs).
_NAMED_ABSENT_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,4}?)(?:委员|同志)?"
    r"(?=(?:今天|明天|后天|这次|本次|那天|\d{1,2}月\d{1,2}[日号]|\d{1,2}号)?\S{0,8}?(?:来不了|去不了|参加不了|不能来|不能参加|来不成|去不成)"
    # 张三明天请假 / 李四周五请个假: a day between the name and the request
    r"|(?:今天|明天|后天|大后天|周[一二三四五六日天]|星期[一二三四五六日天]|下周[一二三四五六日天]|\d{1,2}号|\d{1,2}月\d{1,2}[日号])(?:的\S{0,6}?)?(?:要)?(?:请假|请个假))"
)


_WHO_ASKED_RE = re.compile(r"(?:谁|哪些人|哪几位|几个人|多少人|几位)(?:要)?请(?:了)?假|(?:审批|处理)一下(?:请假|假条)|请假要批|要我批")
_ADDRESS_RE = re.compile(r"(?:组长|主任|老师|书记|主席|秘书长|联络员)$")
# 李四让我帮他请个假: the leave is 李四's, asked through the sender.
_ASKED_ME_RE = re.compile(r"^(?P<name>[\u4e00-\u9fff·]{2,4}?)(?:委员)?(?:让|叫|托|请|拜托)我(?:帮|替|给|代)?(?:他|她)?(?=请)")


def _someone(t: Text, name: str, after: str) -> bool:
    """李四 in 李四今天来不了: a name, not a day (明天, 周五) and not followed by the sender's own 我."""
    return (
        is_name(name)
        and not NOT_A_NAME_RE.search(name)
        and not _ADDRESS_RE.search(name)  # 王组长明天请假: the leader addressed, the sender's own leave
        and when(t, name)[0] is None
        and not re.match(r"\S{0,10}?(?:我|本人)", after)
    )


def leave(t: Text) -> Command | None:
    """请假 明天的视察 家里有事 / 下周三的去不成了 / 4号的视察没去成 / 明天的视察我有事 / 帮周七请个假."""
    if (rule := _RULE_OF_LEAVE_RE.search(t.core)) and not re.search(r"我|本人|俺", t.core[: rule.start()]):
        return None  # 请假要提前说 / 以后个别委员请假要写明事由: the rule, said to all
    if _WHO_ASKED_RE.search(t.core):
        return None  # 明天的活动谁请假 / 审批一下请假: a leader's question on others' leave
    if (m := _NAMED_ABSENT_RE.match(t.core) or _ASKED_ME_RE.match(t.core)) and _someone(
        t, m["name"], t.core[m.end() : m.end() + 12]
    ):
        if re.search(r"[吗么][?？]*$", t.core):
            return None  # 李四来不了吗: asked of someone, no leave
        rest = re.sub(r"^(?:说|讲|告诉我|跟我说)", "", _THIRD_PERSON_RE.sub("", t.core[m.end() :]))
        command = _own_leave(t.with_core(rest))
        return replace(command, target=m["name"]) if command is not None else None
    if m := _ABOUT_ANOTHERS_RE.match(t.core):
        name = m["name"] or m["name2"]
        if name is None:
            return None  # 这个请假理由不充分: a request talked about
        if name in ("我", "本人"):
            return Command("my", target="leave")  # 我请假的事您看一下: what became of it
        if is_name(name):  # a leader's 吴八的请假申请批一下 approves it; anyone else's is talk
            return Command("approve", target=name) if _APPROVE_IT_RE.search(t.core) else None
    if m := _FOR_ME_RE.match(t.core):
        return _own_leave(t.with_core(t.core[m.end() :]))
    m = _FOR_SOMEONE_RE.match(t.core)
    if m and is_name(m["name"]):
        rest = _THIRD_PERSON_RE.sub("", t.core[m.end() :])
        command = _own_leave(t.with_core(rest))
        return replace(command, target=m["name"]) if command is not None else None
    return _own_leave(t)


def _own_leave(t: Text) -> Command | None:
    own = "，".join(own_clauses(t.core))
    said = LEAVE_RE.search(own)
    past = PAST_LEAVE_RE.search(own) or _LATE_EXCUSE_RE.search(own)
    if not (said or past):
        busy = _BUSY_RE.search(own)
        if not busy:
            return None
        found, _span = when(t, own)
        if found is None and not ACTIVITY_REF_RE.search(own[: busy.start()]):
            return None  # "有事请联系我": busy, but about no activity
    found, span = _leave_clause_day(t, own) or _activity_day(t, own, *when(t, own))
    date = found.date if found else None
    if found is None and re.search(r"(?<![明后昨])(?:上午|下午|中午|晚上|今晚)的", own):
        date = t.now.date()  # "下午的视察我去不了了": today's
    if (
        found is not None
        and re.search(r"底|末", found.text)
        and (re.match(r"\s*(?:前|之前|以前|的活动都|都)", own[found.end :]) or own[: found.start].endswith("到"))
    ):
        date = None  # "年底之前的活动都来不了" / "我请假到月底": a stretch of time, not one activity's day
    elif past and found is not None:
        date = past_leaning(found, t.now.date())  # "4号的视察没去成": an excuse after the fact
    this_one, why = _without_a_day(own, reason(own, span)) if date is None else (None, reason(own, span))
    return Command(
        "leave",
        date=date,
        time=found.time if found else None,
        kind=_kind_of(own, span, why),
        reason=why,
        title=this_one,
    )


def _activity_day(
    t: Text, text: str, found: When | None, span: tuple[int, int] | None
) -> tuple[When | None, tuple[int, int] | None]:
    """我下周三要去省里学习，12月10号的座谈会来不了: of two days, the one the activity is named after
    (the other belongs to the reason)."""
    if found is None or span is None or _names_activity(text, span[1]):
        return found, span
    later, at = when(t, text[span[1] :])
    if later is None or at is None or not _names_activity(text, span[1] + at[1]):
        return found, span
    shift = span[1]
    return replace(later, start=later.start + shift, end=later.end + shift), (at[0] + shift, at[1] + shift)


def _leave_clause_day(t: Text, text: str) -> tuple[When, tuple[int, int]] | None:
    """下周三的座谈会我参加，下周五的视察去不了: of clauses with days of their own, the one that asks leave."""
    clauses = [(m.start(), m[0]) for m in re.finditer(r"[^,，。;；!！\n]+", text)]
    dated = [(start, c) for start, c in clauses if when(t, c)[0] is not None]
    if len(dated) < 2:
        return None
    for start, clause in dated:
        if LEAVE_RE.search(clause) or PAST_LEAVE_RE.search(clause):
            found, at = when(t, clause)
            if found is not None and at is not None:
                return replace(found, start=found.start + start, end=found.end + start), (at[0] + start, at[1] + start)
    return None


def _names_activity(text: str, end: int) -> bool:
    m = _REFERENCED_RE.match(text, end)
    return bool(m and m["what"])


_STRETCH_RE = re.compile(
    r"(?P<w>这周|本周|这个星期|这礼拜|下周|下个星期|下礼拜|这个月|本月|下个月|这几天|这段时间|近期|最近一段时间)(?=\S{0,12}?(?:都|全部|一律|活动))"
    r"|请(?:个)?假(?P<n>一周|一个星期|两周|两个星期|三天|两天|四天|五天|一个月|半个月|十天)"
    r"|请(?P<n2>一周|一个星期|两周|两个星期|三天|四天|五天|一个月|半个月|十天)(?:的)?假"  # 我请三天假
    r"|(?P<until>到月底|到年底|到月末|到下个月)"
)
_STRETCH_WORDS_RE = re.compile(r"^(?:这周|本周|下周|这个月|本月|下个月|这几天|这段时间|近期)?(?:的)?(?:活动)?(?:我)?(?:都|全部)?[，,\s]*|^(?:一周|三天|两天|四天|五天|一个月|半个月|十天|到月底|到年底|到)$")
_STRETCH_CANON = {"这周": "本周", "这个星期": "本周", "这礼拜": "本周", "下个星期": "下周", "下礼拜": "下周", "这个月": "本月",
                  "这几天": "近期", "这段时间": "近期", "最近一段时间": "近期", "到月末": "到月底", "一个星期": "一周", "两个星期": "两周"}


_NEXT_ONE_RE = re.compile(
    rf"(?:下次|下一次|下回|下一回)(?:的)?(?:{vocab.alternation([*vocab.ACTIVITY_KINDS, '活动', '会'])})?"
)


def _without_a_day(own: str, why: str | None) -> tuple[str | None, str | None]:
    """(which, the reason) of a leave naming no day: 这次视察我去不了了 — the one at hand (the handler
    takes today's, if one is coming); 这周的活动都参加不了 / 请假一周 / 我请假到月底 — every activity of a
    stretch of days, whose words are then no part of the reason."""
    if re.search(r"这次|本次|此次|这回", own):
        return "这次", why
    if _NEXT_ONE_RE.search(own):  # 下次活动我去不了: the first one coming, no reason in those words
        rest = _NEXT_ONE_RE.sub("", why or "").strip(STRIP) if why else None
        return "下次", rest or None
    stretch = _stretch(own)
    if stretch and why:
        pieces = (_STRETCH_WORDS_RE.sub("", p).strip(STRIP) for p in why.split("，"))
        why = "，".join(p for p in pieces if p and p not in ("都", "全部", "到")) or None
    return stretch, why


def _stretch(text: str) -> str | None:
    """本周 / 下周 / 本月 / 下个月 / 近期 / 一周 / 三天 / 到月底…: the stretch a leave covers, if one is said."""
    m = _STRETCH_RE.search(text)
    if m is None:
        return None
    word = m["w"] or m["n"] or m["n2"] or m["until"]
    return _STRETCH_CANON.get(word, word)


_REFERENCED_RE = re.compile(
    rf"\s*(?:的|那个|那次|这次)*\s*(?P<what>{vocab.alternation([*vocab.ACTIVITY_KINDS, '活动', '会'])})?"
)


_DETERMINED_KIND_RE = re.compile(
    rf"(?:的|那个|这个|那次|这次|本次|此次)\s*(?P<what>{vocab.alternation(vocab.ACTIVITY_KINDS)})"
)


def _kind_of(text: str, span: tuple[int, int] | None, why: str | None) -> str | None:
    """The kind of the activity the leave is for: named right after its date ("周五的活动", "明天的视察"),
    else named outside the reason ("…要去参加种植培训" names the reason's training, not the activity)."""
    if span is not None:
        m = _REFERENCED_RE.match(text, span[1])
        if m and m["what"]:
            # "礼拜一上午的会": the meeting; "周五的活动": an activity of no kind said.
            return "meeting" if m["what"] == "会" else vocab.ACTIVITY_KINDS.get(m["what"])
    if m := _DETERMINED_KIND_RE.search(text):  # 过两天那个视察俺怕是去不了: the one pointed at
        return vocab.ACTIVITY_KINDS[m["what"]]
    rest = text.replace(why, " ") if why else text
    if why and rest == text:  # 我那天要去市里开会: the reason, not written in one piece, piece by piece
        for piece in why.split("，"):
            rest = rest.replace(piece, " ") if piece else rest
    return kind_named(rest) or kind(rest)
