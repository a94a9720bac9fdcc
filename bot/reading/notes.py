"""Notes: 社情民意 and the other submissions, read by their keyword (typos allowed) or their title,
with the note's own words cut from what the member wrote; and 更正, which carries a note too."""

from __future__ import annotations

import re

from bot import vocabulary as vocab
from bot.messages import Command
from bot.periods import PERIOD_WORDS
from bot.reading.text import SEP, STRIP, Text, clean, is_name, number

_SUBMISSION_RE = re.compile(vocab.alternation(vocab.SUBMISSION_KINDS))
# What may stand before a note's keyword: "我要交一篇", "这是我本月的", "再补报一条", "本人拟提交".
_PREAMBLE_RE = re.compile(
    r"^(?:我们组|我们|本组|我组|咱们组|咱们|我|本人|这是|这里|这|现|现在|再|又|先|补|还|要|想|来|给|向您|向|您|就|把|将|特此|有|"
    r"今天|昨天|刚才|最近|近期|上周|这周|本周|也|已经|已|都|谨|拟|准备|打算|计划|特)*"
    r"(?:提交|递交|报送|上报|呈报|补报|补交|再交|交|报|送|发|提|写了|写|反映|上传|分享|汇报|办了|做了|干了|办|做)?"
    r"(?:一|1|两|几)?(?:篇|条|份|件|个|下|点|则)?"
    rf"(?:{PERIOD_WORDS})?(?:的)?(?:我的|我们的|本人的)?$"
)
# After the keyword, words that make it a question about notes, not a note (本月社情民意情况).
_QUERY_TAIL_RE = re.compile(
    r"^(?:的)?(?:都)?(?:情况(?!汇报|报告|说明|反映)|统计|完成|进度|汇总|怎么|怎样|如何|交了|交没|交齐|报了|报没|几|多少|谁|"
    r"有没有|有哪些|还有|还没|还差|都交|没交|未交|没报|哪些人|哪几|采用|被采用|批示|录用|的事|这事|"
    r"是什么|写什么|格式|模板|要求|截止|什么时候|啥时候|在哪|要交|需要|还欠|任务|(?:报送|提交|上报)(?:截止|截至|时间|要求)|"
    r"这块|这方面|这一块|这项工作|要不要|能不能|可不可以|可以不|是不是|(?:收集|征集|汇总|完成|写)得(?:怎么样|咋样|如何|不错|很好))"
)
# 社情民意写好了，明天发 / 还在写: the note is coming, it is not this text.
_NOT_SENT_YET_RE = re.compile(
    r"^[\s,，]*(?:我)?(?:已经|已|还)?(?:写好了|写完了|写好|写完|已写好|在写|正在写|还在写|没写完|快写好了|明天发|晚点发|等会发|稍后发|过两天交|回头发"
    r"|(?:一会儿?|等会儿?|等下|待会儿?|马上|稍后|随后|晚点|晚些|回头|下午|晚上)(?:就|再)?(?:发|交|提交|传))"
)
# 我写好了一篇调研报告(，一会发给你): written, the keyword after, the note itself still to come.
_WRITTEN_RE = re.compile(
    r"^(?:我|本人)?(?:已经|已|刚|刚刚)?(?:写好了|写完了|写好|写完|准备好了|弄好了|整理好了|在写|正在写)(?:一篇|一份|一个|篇|份|个)?$"
)
# 调研报告已经发到邮箱了 / 今年的提案我已经交到政协了: sent some other way, not to the bot.
_SENT_ELSEWHERE_RE = re.compile(
    r"^[\s,，]*(?:我|本人)?(?:已经|已|都|早就)?(?:发到|发给|交到|交给|报给|报到|传到|送到)(?:了)?"
    r"(?:邮箱|邮件|办公室|政协|县政协|组长|联络员|群里|微信)"
)
# 这次的社情民意我就不交了，下个月再交: one not sent, said so.
_NOT_SENDING_RE = re.compile(
    r"^(?:我|本人)?(?:就|先|暂时|这次|这个月|本月|这周|本周|今天|这两天)?(?:不|没法|不能|交不了|写不了|写不完|来不及)(?:交|写|报)?(?:了)?"
)
_RULE_OF_NOTES_RE = re.compile(
    r"^(?:还是)?(?:要|需要|必须|应该|应当|一定要|务必|最好|不能|不要|得)(?:多|勤|常|经常)?"
    r"(?:一事一报|写|交|报|真实|准确|注意|按|符合|简明|简短|实事求是)"
)


