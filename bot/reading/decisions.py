"""A leader's decision on leave (同意 #3, 好的，同意, 都同意, 不同意，…, 张三的请假同意了) and on a
补报 (确认补报 #3, 驳回补报 #3 理由). A leader's 同意 is never read as the leader's own leave."""

from __future__ import annotations

import re
from dataclasses import replace

from bot import vocabulary as vocab
from bot.messages import Command
from bot.reading.text import EMOJI_RE, NOT_A_NAME_RE, STRIP, Text, clean, is_name

_PRE_DECISION = (
    r"(?:(?:好的?|好吧|好嘞|可以|行吧?|中+|要得|晓得了|知道了|嗯嗯|没问题|ok|OK|收到)[,，。!！\s]*)?(?:我)?"
)
_APPROVE_RE = re.compile(
    rf"^{_PRE_DECISION}(?P<all>都|全部|全都|全|一律|统一|一并)?(?:{vocab.alternation(vocab.APPROVE_WORDS)})(?:了)?"
)
_REJECT_RE = re.compile(
    rf"^{_PRE_DECISION}(?P<all>都|全部|全都|一律)?(?:{vocab.alternation(vocab.REJECT_WORDS)})(?:了)?"
)
_VERBS = vocab.alternation([*vocab.APPROVE_WORDS, *vocab.REJECT_WORDS])
_REJECT_WORDS_RE = re.compile(rf"{vocab.alternation(vocab.REJECT_WORDS)}|不行|不能|必须")
_NAME_FIRST_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,4}?)(?:委员)?的?(?:请假|假)(?:的事|这事|的申请|申请)?(?:#\d+)?[\s,，]*(?:我)?"
    rf"(?P<verb>{vocab.alternation([*vocab.APPROVE_WORDS, *vocab.REJECT_WORDS, '可以', '批准了'])})"
)
_NAME_VERB_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,4}?)(?:委员)?(?:的)?(?P<verb>同意|批准|准了|批了|准假|驳回|不同意|不批)(?:了)?[。!！]*$"
)
_LEAVE_FIRST_RE = re.compile(
    r"^(?:这些|这几个|这几条|这个|他们的|她们的)?(?:请假的?|假|待审批的?|待批的?|没批的)(?:请假)?(?:申请)?(?:我)?(?P<all>都|全部|全都|全|一律|统一)?"
    rf"(?P<verb>{_VERBS})"
)
# #3 同意 / 请假#5 同意 / 3号同意
_NUMBER_FIRST_RE = re.compile(
    rf"^(?:请假)?\s*(?:#\s*(?P<n>\d{{1,9}})(?:号)?|(?P<n2>\d{{1,3}})\s*号)[\s,，]*(?P<verb>{_VERBS}|准$)"
)
# 可以，去吧 / 行，你去吧: a leader letting the member go.
_LET_GO_RE = re.compile(r"^(?:可以|行|好的|好|嗯)[，,\s]*(?:你)?(?:去|先忙|忙你的|忙去)(?:吧)?[。!！]*$")  # 吧 is a filler the core drops
_BARE_APPROVE_RE = re.compile(
    r"^准\s*#\s*(?P<n>\d{1,9})$"
)  # 准 alone is also 准时: a verb only beside a number
# "中中，让她去吧，批了" / "马福海请假的事，同意": the decision closes a short message.
_CLOSING_RE = re.compile(r"[,，。\s](?:我)?(?:同意|批了|准了|批准|同意了|可以)[了吧啊。!！]*$")
_FILLER_RE = re.compile(r"^(?:因为|由于|原因是?|理由是?)[:：\s]*")
# "这次不能请假 必须来" / "这回不准假，县领导要来": a leader refusing leave before anyone asks by number.
_REFUSE_RE = re.compile(
    r"^(?:不行[,，\s]*)?(?:这次|这回|本次|此次|这个)?(?:的)?(?:假)?(?:不能请假|不准假|不批假|不能批|不予批准|不给假|不许请假|"
    r"不能缺席|不准请假|不能不来|请假不予批准|请假不批|假不批|不批)"
)


