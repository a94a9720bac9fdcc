"""Commands introduced by their own verb: 绑定, 撤回, 补报, 采用/批示 #12, 停用/启用, 导出."""

from __future__ import annotations

import re
from dataclasses import replace

from bot import vocabulary as vocab
from bot.messages import Command
from bot.reading.text import (
    ACTIVITY_REF_RE,
    GROUP_RE,
    KIND_RE,
    NOT_A_NAME_RE,
    PERIOD_RE,
    SEP_RE,
    STRIP,
    Text,
    clean,
    cut,
    is_name,
    kind,
    kind_named,
    number,
    past_leaning,
    past_span,
    target_word,
    when,
)

# -- 绑定 ---------------------------------------------------------------------------------------------

_BIND_RE = re.compile(r"^(?:我要|请|帮我)?(?:绑定|绑个号|绑一下|绑个账号)(?:身份|账号|一下)?")
_I_AM_RE = re.compile(r"^(?:我是|我叫|本人)(?=[\u4e00-\u9fff·]{2,5}[\s,，:：]*(?:手机号?码?|电话)?[:：\s]*(?:\+?86)?1\d)")
# 王小明 13900001234 / 我的手机号是13900001234: a name and a mobile alone (or the mobile only: asked for both).
_NAME_PHONE_RE = re.compile(
    r"^(?=[\u4e00-\u9fff·]{2,4}[\s,，:：]*(?:手机号?码?|电话)?[:：\s]*(?:\+?86)?1\d{10}$)"
    r"|^(?:我的)?(?:手机号?码?|电话)(?:号码)?(?:是|为)?[:：\s]*(?=(?:\+?86)?1\d{10}$)"
)
_PHONE_RE = re.compile(r"(?:\+?86[\s-]*)?(1[\s-]*(?:\d[\s-]*){9}\d)")


# 我想改一下我的手机号 / 我换组了，现在是第二联络组: the roster, which the office keeps.
_ROSTER_CHANGE_RE = re.compile(
    r"(?:改|换|修改|更改|变更|更新)(?:一下)?(?:我的)?(?:手机号码?|电话(?:号码)?|联系方式|名字|姓名)"
    r"|(?:我|本人)(?:已经|想|要|需要|申请|能不能|可以)?(?:换|调|转|分)(?:到|去|进)?(?:了)?(?:第[一二三四五六七八九十\d]{1,3}(?:联络)?组|别的组|其他组|组了|新组)"
    r"|^(?:我|本人)(?:现在|已经)(?:在|是|属于|分在|调到)第[一二三四五六七八九十\d]{1,3}(?:联络)?组(?:了|的)?$"
    r"|(?:手机号码?|电话)(?:换了|改了|变了)"
)


def roster_change(t: Text) -> Command | None:
    """我想改一下我的手机号 / 我换组了: answered with who keeps the roster (nothing changed)."""
    return Command("roster_change") if len(t.bare) <= 40 and _ROSTER_CHANGE_RE.search(t.bare) else None


def bind(t: Text) -> Command | None:
    """绑定 张三 13800001234 / 我是张三 13800001234: target the name, content the mobile's digits."""
    m = _BIND_RE.match(t.core) or _I_AM_RE.match(t.core) or _NAME_PHONE_RE.match(t.core)
    if not m:
        return None
    rest = t.core[m.end() :]
    phone = _PHONE_RE.search(rest)
    if phone:
        digits = re.sub(r"\D", "", phone[1])
        rest = rest[: phone.start()] + " " + rest[phone.end() :]
    else:
        digits = re.sub(r"\D", "", rest) or None
        rest = re.sub(r"[\d+\-]", " ", rest)
    rest = re.sub(r"姓名|手机号?码?|电话", " ", rest)
    name = next((w for w in SEP_RE.split(rest) if w.strip(STRIP)), None)
    return Command("bind", target=clean(name), content=digits)


# -- 撤回 ---------------------------------------------------------------------------------------------