def _not_sent_yet(rest: str) -> bool:
    """写好了，明天发: said of a note to come; 写好了：县域养老… is the note itself, after its colon."""
    return bool(_NOT_SENT_YET_RE.match(rest)) and len(rest) <= 16 and not re.search(r"[:：《]", rest)


# 赵六交的社情民意被市政协采用了: a step of a note's journey told, not a note whose text is 被…采用了.
_PASSIVE_STEP_RE = re.compile(
    r"^(?:信息)?\s*(?:已经?|已|也)?(?:被|获|由)\S{0,12}?(?:采用|采纳|批示|录用|刊发|编报|报送|退回)"
    r"|^(?:信息)?\s*(?:我们|县里|县政协|办公室|市里|市政协)(?:已经?|也)?(?:采用|采纳|编报|报送|退回)"  # 这篇社情民意我们采用了
)
# What may follow a short keyword (建议, 提案) before the note's text: a measure word, then a pause.
_BODY_START_RE = re.compile(
    r"^(?:一[则篇条份件个]|[两几][篇条份件个])?(?:(?:交|发|报|递)一下|(?:发|交|报|呈)给[^，。:：]{0,6}|(?:想|要|准备)(?:交|提交|报))?"
    rf"(?:$|[{SEP}\n《【“\"(（]|关于)"
)
_COUNTED_BODY_RE = re.compile(
    r"^(?:一[则篇条份件个]|[两几][篇条份件个])?[:：]|^(?:一[则篇条份件个])[,，\s]*(?:关于|《)"
)
SENT_ALREADY_RE = re.compile(
    r"^(?:(?:我|本人)(?:上周|昨天|前天|上个月|前几天|今天|早上|上午)?(?:已经|已|都|早就|早|刚|刚刚|就)?|已经|已|早就|早都)"
    r"(?:交|报|提交|报送|上报|发)(?:过)?了?[!！。]?$"
)
_LEADING_PERIOD_RE = re.compile(rf"^(?:的)?(?:{PERIOD_WORDS})")
_REPORT_RE = re.compile(
    rf"(?:{vocab.alternation(vocab.REPORT_PHRASES)})(?:一下|一个|个|一些|些|点|一件|件)?"
    rf"(?:(?:{vocab.alternation(vocab.REPORT_OBJECTS)})(?!的)|(?=$|[{SEP}《“\"]|关于))"
)
# "反映一下群众的呼声：…": 反映 and a few words make a heading for what follows.
_REPORT_HEADING_RE = re.compile(
    r"^(?:我|本人)?(?:要|想|来|再|还)?反映(?:一下|个|一个)?[^，。:：!！?？\n]{0,10}?[:：]"
)
_REPORT_LEAD_RE = re.compile(
    r"^(?:我|本人)?(?:谨|特|兹|现|想|要|来|再|还|也)*(?:向[\u4e00-\u9fff]{0,4}|给[\u4e00-\u9fff]{0,4}|跟[\u4e00-\u9fff]{0,4})?"
)
# "关于…的建议/提案" without a keyword in front: the note's own title names its kind.
_ABOUT_RE = re.compile(
    r"^关于[^。！？!?\n]{2,60}?(?:的)?(?P<kw>社情民意信息|社情民意|意见建议|调研报告|调查报告|提案|建议)"
    r"(?=[。！？!?\n\s:：,，]|$)"
)
_TITLE_WORDS = [
    w for w in vocab.SUBMISSION_KINDS if len(w) >= 2 and w not in ("意见", "实事", "社情", "民情")
]
_TITLED_RE = re.compile(rf"《(?P<title>[^》]{{2,60}}?(?P<kw>{vocab.alternation(_TITLE_WORDS)}))》")
# Before a long keyword (社情民意, 办了件实事) a few free words may stand ("我给村里办了件实事"), as long as
# they do not ask (谁还没交社情民意) or point at a note already sent (我刚才提交的调研报告有误).
_LOOSE_PREAMBLE_RE = re.compile(r"^[^\n。！？!?:：,，;；]{0,16}$")
_ASKING_RE = re.compile(
    r"谁|哪|几|没|未|吗|多少|怎|是否|情况|统计|齐|差|欠|催|关于|同意|驳回|撤回|更正|什么|查|看|问|汇总|刚才|刚刚|之前|上一"
)
# "建议在县医院开设绿色通道…" proposes a measure; "建议大家明天早点到" talks to the group.
_TO_THE_GROUP_RE = re.compile(
    r"^(?:大家|各位|你们|咱们|我们|组长|明天|今天|下次|以后|早点|准时|按时|一起|都)"
)
_SUGGEST_RE = re.compile(
    r"^(?:对[^，。,:：]{2,20}?)?(?:我|本人)?(?:这里?)?(?:想|要|再|还)?(?:提|有|说|出)(?:一|1|几)?(?:个|条|点)?(?:小)?(?:建议|意见)"
)


