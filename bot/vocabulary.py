"""The words members use, one table per vocabulary; the parser's matchers are generated from them.

Adding a phrasing is one line here (and one case in tests/parser_cases.yaml). Each table maps what
people write to what it means; `alternation()` turns a table into a regex, longest word first, so
"集体学习" wins over "学习" and "社情民意信息" over "社情民意". Tolerance for typing slips lives in
`sounds_like()`: a keyword written with a homophone or a 模糊音 slip of the pinyin keyboard (社情民易,
社情明意).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

__all__ = [
    "ACTIVITY_KINDS",
    "ACTIVITY_REFS",
    "CHATTER",
    "CHECKIN_WORDS",
    "LEAVE_WORDS",
    "PAST_LEAVE_WORDS",
    "SUBMISSION_KINDS",
    "alternation",
    "sounds_like",
]

# What happens at an activity -> Activity.kind. "的会" (明天的会) is a meeting; "开会" alone is usually a
# reason ("单位开会"), so it is not here.
ACTIVITY_KINDS: dict[str, str] = {
    "集体活动": "collective",
    "视察": "inspection",
    "集体视察": "inspection",
    "视察活动": "inspection",
    "专题视察": "inspection",
    "调研": "research",
    "考察": "research",
    "调研活动": "research",
    "专题调研": "research",
    "学习": "study",
    "集体学习": "study",
    "培训": "study",
    "学习会": "study",
    "读书会": "study",
    "会议": "meeting",
    "座谈": "meeting",
    "座谈会": "meeting",
    "协商": "meeting",
    "协商会": "meeting",
    "协商议事": "meeting",
    "议事会": "meeting",
    "例会": "meeting",
    "交流会": "meeting",
    "恳谈会": "meeting",
    "联席会": "meeting",
    "的会": "meeting",
    "这个会": "meeting",
    "那个会": "meeting",
}
KIND_WORDS = tuple(ACTIVITY_KINDS)

# Words that point at an activity without naming its kind (明天的活动, 那次).
ACTIVITY_REFS = ("活动", "这次", "那次", "这个", "那个", "本次", "此次", "下次", "上次")

# What a member sends -> Submission.kind. The key is the keyword; a note starts with it.
SUBMISSION_KINDS: dict[str, str] = {
    "社情民意信息": "opinion",
    "社情民意": "opinion",
    "社情信息": "opinion",
    "社情": "opinion",
    "民情反映": "opinion",
    "民意反映": "opinion",
    "民情民意": "opinion",
    "情况反映": "opinion",
    "民情": "opinion",
    "意见建议": "suggestion",
    "建议": "suggestion",
    "意见": "suggestion",
    "调研报告": "report",
    "调查报告": "report",
    "考察报告": "report",
    "为民办实事": "project",
    "办了个实事": "project",
    "做了个实事": "project",
    "办了件实事": "project",
    "办了一件实事": "project",
    "做了件实事": "project",
    "做了一件实事": "project",
    "办实事": "project",
    "民生实事": "project",
    "实事项目": "project",
    "实事": "project",
    "提案": "proposal",
    "提案建议": "proposal",
}
# Keywords long enough to be recognised through a typing slip (a homophone, one pinyin letter off).
FUZZY_SUBMISSION_WORDS = tuple(w for w in SUBMISSION_KINDS if len(w) >= 4)

# 反映个情况 / 反映一个问题 / 反映一下: the verb and a general noun make a 社情民意 by themselves.
REPORT_PHRASES: dict[str, str] = {
    "反映": "opinion",
    "反应": "opinion",  # the usual homophone slip of 反映
}
REPORT_OBJECTS = ("情况", "问题", "事情", "事儿", "事", "现象", "诉求", "民意", "呼声")

# Check-in: the member says they are there.
CHECKIN_WORDS = (
    "签到",
    "签个到",
    "签一下到",
    "签一个",
    "签个字",
    "签一下",
    "签下到",
    "报到",
    "报个到",
    "打卡",
    "打个卡",
    "到了",
    "已到",
    "到达",
    "到场",
    "我到",
    "人到",
    "在现场",
    "到现场",
    "已在现场",
    "到会场",
    "在会场",
    "已到会",
    "到会",
)

# Leave: the member will not be there. Present and future forms (the activity is to come).
LEAVE_WORDS = (
    "请假",
    "请个长假",
    "请长假",
    "请两天假",
    "请个假",
    "请一下假",
    "请一天假",
    "请半天假",
    "请几天假",
    "请三天假",
    "请四天假",
    "请五天假",
    "请一周假",
    "请一周的假",
    "请三天的假",
    "请一次假",
    "请下假",
    "告假",
    "恳请准假",
    "请准假",
    "望准假",
    "请予准假",
    "请批假",
    "告个假",
    "参加不了",
    "参加不成",
    "参加不上",
    "去不了",
    "去不成",
    "来不了",
    "来不成",
    "到不了",
    "赶不回来",
    "赶不回",
    "赶不过来",
    "赶不上",
    "回不来",
    "走不开",
    "脱不开身",
    "抽不开身",
    "抽不出时间",
    "无法参加",
    "无法出席",
    "无法到场",
    "无法到会",
    "不能到会",
    "没法到会",
    "不能参加",
    "不能出席",
    "不能到场",
    "不能去",
    "不能来",
    "没法参加",
    "没法去",
    "没办法参加",
    "没办法去",
    "没时间参加",
    "没空参加",
    "不参加了",
    "不去了",
    "去不了了",
    "参加不了了",
    "缺席",
)
# After the fact: the activity is past and the member says why they were not there.
PAST_LEAVE_WORDS = (
    "没去成",
    "没能去",
    "没能参加",
    "没参加成",
    "没赶上",
    "没能到",
    "没来成",
    "未能参加",
    "未能出席",
    "没去参加",
    "没有参加",
    "没有去",
    "没参加",
    "没去",
)

APPROVE_WORDS = (
    "同意",
    "批准",
    "准假",
    "准了",
    "批了",
    "准予",
    "同意了",
    "批准了",
    "可以请假",
    "准许",
    "全准了",
    "都准了",
)
REJECT_WORDS = (
    "不同意",
    "不批准",
    "不准假",
    "不准",
    "驳回",
    "拒绝",
    "退回",
    "不予批准",
    "不批",
    "不能批",
    "不予准假",
)

# The slips people make typing the words that start a command; read as the word (拨回 #9 = 驳回 #9).
# Only slips that are not themselves common words belong here; the others are caught by
# `sounds_like` when nothing else reads the message.
TYPOS: dict[str, str] = {
    "拨回": "驳回",
    "驳会": "驳回",
    "博回": "驳回",
    "签道": "签到",
    "前到": "签到",
    "请价": "请假",
    "清假": "请假",
    "请架": "请假",
    "视查": "视察",
    "社情名义": "社情民意",
    "设情民意": "社情民意",
    "社情民谊": "社情民意",
    "请加": "请假",
    "请家": "请假",
    "钱到": "签到",
    "题案": "提案",
    "建意": "建议",
    "社情民易": "社情民意",
    "社情明意": "社情民意",
    "社情民义": "社情民意",
    "为民办事实": "为民办实事",
    "补包": "补报",
    "撤会": "撤回",
    "履直": "履职",
    "履值": "履职",
    "旅职": "履职",
    "本组请况": "本组情况",
    "活冻": "活动",
}

# Words of the north and west that stand for common ones, one character for one (俺 = 我).
DIALECT: dict[str, str] = {"俺": "我", "咧": "了", "额": "我"}

# Voice input writes an activity kind with another word of the same sound; these are not words of
# their own, so they are mended wherever they stand.
KIND_TYPOS: dict[str, str] = {
    "是察": "视察",
    "试察": "视察",
    "是查": "视察",
    "事查": "视察",
    "试查": "视察",
    "视查": "视察",
    "掉研": "调研",
    "座潭": "座谈",
    "坐谈": "座谈",
}

# Family names (百家姓, the common ones): a word after 同意/补报 that starts with none of these is
# not a person ("同意，好好休息"). Compound names first.
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "轩辕",
    "端木",
    "西门",
    "南宫",
    "独孤",
    "百里",
)
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁"
    "岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾"
    "尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄"
    "丛仲虞敖巩明佘池乐匡钮国井冀郁满储禹汝璩封栗伏粟迟燕阎蔚屠荆鞠"
)

# Plain chatter: acknowledgements that are not for the bot (a group's answer to a notice).
CHATTER = (
    "收到",
    "好的",
    "好",
    "好滴",
    "嗯",
    "嗯嗯",
    "哦",
    "行",
    "可以",
    "ok",
    "okay",
    "谢谢",
    "感谢",
    "多谢",
    "谢谢组长",
    "辛苦了",
    "辛苦",
    "大家辛苦了",
    "明白",
    "了解",
    "知道了",
    "知道",
    "收到了",
    "好的收到",
    "收到谢谢",
    "准时参加",
    "按时参加",
    "一定参加",
    "准时到",
    "一定到",
    "准时到场",
    "点赞",
    "赞",
    "支持",
    "哈哈",
    "哈哈哈",
    "早上好",
    "上午好",
    "下午好",
    "晚上好",
    "早",
    "您好",
    "你好",
    "大家好",
    "在吗",
    "在",
    "好的好的",
    "没问题",
    "对",
    "是的",
    "嗯好",
)


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first, each escaped."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


# -- tolerant matching --------------------------------------------------------------------------

_TONES = str.maketrans(
    {
        c: b
        for b, cs in {"a": "āáǎà", "e": "ēéěè", "i": "īíǐì", "o": "ōóǒò", "u": "ūúǔù", "v": "ǖǘǚǜü"}.items()
        for c in cs
    }
)


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[int, str]:
    """pypinyin's table of character readings, read from its JSON file on first use. Importing
    pypinyin (even pypinyin.pinyin_dict) runs its package __init__, which also loads the phrase
    dictionary: ~55 MiB in every process that ever compared a name, for nothing used here."""
    spec = importlib.util.find_spec("pypinyin")  # finds the package without running it
    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
    return {int(code): readings for code, readings in json.loads(path.read_text(encoding="utf-8")).items()}


@lru_cache(maxsize=8192)
def _readings(char: str) -> frozenset[str]:
    """The toneless pinyin readings of one character (itself if it has none)."""
    found = _pinyin_table().get(ord(char))
    if not found:
        return frozenset((char,))
    return frozenset(r.translate(_TONES).replace("ü", "v") for r in found.split(","))


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"), ("ong", "on"))


@lru_cache(maxsize=8192)
def _loose(reading: str) -> str:
    """A reading with the pairs a pinyin keyboard confuses made one (模糊音: zh/z, l/n, ing/in, …)."""
    for long, short in _FUZZY_INITIALS:
        if reading.startswith(long):
            reading = short + reading[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if reading.endswith(long):
            return reading[: -len(long)] + short
    return reading


def _char_close(a: str, b: str) -> int:
    """0 the same character, 1 a homophone, 2 a 模糊音 near-homophone (明/民), 3 unrelated."""
    if a == b:
        return 0
    ra, rb = _readings(a), _readings(b)
    if ra & rb:
        return 1
    if {_loose(r) for r in ra} & {_loose(r) for r in rb}:
        return 2
    return 3


@lru_cache(maxsize=1024)
def _principal(char: str) -> str | None:
    """A character's first, common toneless reading (pypinyin's table lists it first), if it has one."""
    found = _pinyin_table().get(ord(char))
    return found.split(",")[0].translate(_TONES).replace("ü", "v") if found else None


def _close_to_keyword(a: str, b: str) -> int:
    """Like `_char_close`, with the keyword's character `b` read as in the keyword — its first, common
    reading — and not as any of its rare ones (假 is jiǎ in 请假, never gé: 请各位 is not 请假)."""
    if a == b:
        return 0
    principal = _principal(b)
    if principal is None:
        return _char_close(a, b)
    ra = _readings(a)
    if principal in ra:
        return 1
    return 2 if _loose(principal) in {_loose(r) for r in ra} else 3


def sounds_like(written: str, word: str) -> bool:
    """Is `written` (as long as `word`) the keyword typed with slips a pinyin keyboard makes?

    Each differing character must sound the same or be a 模糊音 pair away (社情民易, 社情明意); at most
    one may differ in a short word, half of a word of four or more (voice input: 社情名义), and at
    least half the word must be typed exactly.
    """
    if len(written) != len(word) or written == word:
        return written == word
    costs = [_close_to_keyword(a, b) for a, b in zip(written, word, strict=True)]
    exact = sum(c == 0 for c in costs)
    allowed = len(word) // 2 if len(word) >= 4 else 1
    return max(costs) <= 2 and len(word) - exact <= allowed and exact * 2 >= len(word)


def pinyin_of(text: str) -> str:
    """One toneless reading per character, joined ("张珊" -> "zhangshan"): for comparing names."""
    return "".join(min(_readings(c)) for c in text)


def sounds_the_same(typed: str, word: str) -> bool:
    """Every character of `typed` is the one in `word` or reads the same (张山 / 张珊), and not all differ."""
    if len(typed) != len(word) or typed == word:
        return False
    costs = [_char_close(a, b) for a, b in zip(typed, word, strict=True)]
    return max(costs) <= 1 and min(costs) == 0