def _target(rest: str) -> tuple[str | None, str, bool]:
    """(target, what follows it, ok): the request a decision names right after its verb."""
    rest = EMOJI_RE.sub("", rest)
    rest = re.sub(
        r"^[了\s]*(?:(?:他|她|你)?的?请假(?:申请)?(?![\u4e00-\u9fff]{0,2}(?:的|申请)))?\s*", "", rest
    )
    if m := re.match(r"[\s:：,，]*(?:请假|申请)?\s*#?\s*(\d{1,9})(?:号|条)?", rest):
        return m[1], rest[m.end() :], True
    if (
        re.match(r"[,，。!！;；]", rest)
        or not rest.strip(STRIP)
        or re.fullmatch(r"\s*[吧啊了哈呀哦嘛的]+[。!！]*", rest)
    ):
        return None, rest, True  # "好的，同意" / "同意请假，注意身体" / "都同意吧": no one named
    m = re.match(
        r"([\u4e00-\u9fff·A-Za-z]{1,10}?)(?=(?:委员)?的?请假|的?申请|的?假|[\s,，。:：;；!！、]|$)", rest
    )
    if m is None:
        m = re.match(r"[\u4e00-\u9fff·]{1,3}", rest)  # "驳回李四活动重要": guess a 3-character name
    if m is None:
        return None, rest, False
    target = m.group(1) if m.lastindex else m.group(0)
    if not target.isdigit() and (len(target) > 5 or NOT_A_NAME_RE.search(target)):
        return None, rest, False  # "同意楼上的观点", "不同意这个方案": chatter, not a decision
    if not is_name(target) and not re.match(r"(?:委员)?的?(?:请假|申请|假)", rest[m.end() :]):
        return None, rest, True  # "准假 好好休息": words to the member, not a name
    rest = re.sub(r"^(?:委员)?[\s:：,，]*的?(?:请假)?(?:申请)?[\s:：,，]*", "", rest[m.end() :])
    return target, rest, True


def _reason(intent: str, rest: str) -> str | None:
    return clean(_FILLER_RE.sub("", rest.strip(STRIP))) if intent == "reject" else None


# 同意，我也这么想 / 同意楼上: agreeing with what was said, no request decided.
_AGREEING_RE = re.compile(r"^[\s,，。]*(?:我也这么想|我也是|我也同意|同感|赞成|支持|有道理|说得对|说得好|楼上|你的看法|这个观点|您的意见|他的意见)")


def _decide(intent: str, everyone: bool, rest: str) -> Command | None:
    if _AGREEING_RE.match(rest):
        return None
    target, rest, ok = _target(rest)
    if not ok:
        return None
    if everyone and target is None:
        target = "all"
    return Command(intent, target=clean(target), reason=_reason(intent, rest))


def decision(t: Text) -> Command | None:
    """同意 #3 / 好的，同意 / 都同意 / 不同意，… / 张三的请假同意了 / 请假的全部同意 / #3 驳回."""
    core = t.core
    for pattern, intent in ((_REJECT_RE, "reject"), (_APPROVE_RE, "approve")):
        if m := pattern.match(core):
            return _decide(intent, bool(m["all"]), core[m.end() :])
    if m := _REFUSE_RE.match(core):
        return Command("reject", reason=_reason("reject", core[m.end() :]))
    if m := _LEAVE_FIRST_RE.match(core):
        intent = "reject" if m["verb"] in vocab.REJECT_WORDS else "approve"
        return Command(intent, target="all" if m["all"] else None, reason=_reason(intent, core[m.end() :]))
    if m := _BARE_APPROVE_RE.match(core):
        return Command("approve", target=m["n"])
    return _named_first(core)