_SPACED_TITLE_RE = re.compile(
    r"(?P<t>关于[^\s，,。；;：:！？!?]{2,38}?(?:的)?(?:问题|建议|情况|反映|意见|报告|提案|思考|调研|呼吁))[ \t\u3000]+(?P<c>\S.*)$",
    re.S,
)


_UNPAUSED_TITLE_RE = re.compile(
    r"^(?:我|本人)?(?:想|要)?(?:反映|反馈|说)?(?:一下|一个|个)?(?:情况|问题|事)?[，,]?"
    r"(?P<t>.{6,36}?(?:的问题|的情况|的建议|的现象|难的问题|问题|困难|隐患))"
)


def split_note(body: str) -> tuple[str | None, str | None]:
    """(title, content) of a note's text: 《title》, "标题：…内容：…", a short first sentence, or its start."""
    body = body.lstrip(STRIP).rstrip()  # the note's own closing 。 is part of its content
    if not body.strip(STRIP):
        return None, None
    m = re.search(r"标题[:：\s]+(?P<t>.+?)[\s,，。;；]*(?:内容|正文)[:：\s]+(?P<c>.*)$", body, re.S)
    if m:
        return clean(m["t"]), (m["c"].strip() or None)
    m = re.match(r"标题[:：\s]+(.+)$", body, re.S)
    if m:
        body = m[1]
    m = re.match(r"《(?P<t>[^》]{1,60})》[\s:：,，。]*(?P<c>.*)$", body, re.S)
    if m:
        return m["t"].strip(), (m["c"].strip() or body)
    m = re.match(r"(?P<t>[^。！？!?\n]+)[。！？!?\n]+(?P<c>.+)$", body, re.S)
    if m and len(m["t"].strip()) <= 40 and m["c"].strip(STRIP):
        return clean(m["t"]), m["c"].strip()
    # "关于农村留守老人就医难的问题 我村有不少独居老人，…": a title that ends as titles do, then a space.
    m = _SPACED_TITLE_RE.match(body)
    if m and m["c"].strip(STRIP):
        return clean(m["t"]), m["c"].strip()
    first = re.split(r"[，,；;：:。！？!?\n]", body, maxsplit=1)[0].strip()
    spaced = first.split()
    if len(spaced) >= 2 and 6 <= len(spaced[0]) <= 30:
        return clean(spaced[0]), body  # 县医院停车场收费太贵 群众看病停车要20块 …: typed with spaces for pauses
    if len(first) > 30 and (m := _UNPAUSED_TITLE_RE.match(first)):
        return clean(m["t"]), body  # 我想反映一下我们镇上的垃圾清运不及时的问题夏天臭味很大…: voice, no pauses
    title = first if 0 < len(first) <= 30 else body[:30]
    return clean(title), body