_WITHDRAW_LEAVE_RE = re.compile(
    r"^(?:刚才|刚刚|上一条|之前)?(?:的)?(?:那条|那个)?(?:我|本人)?(?:的)?(?:(?:要|想)?(?:取消|撤回|撤销|收回)(?:我的|一下|我)?(?:那个|之前的|刚才的|[^，,。\s]{1,6}?的)?请假|不请假了|"
    r"请假(?:申请)?(?:我)?(?:要|想)?(?:取消|撤回|撤销|作废)(?:了|吧)?|又能(?:去|参加)了|可以参加了|能参加了|"
    r"(?:请假|假)?不请了|"
    r"[^，,。\s]{0,12}?(?:又能|还是能|又可以|还是可以)(?:去|参加|来|出席)了?)"  # 我18号又能去了: the leave no longer needed
)
# 明天能去了，请假撤回 / 组长，我的假不用批了，我能去: the leave undone, said after a pause.
_LEAVE_UNDONE_RE = re.compile(
    r"(?:^|[，,。\s])(?:我的)?(?:请假|假)(?:申请)?(?:撤回|取消|撤销|作废|不用批了|不用请了|不请了)(?:了|吧)?(?=$|[，,。!！\s])"
)
_ASKED_DONE_RE = re.compile(r"(?:取消|撤回|撤销|删除|删掉|作废)(?:了|掉了|成功了)(?:吗|么|没有?|嘛)[?？]*$")
_WITHDRAW_RE = re.compile(r"^(?:我要|我想|请|帮我|麻烦)?(?:撤回|撤销|收回|删除|删掉|作废)")
_LAST_RE = re.compile(r"^(?:上一条|上一篇|刚才|刚刚|最近|最新|前面)?(?:的|那条|那篇|一条|一篇|发的)?")
# "刚发的建议有错别字 撤回一下" / "我刚才提交的调研报告有误，请予撤回": something sent, asked back.
_SENT_BEFORE_RE = re.compile(r"刚才|刚刚|刚发|刚交|刚提交|上一条|上一篇|前面|之前|刚")
_ASK_BACK_RE = re.compile(
    r"(?:请予?|帮我|麻烦|申请|要|想)?(?:撤回|撤销|删掉|删除|作废|撤了|撤掉|撤下来)(?:一下|吧|了|掉)?"
)


# 刚才那条不算 / 刚发的那篇不要了 / 刚才发错了: the last one sent, taken back in a few words.
_DISOWN_RE = re.compile(
    r"^(?:刚才|刚刚|刚|上一条|上一篇|前面)(?:发|交|提交|报)?(?:的)?(?:那条|那篇|那个|这条|一条)?(?P<what>[^，,。\s]{0,6}?)"
    r"(?:不算|不算数|不作数|不要了|别算了|作废|删了|删掉|删除|发错了|交错了)(?:了|吧|啊)?[。!！]*$"
)
_PART_RE = re.compile(r"日期|时间|标题|题目|名字|地点|内容|字")  # 刚才的日期不算: a part to correct


_BA_WITHDRAW_RE = re.compile(
    r"^(?:麻烦|请)?(?:我想|我要|我需要|我|想|要)?(?:帮我|帮忙|你)?把(?P<what>[^，,。；;]{0,16}?)(?:撤回|撤销|删掉|删除|作废|撤了|撤掉|撤下来)(?:吧|一下|了|掉)?$"
)


def withdraw(t: Text) -> Command | None:
    """撤回 #12 / 撤回刚才的社情民意 / 刚才那条建议发错了，撤回 / 不请假了 (target "leave")."""
    if _ASKED_DONE_RE.search(t.core):
        return None  # 我的请假取消了吗: a question on one's leave (queries.my_leave), not a withdrawal
    if (m := _WITHDRAW_LEAVE_RE.match(t.core)) or (len(t.core) <= 30 and _LEAVE_UNDONE_RE.search(t.core)):
        found, _span = when(t, t.core)  # "撤回我周四的请假" / "我的请假撤回，后天能去了": which one
        return Command("withdraw", target="leave", date=found.date if found and found.dated else None)
    if m := _WITHDRAW_RE.match(t.core):
        return _withdraw_what(t.core[m.end() :])
    if m := re.match(r"^#\s*(\d{1,9})\s*(?:号)?\s*(?:撤回|撤销|删除|删掉)(?:吧|一下)?$", t.core):
        return Command("withdraw", target=m[1])  # #12 撤回
    if m := _BA_WITHDRAW_RE.match(t.bare):  # 麻烦帮我把昨天那篇社情民意撤回
        target, rest = number(m["what"])
        kw = target_word(rest)
        return Command("withdraw", target=target or (kw if kw != "checkin" else None))
    if (m := _DISOWN_RE.match(t.bare)) and not _PART_RE.search(m["what"]):
        kw = target_word(m["what"])
        return Command("withdraw", target=kw) if kw != "checkin" else None
    asked = _ASK_BACK_RE.search(t.core)
    if asked and len(t.core) <= 60 and _SENT_BEFORE_RE.search(t.core[: asked.start()]):
        kw = target_word(t.core[: asked.start()])
        return Command("withdraw", target=kw if kw != "checkin" else None)
    return None


