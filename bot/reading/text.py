"""One message made ready for the rules: cleaned, its mentions, salutation and fillers out, its
command-word typos mended; plus the small readings every rule shares (dates, kinds, names).

The member's own words are never changed: `Text.written` keeps them, and `Text.core` (what the
rules read) knows where each of its characters stands in `written`, so a note's text is cut from
what was written, not from the cleaned copy.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, replace

from bot import vocabulary as vocab
from bot.dates import DateError, When, find_when
from bot.periods import PERIOD_WORDS

# -- normalising ----------------------------------------------------------------------------------

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
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
SEP = r"\s:：,，、;；.。!！?？~\-—_|"
SEP_RE = re.compile(f"[{SEP}]+")
STRIP = " \t\n:：,，、;；.。!！?？~-—_|…\"'“”‘’()（）"  # for str.strip: the separators, quotes, brackets
EMOJI_RE = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,4}\]|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]")

# Words that start a command: where a mention glued to its command ("@履职助手签到") ends.
_COMMAND_STARTS = (
    *vocab.CHECKIN_WORDS,
    *vocab.SUBMISSION_KINDS,
    *vocab.LEAVE_WORDS,
    *vocab.APPROVE_WORDS,
    *vocab.REJECT_WORDS,
    "帮助",
    "绑定",
    "发布",
    "通知",
    "补报",
    "撤回",
    "更正",
    "导出",
    "本组",
    "谁",
    "我",
    "反映",
    "明天",
    "今天",
    "下周",
)
_BOT_NAME_END_RE = re.compile(r"^[@]\S{0,12}?(?:助手|机器人|小助理|助理|bot|Bot|BOT)")
_GLUED_RE = re.compile(vocab.alternation(_COMMAND_STARTS))
_TRAILING_MENTION_RE = re.compile(r"\s+@\S{1,30}$")


@dataclass(frozen=True)
class Traced:
    """A cleaned copy of what was written, and where each of its characters came from in the original."""

    text: str
    index: tuple[int, ...]  # text[i] stands for written[index[i]]

    def __getitem__(self, span: slice) -> Traced:
        return Traced(self.text[span], self.index[span])

    def strip(self) -> Traced:
        start = len(self.text) - len(self.text.lstrip())
        end = len(self.text.rstrip())
        return self[start:end]


def _trace(pieces: list[tuple[str, int]]) -> Traced:
    return Traced("".join(c for c, _i in pieces), tuple(i for _c, i in pieces))


def _cleaned(written: str) -> Traced:
    """Full-width letters and digits made ASCII, control characters out, odd spaces made spaces,
    combining marks composed (NFC): each character traced to the one it came from."""
    pieces: list[tuple[str, int]] = []
    start = 0
    for pos in range(1, len(written) + 1):
        # NFC composes only within a run that starts at a character of combining class 0.
        if pos < len(written) and unicodedata.combining(written[pos]):
            continue
        run = unicodedata.normalize("NFC", written[start:pos].translate(_TRANSLATE))
        for c in run:
            if not _CONTROL_RE.match(c):
                pieces.append((" " if unicodedata.category(c) == "Zs" else c, start))
        start = pos
    return _trace(pieces)


def _one_space(t: Traced) -> Traced:
    """Runs of spaces made one, lines without spaces at their ends, no blank lines."""
    pieces: list[tuple[str, int]] = []
    for c, i in zip(t.text, t.index, strict=True):
        if c == " " and (not pieces or pieces[-1][0] in " \n"):
            continue
        if c == "\n":
            while pieces and pieces[-1][0] == " ":
                pieces.pop()
            if not pieces or pieces[-1][0] == "\n":
                continue
        pieces.append((c, i))
    return _trace(pieces).strip()


def _without_mentions(t: Traced) -> Traced:
    """The text without the @mentions in front (and one at the end); a glued one ends where a
    command starts ("@履职助手签到" -> "签到")."""
    while t.text.startswith("@"):
        head_end = t.text.find(" ")
        head = t.text if head_end < 0 else t.text[:head_end]
        named = _BOT_NAME_END_RE.match(head)
        if named and named.end() < len(head):
            cut = named.end()
        else:
            glued = _GLUED_RE.search(head, 2)
            cut = glued.start() if glued and not named else len(head)
        t = t[cut:].strip() if cut < len(head) else t[len(head) :].strip()
    if m := _TRAILING_MENTION_RE.search(t.text):
        t = t[: m.start()]
    return t.strip()


def traced(written: str) -> Traced:
    """The message as typed, made regular (ASCII digits, no control characters, one space, no
    mentions), each character traced to the one the member wrote."""
    return _without_mentions(_one_space(_cleaned(written)))


def normalise(text: str) -> str:
    """The message as typed, made regular: ASCII digits, no control characters, one space, no mentions."""
    return traced(text).text


# Voice input and quick typing put in words that carry nothing: 嗯, 那个, 就是, a 啊 or 哈 at the end
# of a clause. The rules read the message without them (each becomes a pause, a space).
_FILLER_RE = re.compile(
    r"[嗯呃唔]+|(?<=\S)[啊呀哈哦吧](?=[\s,，。!！?？:：]|$|那个|就是|我)"
    r"|(?:^|(?<=[\s,，。!！我了嗯呃唔啊呀哈]))那个|那个(?=[我你他她咱就嗯啊\s,，])"
    r"|(?:^|(?<=[\s,，。!！了嗯呃唔啊呀哈]))就是|就是(?=那个|这个|说|嗯|关于|我们|[\s,，])"
)

# A salutation or courtesy in front says who is addressed, not what is asked: 王组长，/ 各位委员：/
# 您好！/ 不好意思，. The rules read the message without it; a note or reason never starts with it.
_COURTESY_LEAD_RE = re.compile(
    r"^(?:不好意思|抱歉|对不起|打扰了|打扰一下|麻烦一下|报告|向您报告|向您汇报|跟您说一下|此致敬礼)[,，:：!！。、~\s]*"
)
_GREETING_RE = re.compile(
    r"^(?:尊敬的|敬爱的|亲爱的)?"
    r"(?P<all>(?:各位|全体)(?:委员|组员|同志|领导|老师|同事|同仁)?|大家|同志们|各位同仁)?"
    r"(?(all)|(?:[\u4e00-\u9fff]{0,3}(?:组长|副组长|主任|主席|秘书长|老师|联络员|书记|部长|委员|县长|局长|领导)|"
    r"您好|你好|在吗|哈喽|嗨|hello|hi))"
    r"(?:们)?(?:好|您好|你好|大家好|早|早上好|上午好|下午好|晚上好|注意|请注意|看一下)?(?P<particle>[啊呀哈])?"
    r"(?:[,，:：!！。、~\s]+|$|(?=我|本人)|(?(particle)|(?!))"
    # 各位委员下周四上午…: the group addressed, then straight away when (a notice written without a pause)
    r"|(?(all)(?=(?:兹|现)?(?:定于|拟于|订于|将于)|明天|后天|今天|下周|本周|这周|下星期|下个?月|\d{1,2}月|\d{1,2}[日号])|(?!)))",
    re.I,
)
_VOCATIVE_END_RE = re.compile(
    r"(?<=\S)[\s,，]+(?:老[\u4e00-\u9fff]|[\u4e00-\u9fff]{0,3}(?:组长|主任|老师|联络员|书记))[!！。~]*$"
)
# 前到 is 签到 mistyped, but 提前到 / 之前到 are words of their own (12月23日的会提前到上午9点).
_TYPO_RE = re.compile(r"(?<![提之以此])前到|" + vocab.alternation(w for w in vocab.TYPOS if w != "前到"))
# 额 is 我 before a word ("额反映个事"), a filler before a pause ("额，那个…").
_DIALECT_RE = re.compile(r"[俺咧]|额(?=[\u4e00-\u9fff])")
_KIND_TYPO_RE = re.compile(vocab.alternation(vocab.KIND_TYPOS))
HEAD = 12  # command words stand in the first characters: typos are mended there only


@dataclass(frozen=True)
class Text:
    """One message as the rules see it."""

    written: str  # what the member wrote (NUL aside): what a note's text is cut from, unchanged
    core: str  # what the rules read: regular, no mention, salutation, fillers, typos in command words
    index: tuple[int, ...]  # core[i] stands for written[index[i]] (a filler's pause points at its place)
    now: dt.datetime
    strict: bool
    to_everyone: bool = False  # the salutation addressed the group (各位委员：): a leader's notice

    @property
    def bare(self) -> str:
        """`core` without emoji and the separators around it: for whole-message phrases."""
        return EMOJI_RE.sub("", self.core).strip(STRIP)

    def written_from(self, end: int) -> str:
        """What the member wrote after core[:end] (a note's text after its keyword)."""
        if not self.index:
            return self.written
        if end <= 0:
            return self.written[self.index[0] :]
        if end >= len(self.core):
            return self.written[self.index[-1] + 1 :]
        return self.written[self.index[end - 1] + 1 :]

    def with_core(self, core: str) -> Text:
        """The same message read as `core` (a tag's body, a mended typo): positions kept only if the length is."""
        if len(core) == len(self.core):
            return replace(self, core=core)
        return replace(self, written=core, core=core, index=tuple(range(len(core))))


def _without_fillers(t: Traced) -> tuple[str, list[int]]:
    text = t.text
    pieces: list[tuple[str, int]] = []
    pos = 0
    for m in _FILLER_RE.finditer(text):
        pieces.extend(zip(text[pos : m.start()], t.index[pos : m.start()], strict=True))
        if pieces and pieces[-1][0] != " ":
            pieces.append((" ", t.index[m.start()]))
        pos = m.end()
    pieces.extend(zip(text[pos:], t.index[pos:], strict=True))
    # One space where fillers and spaces met; none at the ends.
    kept = [p for i, p in enumerate(pieces) if not (p[0] == " " and (i == 0 or pieces[i - 1][0] == " "))]
    while kept and kept[-1][0] == " ":
        kept.pop()
    return "".join(c for c, _i in kept), [i for _c, i in kept]


def prepare(written: str, now: dt.datetime, strict: bool, limit: int | None = None) -> Text:
    """The message, as written, made ready for the rules (reading at most `limit` characters)."""
    regular = traced(written)
    core, index = _without_fillers(regular[:limit] if limit else regular)
    everyone = False
    for _ in range(4):
        m = _COURTESY_LEAD_RE.match(core) or _GREETING_RE.match(core)
        if not m or m.end() == 0:
            break
        everyone = everyone or bool(m.groupdict().get("all"))
        core, index = core[m.end() :], index[m.end() :]
    if m := _VOCATIVE_END_RE.search(core):  # "到 老王", "签到，王组长": the leader called, at the end
        core, index = core[: m.start()], index[: m.start()]
    core = _DIALECT_RE.sub(lambda m: vocab.DIALECT[m[0]], core)
    head = _TYPO_RE.sub(lambda m: vocab.TYPOS[m[0]], core[: HEAD + 4])
    core = _KIND_TYPO_RE.sub(lambda m: vocab.KIND_TYPOS[m[0]], head + core[HEAD + 4 :])
    return Text(written, core, tuple(index), now, strict, everyone)


# -- shared readings ------------------------------------------------------------------------------

KIND_RE = re.compile(vocab.alternation(vocab.ACTIVITY_KINDS))
KIND_NAME_RE = re.compile(
    vocab.alternation(w for w in vocab.ACTIVITY_KINDS if w not in ("的会", "这个会", "那个会"))
)
ACTIVITY_WORD = rf"(?:{vocab.alternation([*vocab.ACTIVITY_KINDS, '活动', '通知', '会'])})"
ACTIVITY_REF_RE = re.compile(vocab.alternation([*vocab.ACTIVITY_KINDS, *vocab.ACTIVITY_REFS, "会"]))
PERIOD_RE = re.compile(PERIOD_WORDS)
GROUP_RE = re.compile(r"第[一二三四五六七八九十百\d]{1,4}联络组|[\u4e00-\u9fff]{2,8}?联络组")
# A meeting named by what it is for: 工作总结会, 推进会 ("召开…会" is a meeting whatever its name).
_HELD_MEETING_RE = re.compile(
    r"(?:召开|开个|开一个|开)[^,，。;；]{0,20}?(?:会议|会)(?![\u4e00-\u9fff]{0,2}(?:室|场|址|所))"
)
_TARGET_WORDS = {**vocab.SUBMISSION_KINDS, "报告": "report", "签到": "checkin", "请假": "leave"}
_TARGET_RE = re.compile(vocab.alternation(_TARGET_WORDS))
NOT_A_NAME_RE = re.compile(
    r"的|这|那|大家|楼上|楼下|你|您|他|她|我|方案|意见|观点|建议|安排|一下|请假|申请|注意|谢谢|辛苦|收到"
    r"|马上|现在|刚才|一会|待会|立刻|正在|要"
)
_SURNAME_RE = re.compile(
    rf"^(?:{vocab.alternation(vocab.COMPOUND_SURNAMES)})|^[{''.join(sorted(vocab.SURNAMES))}]"
)


def clean(text: str | None) -> str | None:
    text = (text or "").strip(STRIP)
    return text or None


def kind(text: str) -> str | None:
    """The activity kind a text names, "明天的会" included."""
    m = KIND_RE.search(text)
    return vocab.ACTIVITY_KINDS[m[0]] if m else None


def kind_named(text: str) -> str | None:
    """The activity kind a text names outright (not "的会"), or a meeting it says is held."""
    for m in KIND_NAME_RE.finditer(text):
        if m[0] == "会议" and text[m.end() : m.end() + 1] in ("室", "厅", "楼", "中"):
            continue  # 在县政协三楼会议室集体学习: 会议室 is where, not what
        return vocab.ACTIVITY_KINDS[m[0]]
    return "meeting" if _HELD_MEETING_RE.search(text) else None


def target_word(text: str) -> str | None:
    """What a query or withdrawal is about: a submission kind, checkin or leave."""
    m = _TARGET_RE.search(text)
    return _TARGET_WORDS[m[0]] if m else None


def is_name(word: str | None) -> bool:
    """Could `word` be a person's name: 2-4 characters starting with a family name (张三, 欧阳娜娜)?"""
    return bool(
        word
        and re.fullmatch(r"[\u4e00-\u9fff·]{2,5}", word)
        and _SURNAME_RE.match(word)
        and not NOT_A_NAME_RE.search(word)
    )


def period_word(t: Text) -> str | None:
    m = PERIOD_RE.search(t.core)
    return m[0] if m else None


_WEEK_ONLY_RE = re.compile(r"(?:这|本|下|上|下下|这个|下个|上个)(?:周|星期|礼拜)")


def when(t: Text, text: str) -> tuple[When | None, tuple[int, int] | None]:
    """The stated date/time and its span; an impossible date raises only when strict."""
    try:
        found = find_when(text, t.now)
    except DateError as err:
        if t.strict:
            raise
        return None, (err.start, err.end)
    if found is not None and _WEEK_ONLY_RE.fullmatch(found.text.strip()):
        # "这周的学习", "下周的视察": a week named, no day in it (the week's Monday is not the day).
        return None, (found.start, found.end)
    return found, ((found.start, found.end) if found else None)


def when_and_time(t: Text, text: str) -> tuple[When | None, tuple[int, int] | None, tuple[int, int] | None]:
    """Like `when`, and a clock time written apart from the date ("下周三 … 时间：上午9:30")."""
    found, span = when(t, text)
    if found is None or found.time is not None or not found.dated:
        return found, span, None
    try:
        later = find_when(text[found.end :], t.now, fallback=False)
    except DateError:
        return found, span, None
    if later is None or later.dated or later.time is None:
        return found, span, None
    part = re.search(r"上午|下午|晚上|早上|中午", found.text)
    clock = later.time
    if part and part[0] in ("下午", "晚上") and clock.hour < 12:
        clock = clock.replace(hour=clock.hour + 12)
    elif part and part[0] in ("上午", "早上") and clock.hour >= 13 and not re.search(r"下午|晚", later.text):
        clock = clock.replace(hour=clock.hour - 12)  # "上午 … 8点半": the bare-clock afternoon guess undone
    return replace(found, time=clock), span, (found.end + later.start, found.end + later.end)


# 上周的座谈会 / 上个月的调研 / 上次的学习: a past activity named by its span, not its day (补报).
_PAST_SPANS = (
    (re.compile(r"上个?(?:周|星期|礼拜)"), "上周"),
    (re.compile(r"这个?(?:周|星期|礼拜)|本周"), "本周"),
    (re.compile(r"上个?月"), "上个月"),
    (re.compile(r"这个?月|本月"), "本月"),
    (re.compile(r"上次|上回|前几天|前两天|那天"), "上次"),
)


def past_span(text: str) -> str | None:
    """The span a past activity is named by when no day is (上周, 本周, 上个月, 本月, 上次)."""
    return next((word for pattern, word in _PAST_SPANS if pattern.search(text)), None)


def cut(text: str, span: tuple[int, int] | None) -> str:
    return text if span is None else text[: span[0]] + " " + text[span[1] :]


def past_leaning(found: When | None, today: dt.date) -> dt.date | None:
    """A day gone by: 11月5日 said on 11月23日 is this year's, 25号 last month's, 周三 last week's."""
    if found is None or found.date is None or found.date <= today or re.search(r"\d{4}\s*年", found.text):
        return found.date if found else None
    day = found.date
    if "月" in found.text or re.search(r"\d[./]\d", found.text):
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return None  # 2月29日 of a year that has none: ask again rather than guess
    if re.search(r"[日号]", found.text) and not re.search(r"[天周]", found.text):
        first = day.replace(day=1) - dt.timedelta(days=1)
        try:
            return first.replace(day=day.day)
        except ValueError:
            return None
    if re.search(r"明|后天|后儿|下周|下个?星期|下个?礼拜|下个?月", found.text):
        return day  # 明天/后天/下周四 mean what they say, even in a past-tense sentence
    return day - dt.timedelta(days=7 * ((day - today).days // 7 + 1))


def number(rest: str) -> tuple[str | None, str]:
    """The record number at the start of `rest` ("#12", "12号") and what follows it."""
    m = re.match(r"[\s:：,，]*(?:第|编号)?[#]?\s*(\d{1,9})(?:号|条|篇|次)?", rest)
    return (m[1], rest[m.end() :]) if m else (None, rest)