def _asks_about_notes(rest: str) -> bool:
    """After a keyword: "情况", "这个季度交了几条", "采用了几篇" ask about notes; a note's text does not."""
    rest = _LEADING_PERIOD_RE.sub("", rest)
    if _QUERY_TAIL_RE.match(rest) or _PASSIVE_STEP_RE.match(rest) or _not_sent_yet(rest):
        return True
    if len(rest) <= 12 and _RULE_OF_NOTES_RE.match(rest):
        return True  # 社情民意要一事一报: how notes are written, said to all
    if _NOT_SENDING_RE.match(re.split(rf"[{SEP}\n]", rest, maxsplit=1)[0]) and len(rest) <= 24:
        return True
    head = re.split(rf"[{SEP}\n《]", rest, maxsplit=1)[0][:10]
    # 我交了社情民意没 / …了吗: a question about having sent one, not a note whose text is 没; 社情民意我交了
    # says one was sent (the sender's record answers whether the bot has it), not a note whose text is 我交了.
    return bool(
        re.search(r"几篇|几条|几份|几件|几个|多少|吗$|没有$|了没|^了?[没么嘛吗]$|^了?没交$", head)
        or re.search(r"^(?:有|是)?(?:什么|啥)(?:格式|要求|模板)|怎么写|怎样写|如何写|写多少|多少字|字数|模板|范文", head)
        or SENT_ALREADY_RE.match(head)
    )


# 我昨天已经交过社情民意了 (sent before: the record answers) / 张三的调研报告写得很好 (someone's) / 建议书
_SENT_BEFORE_RE = re.compile(
    r"(?:已经|已|早就|早都|都|刚|刚刚|就)(?:交|报|提交|报送|上报|发)(?:过)?(?:了)?(?:的)?$|(?:交|报|提交|发)过(?:的)?$"
)
_WHOSE_RE = re.compile(r"(?P<who>他|她|他们|别人|人家|[\u4e00-\u9fff·]{2,4})的")


def _preamble_ok(preamble: str, word: str, rest: str = "") -> bool:
    if preamble in ("这篇", "那篇", "这条", "那条", "这份", "那份", "这个", "那个"):
        return False  # 这篇社情民意…: one already sent, pointed at
    whose = _WHOSE_RE.fullmatch(preamble)
    if _SENT_BEFORE_RE.search(preamble) or (whose and (len(whose["who"]) <= 2 and whose["who"][0] in "他她别人" or is_name(whose["who"]))):
        return False
    if word == "建议" and rest.startswith("书"):
        return False  # 建议书我已经交给县政协了: a document named, not a suggestion's text
    if _PREAMBLE_RE.match(preamble):
        return True
    if not _LOOSE_PREAMBLE_RE.match(preamble) or _ASKING_RE.search(preamble):
        return False
    # A short keyword after free words only when a note plainly follows ("…提交提案一件：关于…").
    return (len(word) >= 4 and len(preamble) <= 8) or bool(_COUNTED_BODY_RE.match(rest))