def _withdraw_what(said: str) -> Command | None:
    """After 撤回: a number, or the kind of the sender's latest (a check-in is not taken back)."""
    target, rest = number(said)
    rest = _LAST_RE.sub("", rest.strip(STRIP), count=1).strip(STRIP)
    rest = re.split(r"[，,。；;]", rest, maxsplit=1)[0]  # what follows the first pause is the reason
    if len(rest) > 12:
        return None  # "撤回了对方案的支持，因为……": a sentence, not a command
    if target:
        return Command("withdraw", target=target)
    kw = target_word(rest)
    return Command("withdraw", target=kw if kw != "checkin" else None)


# -- 补报 ---------------------------------------------------------------------------------------------

_LATE_RE = re.compile(r"^(?:我要|我想|请|帮我|麻烦)?(?:补报|补签到?|补个签到?|补一下签到|补个到|补一下到)")
_LATE_FOR_RE = re.compile(
    r"^(?:请|麻烦)?(?:帮|给|替|为)(?P<name>[\u4e00-\u9fff·]{2,5}?)(?:委员)?(?:补报|补签到?|补个签到?)"
)
# 帮我补一下昨天的签到 / 补个上周五的到: the day between the verb and the check-in.
_LATE_DAY_RE = re.compile(
    r"^(?:我要|我想|请|帮我|麻烦|麻烦帮我)?补(?:一下|个|上|一个)?(?P<rest>[^，,。；;]{1,12}?)的?(?:签到|到)(?:吧|一下)?$"
)
_LATE_TAIL_RE = re.compile(r"(?:特此|申请|现|请予|请)(?:补报|补签)(?:签到|出勤)?(?:登记)?[。!！]*$")
_FILLER_RE = re.compile(r"^(?:因为|由于|原因是?|理由是?|事由|请假原因|请假理由|需要|要)[:：\s]*")


def _late_body(t: Text, rest: str) -> Command:
    rest = rest.strip(STRIP)
    found, span = when(t, rest)
    date = past_leaning(found, t.now.date())
    body = KIND_RE.sub(" ", cut(rest, span))
    body = re.sub(r"签到|出勤|出席|参加|活动|的|一下", " ", body)
    words = [w for w in SEP_RE.split(body) if w.strip(STRIP)]
    target = None
    # "补报 张三 11月5日 签到": a leader reports for a member, whose name comes first.
    first = words[0] if words else ""
    if (
        re.fullmatch(r"[\u4e00-\u9fff·]{2,5}", first)
        and not NOT_A_NAME_RE.search(first)
        and not past_span(first)
        and rest.startswith(first)
    ):
        target, words = first, words[1:]
    reason = clean(_FILLER_RE.sub("", " ".join(words))) if words else None
    spanned = past_span(rest) if date is None else None
    return Command("late", date=date, kind=kind(rest), target=target, reason=reason, title=spanned)


def late(t: Text) -> Command | None:
    """补报 11月5日 视察 签到 / 帮陈立新补报上周五的学习 / …未能签到，特此补报."""
    if re.match(r"^补报(?:的事|这事|那事|的情况)", t.core):
        return None  # 补报的事我跟组长说过了: talk of it
    if (m := _LATE_FOR_RE.match(t.core)) and is_name(m["name"]):
        return replace(_late_body(t, t.core[m.end() :]), target=m["name"])
    if m := _LATE_RE.match(t.core):
        return _late_body(t, t.core[m.end() :])
    if (m := _LATE_DAY_RE.match(t.bare)) and (when(t, m["rest"])[0] or past_span(m["rest"])):
        return _late_body(t, m["rest"])
    if (m := _LATE_TAIL_RE.search(t.core)) and ACTIVITY_REF_RE.search(t.core[: m.start()]):
        found, _span = when(t, t.core)
        date = past_leaning(found, t.now.date())
        return Command("late", date=date, kind=kind_named(t.core), title=past_span(t.core) if date is None else None)
    return None


# -- the office: 采用, 批示, 停用/启用 -------------------------------------------------------------------