def _named_first(core: str) -> Command | None:
    """李四同意 / 全体同意 / 张三的请假同意了 / #3 驳回 / 3号同意: who or which first, then the verb."""
    if (m := _NAME_VERB_RE.match(core)) and (m["name"] in ("全体", "全部") or is_name(m["name"])):
        target = "all" if m["name"] in ("全体", "全部") else m["name"]  # 全体同意: every pending request
        return Command("reject" if m["verb"] in vocab.REJECT_WORDS else "approve", target=target)
    for pattern in (_NAME_FIRST_RE, _NUMBER_FIRST_RE):
        if m := pattern.match(core):
            intent = "reject" if m["verb"] in vocab.REJECT_WORDS else "approve"
            target = m.groupdict().get("name") or m.groupdict().get("n") or m.groupdict().get("n2")
            if target and not target.isdigit() and NOT_A_NAME_RE.search(target):
                return None
            return Command(intent, target=target, reason=_reason(intent, core[m.end() :]))
    return None


def closing_decision(t: Text) -> Command | None:
    """ "中中，让她去吧，批了" / "马福海请假的事，同意": a short message that ends by approving."""
    core = t.core
    if _LET_GO_RE.match(core):
        return Command("approve")
    if len(core) <= 24 and _CLOSING_RE.search(core) and not _REJECT_WORDS_RE.search(core):
        first = re.split(r"[,，。\s]", core, maxsplit=1)[0]
        name = re.sub(r"(?:委员)?的?(?:请假|假)(?:的事|这事|申请)?$", "", first)
        return Command("approve", target=name if is_name(name) else None)
    return None


_CONFIRM_LATE_RE = re.compile(r"^(?:确认|同意|批准)(?:他的|她的)?补报")
_REJECT_LATE_RE = re.compile(r"^(?:驳回|不同意|不批准|拒绝)(?:他的|她的)?补报")


# 驳回张三的补报 需要证明 / 确认李四的补报: the member named before 的补报.
_NAMED_LATE_RE = re.compile(
    r"^(?P<verb>确认|同意|批准|驳回|不同意|不批准|拒绝)(?P<name>[\u4e00-\u9fff·]{2,5}?)(?:委员)?的补报(?:申请)?"
)


# 补报#5确认 / #5补报同意 / 补报 #5 驳回 需要证明: the number first, the verb after.
_LATE_NUMBER_FIRST_RE = re.compile(
    r"^(?:补报\s*#\s*(?P<n>\d{1,9})|#\s*(?P<n2>\d{1,9})\s*(?:号)?\s*(?:的)?补报)\s*"
    r"(?P<verb>确认|同意|批准|驳回|不同意|不批准|拒绝)(?:了)?"
)


def late_decision(t: Text) -> Command | None:
    """确认补报 #3 / 驳回补报 #3 理由 / 驳回张三的补报 / 补报#5确认: before 同意/驳回, which would read
    them as leave decisions."""
    if m := _LATE_NUMBER_FIRST_RE.match(t.core):
        reject = m["verb"] in ("驳回", "不同意", "不批准", "拒绝")
        reason = _reason("reject", t.core[m.end() :]) if reject else None
        return Command("reject_late" if reject else "confirm_late", target=m["n"] or m["n2"], reason=reason)
    if m := _NAMED_LATE_RE.match(t.core):
        reject = m["verb"] in ("驳回", "不同意", "不批准", "拒绝")
        decided = _decide("reject" if reject else "approve", False, f"{m['name']} {t.core[m.end():]}")
        if decided is not None:
            return replace(decided, intent="reject_late" if reject else "confirm_late")
    for pattern, intent, as_ in (
        (_REJECT_LATE_RE, "reject", "reject_late"),
        (_CONFIRM_LATE_RE, "approve", "confirm_late"),
    ):
        if m := pattern.match(t.core):
            decided = _decide(intent, False, t.core[m.end() :]) or Command(intent)
            return replace(decided, intent=as_)
    return None