def keyword_at(core: str) -> tuple[str, int, int] | None:
    """(intent, start, end) of the note keyword that opens `core` after a preamble, typos allowed."""
    exact = None
    for m in _SUBMISSION_RE.finditer(core[:30]):
        if _preamble_ok(core[: m.start()], m[0], core[m.end() :]):
            exact = (vocab.SUBMISSION_KINDS[m[0]], m.start(), m.end())
        break
    if exact and exact[2] - exact[1] >= 4:
        return exact
    for start in range(min(len(core), 16) if exact is None else exact[1] + 1):
        if not _PREAMBLE_RE.match(core[:start]):
            continue
        for word in vocab.FUZZY_SUBMISSION_WORDS:
            window = core[start : start + len(word)]
            if len(set(window) & set(word)) >= 2 and vocab.sounds_like(window, word):
                intent = vocab.SUBMISSION_KINDS[word]
                if exact is None or exact[0] == intent:  # a slip never changes what was named exactly
                    return intent, start, start + len(word)
    return exact


def _proposes(word: str, preamble: str, rest: str) -> bool:
    return word == "建议" and not preamble and len(rest) >= 10 and not _TO_THE_GROUP_RE.match(rest)


_SEE_FILE_RE = re.compile(r"(?:内容|全文|正文|具体)?(?:详)?见附件|附件|(?:见|在)(?:下面的?|后面的?)?(?:文件|附件)里?")


def _keyword_note(t: Text) -> Command | None:
    core = t.core
    found = keyword_at(core)
    if not found:
        return None
    intent, start, end = found
    word, rest = core[start:end], core[end:]
    if _asks_about_notes(rest):
        return None
    short = len(word) <= 2  # 建议, 意见, 提案, 实事: a keyword only before a pause
    if short and not _BODY_START_RE.match(rest) and not _proposes(word, core[:start], rest):
        return None
    body = re.sub(
        r"^\s*(?:补交|补报|再交|提交|报送|上报|交)?(?:一[则篇条份件个]|[两几][篇条份件个])(?=[\s:：,，])", "", t.written_from(end)
    )
    if not re.sub(r"\[[\u4e00-\u9fffA-Za-z]{1,6}\]", "", body).strip(STRIP):
        return Command(intent)  # 社情民意[玫瑰]: an emoji is no text (the handler asks for it)
    if _SEE_FILE_RE.fullmatch(body.strip(STRIP)):
        return Command(intent)  # 调研报告 见附件: the text is the file's (the file's title, or asked for)
    title, content = split_note(body)
    return Command(intent, title=title, content=content)


# 我有个情况想反映一下: a note announced, its text to follow (the handler asks for it).
_WILL_REPORT_RE = re.compile(
    r"^(?:我|本人)?(?:这里|这边)?(?:有|有个|有一个|有件|有一件|有点|有些)(?:情况|问题|事情|事儿|事)(?:想|要|需要)?(?:跟您|给您|向您)?"
    r"(?:反映|反馈)(?:一下|下)?$"
)


def _note_to_come(t: Text) -> Command | None:
    """我有个情况想反映一下 (the text is asked for) / 社情民意写好了，明天发 (how to send it)."""
    if _WILL_REPORT_RE.match(t.bare):
        return Command("opinion")
    if not (said := keyword_at(t.core)):
        return None
    intent, start, end = said
    rest, before = t.core[end:], t.core[:start]
    to_come = _not_sent_yet(rest) or (len(rest) <= 20 and _SENT_ELSEWHERE_RE.match(rest))
    written = _WRITTEN_RE.match(before) and (not rest.strip(STRIP) or to_come)
    if (start == 0 or _LEADING_PERIOD_RE.fullmatch(before.rstrip("的") + "的")) and to_come or written:
        return Command("help", target="note_howto", content=intent)
    return None