_ADOPT_RE = re.compile(r"^(?:标记)?采用(?=\s*[#]?\s*\d)")
# The rest of a note's journey, each an office verb before the note's number (README "社情民意的流转").
_JOURNEY_RE = re.compile(r"^(?P<verb>退回|退改|编报|编发|刊发|报送|上报|反馈|办理反馈)(?=\s*[#]?\s*\d)")
_JOURNEY_INTENTS = {
    "退回": "return_note",
    "退改": "return_note",
    "编报": "bulletin",
    "编发": "bulletin",
    "刊发": "bulletin",
    "报送": "report_up",
    "上报": "report_up",
    "反馈": "feedback",
    "办理反馈": "feedback",
}
_INSTRUCT_RE = re.compile(r"^(?:领导)?批示(?=\s*[#]?\s*\d)")
_ADOPTED_RE = re.compile(
    r"^#?\s*(?P<n>\d{1,9})(?:号|篇)?\s*(?:已经?|已)?(?:被|获|由)?(?P<by>.{0,12}?)(?:采用|采纳)(?:了)?$"
)
_INSTRUCTED_RE = re.compile(
    r"^#?\s*(?P<n>\d{1,9})(?:号|篇)?\s*(?:已经?|已)?(?:被|获|得到|由)?(?P<by>.{1,20}?)(?:批示|肯定性批示)(?:了)?$"
)
# 赵六那篇留守老人的社情民意被市政协采用了: the note named by its author and what it is about.
_ADOPTED_BY_AUTHOR_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,5}?)(?:委员)?(?:那篇|这篇|那条|这条|那份|交的|写的|提交的|反映的|报的|的)+"
    rf"(?P<topic>.{{0,30}}?)(?:的)?(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})?(?:信息)?\s*"
    r"(?:已经?|已)?(?:被|获|由)(?P<by>.{1,12}?)(?:采用|采纳)(?:了)?[。!！]*$"
)
_NUMBERED_VERB_RE = re.compile(r"^#\s*(?P<n>\d{1,9})(?:号)?\s*(?P<verb>批示|采用)[\s:：]+(?P<rest>.+)$")
_LEVELS = {"县": "县级", "区": "县级", "市": "市级", "省": "省级", "全国": "全国", "国家": "全国"}


def _level(words: str) -> str | None:
    """县政协 -> 县级, 市级 -> 市级: the level an adoption names, else the words as written."""
    words = words.strip(STRIP)
    for key, level in _LEVELS.items():
        if words.startswith(key):
            return level
    return words or None


# #12 退回，请补充… / 把#9报送市政协: the office's verb after the number, read as 退回 #12 ….
_NUMBER_FIRST_RE = re.compile(
    r"^(?:把|将)?\s*#\s*(?P<n>\d{1,9})\s*(?:号)?\s*(?:这篇|那篇|材料)?\s*(?:已经|已)?\s*"
    r"(?P<verb>退回|退改|编报|编发|刊发|报送|上报|反馈|办理反馈)(?:到|给|至)?"
)
# #12 县委书记批示：请相关部门办理 / #12 交通局已办理: who first, then the instruction or the handling.
_WHO_FIRST_RE = re.compile(
    r"^#\s*(?P<n>\d{1,9})\s*(?:号)?\s*(?P<who>[\u4e00-\u9fff]{2,12}?)"
    r"(?:(?P<said>批示)[:：\s]*|(?P<done>(?:已经|已)(?:办理|办结|答复|回复|落实|整改)(?:完毕|完成|了)?))(?P<rest>.*)$"
)


def _verb_first(core: str) -> str:
    if m := _WHO_FIRST_RE.match(core):
        if m["said"]:
            return f"批示 #{m['n']} {m['who']}：{m['rest'].strip()}"
        return f"反馈 #{m['n']} {m['who']}{m['done']}{m['rest']}"
    m = _NUMBER_FIRST_RE.match(core)
    return f"{m['verb']} #{m['n']} {core[m.end() :]}" if m else core


def returned(t: Text) -> Command | None:
    """退回 #12 理由: a note sent back (the handler hands a leader's 退回 #3 on to the leave's 驳回)."""
    core = _verb_first(t.core)
    m = _JOURNEY_RE.match(core)
    if m is None or _JOURNEY_INTENTS[m["verb"]] != "return_note":
        return None
    target, rest = number(core[m.end() :])
    return Command("return_note", target=target, reason=clean(rest) or None)