def note(t: Text) -> Command | None:
    """A note opens with its keyword (after "我要交一篇" and the like) and then its text."""
    if coming := _note_to_come(t):
        return coming
    found = _keyword_note(t)
    if found is not None or keyword_at(t.core):
        return found
    core = t.core
    lead = _REPORT_LEAD_RE.match(core)
    m = _REPORT_RE.match(core, lead.end()) or _REPORT_RE.match(core) or _REPORT_HEADING_RE.match(core)
    if m and not _QUERY_TAIL_RE.match(core[m.end() :]):
        title, content = split_note(t.written_from(m.end()))
        return Command("opinion", title=title, content=content)
    m = _ABOUT_RE.match(core)
    if m:
        title, content = split_note(t.written_from(0))
        return Command(vocab.SUBMISSION_KINDS[m["kw"]], title=title, content=content)
    m = _TITLED_RE.search(core[:80])
    if m and not _ASKING_RE.search(core[: m.start()].replace("关于", "")):
        # "报告写好了，发一下：《关于…的调研报告》全文…": a work sent by its title, which names its kind.
        after = t.written_from(m.end()).strip(STRIP)
        # 提交社情民意一篇，题目《关于…的建议》: the kind said before the title is the kind, not its last word
        stated = next((w for w in _SUBMISSION_RE.findall(core[: m.start()]) if len(w) >= 4), None)
        kind = vocab.SUBMISSION_KINDS[stated or m["kw"]]
        return Command(kind, title=m["title"], content=after or m["title"])
    if re.match(r"标题[:：\s]", core) and re.search(r"(?:内容|正文)[:：\s]", core):
        # A titled note without a keyword: its title may name the kind, else it is the usual 社情民意.
        title, content = split_note(t.written_from(0))
        m = _ABOUT_RE.match(title or "")
        return Command(vocab.SUBMISSION_KINDS[m["kw"]] if m else "opinion", title=title, content=content)
    return None


def suggestion(t: Text) -> Command | None:
    """提个建议 / 我有个建议 / 提建议 followed by the suggestion itself."""
    m = _SUGGEST_RE.match(t.core)
    if not m or _QUERY_TAIL_RE.match(t.core[m.end() :]) or t.core[m.end() :].startswith("的"):
        return None
    title, content = split_note(t.written_from(m.end()))
    return Command("suggestion", title=title, content=content)


_CORRECT_RE = re.compile(r"^(?:我要|我想|请|帮我)?(?:更正|改正|更改|修改)(?:一下)?")
# 我想修改一下刚交的社情民意: the words after 修改 point at the note; they are not its new text.
_NOTE_REF = rf"(?:{vocab.alternation(vocab.SUBMISSION_KINDS)}|材料|稿子|那篇|那条|那份)"
_ONLY_A_REFERENCE_RE = re.compile(
    r"^(?:我|本人)?(?:刚才|刚刚|刚|上周|昨天|前天|之前|前面|上次|今天|上午|下午)?(?:交|提交|报|报送|发|写)?(?:过)?(?:的)?"
    rf"(?:那|这|上)?(?:一)?(?:篇|条|份|个)?(?:{vocab.alternation(vocab.SUBMISSION_KINDS)}|材料|稿子)?(?:信息)?(?:吧|啊|呢)?$"
)
# 我上周交的那篇社情民意有个错字，怎么改 / 我刚才提交的调研报告有误 / 社情民意发重了: a note already sent is
# wrong — how to mend it is answered, never a new note whose text is 有误.
_FAULT_RE = re.compile(
    r"有误|有错|错了|写错|打错|错字|错别字|有问题|不对|不准确|漏了|漏写|少写|要改|想改|怎么改|如何改|咋改|能改|"
    r"能不能改|可以改|改不了|修改|改一下|改正|更正|重新交|重交|重新发|发错|交错|交重|发重|重复了|重复交|多交了|多发了"
)
_NOTE_REF_RE = re.compile(_NOTE_REF)
_NOTE_TEXT_START = "\n:：《“\"" + " ,，;；。!！"


def note_fault(t: Text) -> Command | None:
    """A short message saying a note already sent is wrong or asking how to change it: help "fix"."""
    bare = t.bare
    m = _NOTE_REF_RE.search(bare)
    if len(bare) > 32 or m is None:
        return None
    before, rest = bare[: m.start()], bare[m.end() :]
    if rest[:1] and rest[0] in _NOTE_TEXT_START and not _FAULT_RE.match(rest.lstrip(STRIP)):
        return None  # 社情民意：村口路标有误…: a note whose text says so
    if m[0] in vocab.SUBMISSION_KINDS and len(m[0]) <= 2 and _FAULT_RE.match(rest):
        return None  # 建议修改村口的限速标志: a suggestion to amend something
    return Command("help", target="fix") if _FAULT_RE.search(rest[:10]) or _FAULT_RE.search(before) else None


# 我刚才那篇写错了，标题应该是关于…的建议 / #12的标题改为…: a new title, the text kept (reason "title").
_RETITLE_RE = re.compile(
    r"^(?:我|本人)?(?:刚才|刚刚|刚|上一篇|上一条)?(?:交|提交|发|报)?(?:的)?(?:那篇|那条|这篇|那份|"
    rf"{vocab.alternation(vocab.SUBMISSION_KINDS)})?\s*(?P<n>#\s*\d{{1,9}})?\s*(?:的)?"
    r"(?:写错了|有误|错了|打错了|不对)?[，,\s]*(?:的)?(?:标题|题目)(?:写错了|错了|有误)?[，,\s]*"
    r"(?:应该是|应该为|应为|改为|改成|换成|更正为|是)[:：\s]*(?P<title>\S.{1,100})$"
)


# 刚才那条是调研报告 / 上一篇应该算建议，不是社情民意 / #9改为调研报告: the note's kind, not a new note.
_KINDS = vocab.alternation(vocab.SUBMISSION_KINDS)
_RELABEL_RE = re.compile(
    r"^(?:我|本人)?(?:(?:刚才|刚刚|刚|上一条|上一篇|前面|之前)(?:发|交|报|提交)?(?:的)?(?:那条|那篇|那个|那份|这条|这篇)?(?:材料|消息)?"
    r"|(?P<n>#\s*\d{1,9})\s*(?:号)?)\s*"
    r"(?:是|算|应该是|应该算|其实是|要算|记为|应记为|改为|改成|改记为|换成|记成)(?:一篇|一份|一条|一件)?"
    rf"(?P<kw>{_KINDS})(?:信息)?(?:[，,\s]*(?:不是|而不是)(?:{_KINDS})(?:信息)?)?(?:吧|哈|啊|哦)?[。!！]?$"
)


def correct(t: Text) -> Command | None:
    """更正 #12 新标题。新内容: the corrected note follows the number; a new title alone keeps the text;
    刚才那条是调研报告 changes its kind (reason "kind", content the kind)."""
    if r := _RELABEL_RE.match(t.core):
        return Command("correct", target=number(r["n"] or "")[0], content=vocab.SUBMISSION_KINDS[r["kw"]], reason="kind")
    if r := _RETITLE_RE.match(t.core):
        title = clean(re.sub(r"^[《「“\"]|[》」”\"。.]$", "", r["title"].strip(STRIP)))
        return Command("correct", target=number(r["n"] or "")[0], title=title, reason="title")
    m = _CORRECT_RE.match(t.core)
    if not m:
        return None
    rest_core = t.core[m.end() :].lstrip(" :：,，")
    if r := _RETITLE_RE.match(rest_core):  # 更正：刚才那篇标题错了，应该是…: the new title alone
        title = clean(re.sub(r"^[《「“\"]|[》」”\"。.]$", "", r["title"].strip(STRIP)))
        return Command("correct", target=number(r["n"] or "")[0], title=title, reason="title")
    target, rest = number(t.core[m.end() :])
    rest = re.sub(r"^[\s:：,，]*(?:上一条|上一篇|刚才的?|刚刚的?)?[\s:：,，]*(?:为|成)?[\s:：,，]*", "", rest)
    found = keyword_at(rest)
    if found and found[1] == 0:
        rest = rest[found[2] :]
    if _ONLY_A_REFERENCE_RE.match(rest.strip(STRIP)):
        return Command("correct", target=target)  # the new text is asked for
    title, content = split_note(rest)
    return Command("correct", target=target, title=title, content=content)