def office(t: Text) -> Command | None:
    """采用/批示 #12, "#2 被县政协采用了", 停用/启用 张三."""
    core = _verb_first(t.core)
    if m := _ADOPT_RE.match(core):
        target, rest = number(core[m.end() :])
        # 采用 #12 省政协《各界反映》: content the level, title the outlet as written.
        return Command("adopt", target=target, content=_level(rest), title=clean(rest) or None)
    if (m := _JOURNEY_RE.match(core)) and (intent := _JOURNEY_INTENTS[m["verb"]]) != "return_note":
        target, rest = number(core[m.end() :])
        return Command(intent, target=target, content=clean(rest) or None)
    if m := _INSTRUCT_RE.match(core):
        target, rest = number(core[m.end() :])
        return Command("instruct", target=target, content=clean(rest))
    if m := _NUMBERED_VERB_RE.match(core):  # "#5 批示 县委书记：…" / "#12 采用 市级"
        if m["verb"] == "采用":
            return Command("adopt", target=m["n"], content=_level(m["rest"]))
        return Command("instruct", target=m["n"], content=clean(m["rest"]))
    if m := _ADOPTED_RE.match(core):
        return Command("adopt", target=m["n"], content=_level(m["by"]))
    if m := _INSTRUCTED_RE.match(core):
        return Command("instruct", target=m["n"], content=clean(m["by"]))
    return _adopted_by_author(core) or _active(core)


def _adopted_by_author(core: str) -> Command | None:
    """赵六那篇留守老人的社情民意被市政协采用了: target the author, reason the topic's words."""
    m = _ADOPTED_BY_AUTHOR_RE.match(core)
    if m is None or not is_name(m["name"]) or not (m["topic"] or m["kw"]):
        return None
    topic = re.sub(r"^关于|(?:的)?(?:建议|问题|意见|情况)$", "", m["topic"]).strip(STRIP)
    return Command(
        "adopt",
        target=m["name"],
        content=_level(m["by"]),
        kind=vocab.SUBMISSION_KINDS[m["kw"]] if m["kw"] and len(m["kw"]) > 2 else None,  # 建议: any note's
        reason=topic or None,
    )


def _active(core: str) -> Command | None:
    """停用 何建军（已调离） / 启用 张三."""
    if m := re.match(r"^(?P<verb>停用|启用|恢复启用|重新启用|恢复)(?:委员)?", core):
        name = re.sub(r"[（(][^）)]*[）)]", "", core[m.end() :]).strip(STRIP)  # 停用 何建军（已调离）
        if m["verb"] == "恢复" and not is_name(name):
            return None  # 恢复张三 is 启用; 恢复备份 is not a member
        if re.fullmatch(r"[\u4e00-\u9fff·A-Za-z]{1,10}", name) and not NOT_A_NAME_RE.search(name):
            return Command("deactivate" if m["verb"] == "停用" else "reactivate", target=name)
    return None


# -- 导出 ---------------------------------------------------------------------------------------------

_EXPORT_RE = re.compile(r"^(?:请|帮我|麻烦|给我)?(?:导出|下载|导一下|导个)")
_EXPORT_TAIL_RE = re.compile(
    r"^(?:请|帮我|麻烦|给我)?把?(?P<what>.{0,30}?)(?:导出来|导出|导一下|导出一下|下载下来|发给我|发我)(?:一下|吧)?$"
)
_EXPORT_WORDS_RE = re.compile(
    r"履职档案|履职情况|履职记录|履职|档案|表格|情况|记录|数据|excel|表|一下|的|来|看看|看一下|给我|发我|吧|全部|所有|全年"
)


def export(t: Text) -> Command | None:
    """导出本季度 / 把第一联络组这个季度的导出来: title the period word, content the group."""
    if m := _EXPORT_RE.match(t.core):
        rest = t.core[m.end() :]
    elif m := _EXPORT_TAIL_RE.match(re.split(r"[，,。；;]", t.core, maxsplit=1)[0]):  # "…导出来，要报县政协"
        rest = m["what"]
    else:
        return None
    core = _EXPORT_WORDS_RE.sub("", rest.lower())
    county = re.search(r"全县|县里|各组|各联络组|所有联络组|全部联络组", core)
    core = re.sub(r"全县|县里|各组|各联络组|所有联络组|全部联络组", "", core)
    group = GROUP_RE.search(core)
    period = PERIOD_RE.search(core)
    leftover = PERIOD_RE.sub("", GROUP_RE.sub("", core))
    if leftover.strip(STRIP):
        return None  # 导出 followed by something else is not a request for the file
    return Command(
        "export",
        title=period[0] if period else None,
        content=group[0] if group else None,
        target="county" if county and not group else None,
    )
