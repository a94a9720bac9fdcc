"""Questions: 帮助 and how-to questions, 我的履职 (a member's own record or, for a leader, 张三的履职),
and the leaders' questions about the group (本组情况, 谁还没交社情民意, 这个季度视察了几次, 待审批)."""

from __future__ import annotations

import re
from dataclasses import replace

from bot import vocabulary as vocab
from bot.messages import Command
from bot.reading.notes import SENT_ALREADY_RE
from bot.reading.text import (
    GROUP_RE,
    PERIOD_RE,
    STRIP,
    Text,
    is_name,
    kind_named,
    past_leaning,
    period_word,
    target_word,
    when,
)

_NOTE_INTENTS = frozenset(vocab.SUBMISSION_KINDS.values())
# "请履职助手汇总一下…", "烦请查询…", "麻烦帮我看看…": asking, then what is asked.
_QUERY_PREFIX_RE = re.compile(
    r"^(?:请问|请教一下)?(?:目前|现在|到现在|截至目前|至今)?(?:请(?=履职助手|小助手|助手|机器人)|烦请|麻烦)?(?:履职助手|小助手|助手|机器人)?(?:请(?=查|看|帮|统计|问|汇总)|麻烦|帮我|帮忙|我想|想)?"
    r"(?:查询|查看|查一下|查下|查查|查|看看|看一下|看下|看|了解一下|统计一下|汇总一下|汇总|问一下|问问|告知|告诉我)?(?:一下)?"
    r"(?:目前|现在)?"
)
_QUERY_SUFFIX_RE = re.compile(
    r"(?:[,，。!！\s]+(?:谢谢|多谢|辛苦了|麻烦了)[。!！]*)$|"
    r"(?:发我看看|发给我看看|发给我|发我|给我看看|给我看一下|看看|看一下|说一下|汇报一下|报一下|统计一下|查一下)[吧呢啊]?$"
)

# -- 帮助 ---------------------------------------------------------------------------------------------

_HELP_WORDS = {
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
    "帮助一下",
    "功能菜单",
    "有什么功能",
    "有哪些功能",
    "能做什么",
    "你能做什么",
    "你会什么",
    "能干什么",
    "能干啥",
    "你能干啥",
    "能干撒子",
    "能干嘛",
    "你会干啥",
    "你是干啥的",
    "你是干什么的",
    "怎么操作",
    "使用方法",
    "操作说明",
}
# "怎么请假" / "通过什么方式提交社情民意？": a question about the bot is a request for help.
_HOW_RE = re.compile(
    r"^(?:请问|问一下|想问一下|我想问一下|请教一下)?[，,\s]*(?:我)?(?:该|应该|要)?"
    r"(?:怎么|如何|怎样|咋|通过什么方式|用什么方式|以什么方式|什么方式|在哪里?|去哪里?)(?:样)?"
    r"(?:才能|可以|能|来)?(?:用|使用|签到|请假|交|提交|报送|上报|发|反映|绑定|补报|补签|撤回|更正|查|操作|报|销假)"
)
_HOW_TO_USE_RE = re.compile(
    r"怎么用|咋用|如何使用|怎么使用|怎样使用|怎么操作|咋操作|使用说明|有什么用|怎么弄"
    r"|(?:能|会)(?:干|做)(?:啥|什么|撒子|嘛|些什么)"
)


# 积分怎么算的 / 履职积分的规则 / 怎么加分: the score as configured (help, target "scoring").
_SCORING_HOW_RE = re.compile(
    r"^(?:履职)?(?:积分|分数|得分|考核分)(?:是)?(?:怎么|如何|咋)(?:算|计算|计|评|定)(?:的)?(?:啊|呀)?$"
    r"|^(?:履职)?(?:积分|考核)(?:的)?(?:规则|办法|标准|细则)(?:是什么|是啥)?$|^(?:怎么|如何|咋)(?:样)?(?:才能)?(?:加分|得分|拿分)$"
)
# 我今天去村里走访群众，算不算履职: what the bot records (help, target "counts").
_COUNTS_RE = re.compile(
    r"(?:算不算|能不能算|可不可以算|能算|可以算|算)(?:是|作|做)?(?:我的)?(?:履职|积分|加分|工作量|数)(?:吗|呢|不)?$|能加分吗$|算不算数?$"
    # 今天视察的情况写个社情民意行不行: whether something may be written up (走访、视察见闻 may)
    rf"|(?:写|写成|写个|写一篇|报|交)(?:一个|个|一篇|篇)?(?:{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:行不行|行吗|可以吗|可不可以|能不能|好不好)[?？]?$"
)


# 社情民意一般写多少字 / 社情民意怎么写 / 有模板吗: how a note is written (help, target "note_howto").
_NOTE_HOWTO_RE = re.compile(
    rf"^(?:我想问一下|我想问下|想问一下|想问下|问一下|问下|请问)?(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:一般|大概|最好|应该|要|该|需要)?"
    r"(?:怎么写|怎样写|如何写|咋写|写多少字?|多少字|写几个字|几个字|字数(?:有)?(?:要求|限制)?|有(?:什么|啥)(?:格式|要求|模板|讲究)(?:要求)?"
    r"|(?:的)?(?:格式|模板|范文|写法|要求)(?:是什么|是啥|有吗)?|有模板吗|有范文吗|写什么内容?|写什么"
    r"|(?:要|该|应该)?(?:怎么|怎样|如何|咋)(?:交|提交|报|报送|上报|发)|(?:要|该|应该)?(?:交到|交给|报给|报到|发到|往|在)(?:哪里?|哪儿|谁|哪个)(?:交|报|发)?)[吗呢啊]?$"
)


def help_(t: Text) -> Command | None:
    """帮助 / ? / 怎么请假 / 这个助手怎么用 / 我上传个附件 (target "files") / 积分怎么算的 ("scoring") /
    社情民意怎么写 ("note_howto") / …算不算履职 ("counts")."""
    bare = t.bare.lower()
    if len(bare) <= 16 and _FILES_HOW_RE.match(bare):
        return Command("help", target="files")
    said = _QUERY_SUFFIX_RE.sub("", bare).strip(STRIP)  # without the trailing 谢谢 / 呢
    if len(bare) <= 20 and _SCORING_HOW_RE.match(said):
        return Command("help", target="scoring")
    if len(bare) <= 30 and (m := _NOTE_HOWTO_RE.match(said)):
        return Command("help", target="note_howto", content=vocab.SUBMISSION_KINDS[m["kw"]])
    if len(bare) <= 40 and ":" not in bare and "：" not in bare and _COUNTS_RE.search(said):
        return Command("help", target="counts")
    asked = _QUERY_SUFFIX_RE.sub("", _QUERY_PREFIX_RE.sub("", bare, count=1)).strip(STRIP)
    if bare in _HELP_WORDS or asked in _HELP_WORDS or t.core.strip() in _HELP_WORDS or _HOW_RE.match(t.core):
        return Command("help")
    return None


# 后台: the office's web page, asked for by a whole message (登录后台, 后台链接, 网页版).
_BACKSTAGE_RE = re.compile(
    r"^(?:我要|我想|请|帮我|麻烦)?把?(?:登录|登陆|打开|进入|进)?(?:管理)?(?:后台|网页版|网页后台)(?:登录|登陆)?(?:链接|地址|网址|入口)?"
    r"(?:怎么|如何)?(?:登录|登陆|进|打开)?(?:发我|发给我|给我)?[吧呢啊]?$"
)


_BACKSTAGE_WORD_RE = re.compile(r"后台|网页版|网页端|电脑版")
_BACKSTAGE_SHORT = 14  # 请给我后台链接, 后台打不开咋办: a short message about it asks for the link


# 提醒一下大家交社情民意: a leader asks the bot to remind the group — answered as 谁还没交 (which @s them).
_REMIND_RE = re.compile(
    r"^(?:请|麻烦)?(?:帮我|帮忙)?(?:提醒|催|催促|催一催|督促)(?:一下|下)?(?:大家|各位|全体|委员们?|组员们?|没交的|还没交的)?(?:委员)?"
    r"(?:抓紧|尽快|及时|按时)?(?:交|提交|报送|上报|写|报)(?:一下)?"
    rf"(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})"
)


# 大家抓紧时间交社情民意，月底前每人至少一篇: a leader urging the group, never a note of that text.
_URGE_RE = re.compile(
    r"^(?P<ask>请|希望|望)?(?P<who>大家|各位|各位委员|全体委员|委员们|同志们|还没交的|没交的|还没交的委员|没交的委员)?(?:要|都|也)?"
    r"(?:抓紧|尽快|抓紧时间|及时|按时|记得|别忘了|不要忘了|不要忘记|务必|赶紧|加紧)+(?:时间)?(?:把)?"
    r"(?:本月|这个月|本季度|这个季度|月底前|年底前)?(?:的)?(?:交|提交|报送|上报|写|报)(?:一下|好)?(?:一篇|一份|一条)?"
    r"(?:本月|这个月|本季度|这个季度|今年)?(?:的)?"
    rf"(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})"
)


# 提醒一下没签到的 / 今天参加座谈会的委员请在群里签到: a leader asking who has not checked in (@-ed).
_URGE_CHECKIN_RE = re.compile(
    r"^(?:请|麻烦)?(?:帮我|帮忙)?(?:提醒|催|催促|催一催|督促|通知)(?:一下|下)?(?:大家|各位|全体)?(?:委员)?(?:还)?(?:没|未|没有)?"
    r"(?:签到|签)(?:的)?(?:委员|人|同志)?(?:签到)?(?:一下)?[。!！]*$"
    r"|(?:大家|各位|各位委员|委员们|的委员|的同志)(?:请|都)?(?:在群里|在这里|及时|尽快|抓紧|记得|别忘了)*(?:签到|签个到)(?:一下)?[。!！]*$"
)


# 提醒一下还没交社情民意的同志 / 催催没交调研报告的委员: those who owe it, named by what they owe.
_REMIND_OWING_RE = re.compile(
    r"^(?:请|麻烦)?(?:帮我|帮忙)?(?:提醒|催|催催|催促|催一催|督促)(?:一下|下)?(?:那些|大家中)?(?:还)?(?:没|未|没有)(?:交|提交|报|写)"
    rf"(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:的)?(?:同志|委员|人|组员)?(?:们)?[。!！]*$"
)


# 请大家把社情民意发给我，我统一报送: the leader collects them; who still owes one is the answer.
_HAND_IN_RE = re.compile(
    r"^(?:请|麻烦)?(?:大家|各位|各位委员|委员们|全体委员)(?:尽快|及时|抓紧|都)?把(?:本月|这个月|本季度|今年)?(?:的)?"
    rf"(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:都|尽快|及时)?(?:发给我|交给我|报给我|交上来|报上来|发上来|发到群里|发群里|交到我这|发我)"
)


def remind_to_submit(t: Text) -> Command | None:
    """提醒一下大家交社情民意 / 催一下没交的交调研报告 / 大家抓紧交社情民意: who still owes that
    kind (their names @-ed)."""
    if _URGE_CHECKIN_RE.search(t.bare) and len(t.bare) <= 30:
        return Command("status", target="checkin")
    m = _REMIND_RE.match(t.bare) or _HAND_IN_RE.match(t.bare) or _REMIND_OWING_RE.match(t.bare)
    if m is None and (urged := _URGE_RE.match(t.bare)) and (urged["who"] or urged["ask"] or t.to_everyone):
        m = urged  # 请抓紧提交本月社情民意 asks the group; 抓紧交社情民意 alone may be one's own note
    return Command("status", target=vocab.SUBMISSION_KINDS[m["kw"]]) if m else None


def backstage(t: Text) -> Command | None:
    """后台 / 登录后台 / 后台链接 / 网页版: a login link for the office's web page."""
    bare = _QUERY_SUFFIX_RE.sub("", t.bare).strip(STRIP)
    return Command("office_link") if _BACKSTAGE_RE.match(bare) else None


def backstage_mention(t: Text) -> Command | None:
    """请给我后台链接 / 后台打不开咋办: a short message about the page that no other rule read."""
    bare = t.bare
    short = len(bare) <= _BACKSTAGE_SHORT and not any(w in bare for w in vocab.SUBMISSION_KINDS)
    return Command("office_link") if short and _BACKSTAGE_WORD_RE.search(bare) else None


# 我上传个附件 / 怎么发文件 / 照片怎么交: how files reach the bot (help, target "files").
_FILES_HOW_RE = re.compile(
    r"^(?:我|我想|我要|怎么|如何|能不能|可以)?(?:上传|发|传|交|提交|附)(?:个|一个|一下|下)?(?:附件|文件|图片|照片|word|pdf|文档)"
    r"(?:吗|呢|怎么发|怎么弄|怎么上传)?$|^(?:附件|文件|图片|照片)(?:怎么|如何)(?:发|传|上传|交|提交)"
    # 社情民意可以发图片吗 / 照片能当附件吗: whether a note may carry a file
    r"|^(?:社情民意|调研报告|提案|建议|材料)?(?:可以|能|能不能|可不可以)(?:发|带|附|传|上传|加)(?:个|一下)?(?:图片|照片|附件|文件|word|pdf)(?:吗|么|不)?$"
    r"|^(?:图片|照片|文件|word|pdf)(?:可以|能)(?:当|作为|做)(?:附件)(?:吗|么)?$"
)


# 机器人收到请回复 / 机器人坏了吗 / 怎么没反应 / 这个机器人好用吗: the bot itself asked after.
_BOT_PING_RE = re.compile(
    r"^(?:这个|你这个)?(?:机器人|助手|履职助手|小助手)(?:你)?(?:收到请回复|收到请回答|收到吗|收到没|坏了吗|坏了|好用吗|还在吗|在不在)"
    r"|^(?:机器人|助手)?(?:怎么|为什么|咋)(?:没反应|没有反应|不回复|不回|不理我|没回复)(?:了)?(?:呢|啊)?"
    r"|^谁(?:管|负责|维护)(?:这个)?(?:机器人|助手)"
)


def help_question(t: Text) -> Command | None:
    """这个助手能干什么 / 怎么用 / 机器人坏了吗: a short message asking about the bot."""
    bare = t.bare.lower()
    if len(bare) <= 24 and (_HOW_TO_USE_RE.search(bare) or _BOT_PING_RE.match(bare)):
        return Command("help")
    return None


# -- 我的履职 -------------------------------------------------------------------------------------------

_MY_RE = re.compile(
    r"^(?:我的|本人的?)(?:履职|情况|记录|档案|统计|进度|社情民意|提案|签到|请假|完成情况|积分|成绩|任务)"
    r"|^我(?!们)(?:\S{0,6}?)(?:交|报|提交|报送|签到|请假|参加|参与|出席|写|完成|缺席)了?(?:几|多少)"
    r"|^我(?!们)(?:还)?(?:欠|差|缺|少)(?:几|多少|什么|哪些|啥)"
    r"|^我的?(?:出勤|出席|到会|考勤|参会)(?:率|情况|次数)?(?:是)?(?:多少|怎么样|咋样|如何|高吗)?$"
    r"|^我(?!们)还?有?(?:什么|啥|哪些|哪几项|几项|多少)(?:任务|事情?|工作|活)?(?:还)?(?:没|未|没有)(?:完成|做完|做|交|办)"
    rf"|^我(?!们)\S{{0,4}}?(?:已经|已|早就|都|刚|就)(?:交|报|提交|报送|发)过?了?(?:{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?了?$"
    r"|^我(?!们)(?:\S{0,6}?)(?:完成|达标|合格)(?:了吗|了没|得怎么样|情况|没有)"
    r"|^我(?!们)(?:\S{0,6}?)(?:履职|情况|出勤|考勤|出席)(?:情况)?得?(?:怎么样|咋样|如何)"
    r"|^我(?!们)(?!\S{0,4}?(?:建议|希望|觉得|认为|提议))\S{0,8}?(?:几|多少)(?:次|篇|条|件|回|份)"
    r"|^我(?!们)(?:的)?\S{0,6}?(?:积分|分数|得分|排名)"
    r"|^(?:我|本人)(?:的)?\S{0,4}?(?:履职的?|的履职)(?:情况|记录)?$"
    r"|^我(?!们)\S{0,4}?(?:还有|还)(?:哪些|什么|啥|几项|几个|哪几项)(?:没|未)(?:完成|交|做|达标)"
    r"|^我(?!们)\S{0,6}?(?:交|报|提交|报送|写|发)(?:了|过)\S{0,8}?(?:吗|没|没有|么|嘛|没交)$"
    r"|^我(?!们)\S{0,6}?(?:交|报|提交|报送|写|发)\S{0,8}?(?:了吗|了没|了没有|过吗|过没有)$"
    # 我这个月怎么样 / 查一下我的: one's own record, asked in the fewest words
    r"|^我(?!们)(?:这个月|本月|今年|这季度|本季度|上个月|最近)?(?:的)?(?:情况)?(?:怎么样|咋样|如何)(?:了)?$"
    r"|^(?:查一下|查查|查|看看|看一下)?我的$"
)
_STILL_OPEN_RE = re.compile(
    r"还(?:有|差|欠|缺|剩)?(?:哪些|什么|啥|几项|哪几项|多少)|没完成|未完成|差什么|差啥|完成了(?:吗|没有?)|达标了(?:吗|没有?)"
)
# 这个月还要交几篇社情民意 / 我还差几篇社情民意 / 还要交几篇提案: the count and the quota asked of it.
_OWED_RE = re.compile(
    r"^(?:我|本人)?(?:(?:还|还要|还需要|还需|还得|需要|要|应该|应|得)(?:再)?(?:交|报|提交|报送|写)|还(?:差|欠|缺|少))"
    rf"(?:几|多少)(?:篇|条|份|件|个)?(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:才(?:够|行|达标|完成|算完成))?$"
)
# 这个月的社情民意我交过没有 / 今年的任务我还差啥: what is asked about first, then the sender's question.
_KIND_FIRST_RE = re.compile(
    rf"^(?:(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?|(?:履职)?任务|指标)(?:的)?(?:呢)?[，,]?(?=我(?!们))"
)
_RECORD_OF_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fff·]{2,5}?)(?:委员)?(?:的?(?:履职|情况|记录|档案)(?:情况|记录|档案|统计)?(?:怎么样|咋样|如何)?"
    r"|(?:交|报|参加)了(?:啥|什么|几篇|几次|多少|哪些)(?:活动)?"
    # 李四这个月交了没 / 张三今年请了几次假: a question on one member's record (its period read apart)
    r"|(?:交|报|提交|写|请|参加|出席|缺席|出勤|签到|签了)(?:了|过)?(?:(?:几|多少)[篇次件份个]?(?:社情民意|意见建议|建议|调研报告|提案|为民办实事|材料|假|活动)?"
    r"|(?:社情民意|意见建议|建议|调研报告|提案|为民办实事|材料|假|活动)?(?:没|没有|吗)))$"
)
_NOT_A_MEMBER_RE = re.compile(
    r"组|县|全|本|各|我|谁|哪|大家|所有|今|上|去|这|那|季|月|年|社情|建议|提案|视察|调研"
)


def query_core(t: Text) -> str:
    """The question without "查看", the period word and "谢谢": what is being asked."""
    q = _QUERY_SUFFIX_RE.sub("", _QUERY_PREFIX_RE.sub("", t.bare, count=1)).strip(STRIP)
    q = _QUERY_SUFFIX_RE.sub("", q).strip(STRIP)
    q = PERIOD_RE.sub("", q).strip(STRIP) or q
    return re.sub(r"^的", "", _QUERY_PREFIX_RE.sub("", q, count=1))


# -- 积分: the yearly duty score --------------------------------------------------------------------

_SCORE_WORD = r"(?:履职)?(?:积分|得分|分数|考核分)"
_SCORE_RE = re.compile(
    rf"^(?P<whose>我|本人|俺)(?!们)的?\S{{0,6}}?{_SCORE_WORD}"
    rf"|^(?P<county>全县|县里|各组|各联络组|全体委员|所有委员|委员)的?\S{{0,4}}?{_SCORE_WORD}"
    r"|^(?P<group>本组|我组|全组|小组|我们组|咱们组|咱组|组里|联络组|我们|咱们)?的?"
    rf"(?:委员)?{_SCORE_WORD}(?:排名|排行|情况|统计|汇总|榜|(?:在全县)?(?:排第几|排多少名?|第几名|排在第几|排名第几))?(?:怎么样|咋样|如何)?$"
    rf"|^{_SCORE_WORD}(?:排名|排行|榜)"
    # 今年谁的积分最高 / 积分最高的是谁: the county's ranking
    rf"|^(?P<top>(?:全县)?(?:谁|哪位委员|哪个委员)的?{_SCORE_WORD}最(?:高|多)|(?:全县)?{_SCORE_WORD}最(?:高|多)的(?:是谁|是哪位|有谁|委员))"
)


_NAMED_SCORE_RE = re.compile(
    rf"^(?P<name>[\u4e00-\u9fff·]{{2,5}}?)(?:委员)?的?{_SCORE_WORD}(?:是)?(?:多少|几分|怎么样|咋样|排第几|排名)?(?:分)?[?？吗呢]*$"
)


def score(t: Text) -> Command | None:
    """我的积分 (target None), 本组积分 / 第二联络组积分 (target "group", content the group named),
    全县积分排名 (target "county"); title the period word as written (the score is yearly)."""
    q = query_core(t)
    if not re.search(_SCORE_WORD, q):
        return None  # 我要调到第二联络组: a group named, no score asked
    q, group = _without_group(q)
    m = _SCORE_RE.match(q)
    if m is None and (named := _NAMED_SCORE_RE.match(q)) and is_name(named["name"]) and len(t.core) <= 30:
        return Command("score", title=period_word(t), target=named["name"])  # 张三今年的积分
    if m is None or len(t.core) > 30:
        return None
    if m["whose"]:
        return Command("score", title=period_word(t))
    if m["county"] or m["top"] or (
        m["group"] is None and group is None and q.startswith(("积分排", "积分榜", "分数排"))
    ):
        return Command("score", title=period_word(t), target="county")
    return Command("score", title=period_word(t), target="group", content=group)


_MY_NOTES_RE = re.compile(
    rf"^(?:我的|本人的|我交的|我提交的|我报的|我报送的|我写的|我那篇|我的那篇|我上次那篇|我交的那篇|我上次交的)(?:所有|全部)?(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})"
    r"(?:信息)?(?:都有哪些|有哪些|列表|清单|记录|情况|进展|进度|流转情况|到哪了|办得怎么样了)?$"
    # "我的社情民意都到哪一步了" / "我交的提案现在怎么样了": a short question after the kind, no colon
    rf"|^(?:我的|本人的|我交的|我提交的|我报的|我写的|我那篇|我的那篇|我上次那篇|我交的那篇|我上次交的)(?P<kw2>{vocab.alternation(vocab.SUBMISSION_KINDS)})"
    r"(?:信息)?(?=[^：:]{0,12}$)[^：:]*?(?:哪|怎么样|怎样|如何|进展|进度|状态|情况|了吗|没有|回复|反馈|结果|消息)[^：:]*$"
)


_JOURNEY_RE = re.compile(
    r"^(?:全县|县里|各组|本组|我组|全组|我们组|咱们组)?的?(?:社情民意|社情民意信息|材料)?(?:的)?(?:流转|采用|编报|办理|采纳)(?:和反馈)?"
    r"(?:情况|统计|汇总|进度|进展)(?:怎么样|咋样|如何)?$"
    r"|^(?:全县|县里|各组|本组|我组|全组|我们组|咱们组)?的?(?:社情民意|社情民意信息)(?:被)?(?:采用|编报|采纳|批示)(?:了)?(?:几篇|多少篇|几条|多少)(?:了)?$"
    # 我们组有多少社情民意被采用了 / 今年全县采用了多少篇 / 这个月采用了几篇: the count asked first
    r"|^(?:全县|县里|各组|本组|我组|全组|我们组|咱们组)?(?:有|一共|总共|共)?(?:多少|几)(?:篇|条)?(?:社情民意|社情民意信息)?(?:被)?(?:采用|采纳|编报)了?$"
    r"|^(?:全县|县里|各组|本组|我组|全组|我们组|咱们组)?(?:一共|总共|共)?(?:被)?(?:采用|采纳|编报)了(?:多少|几)(?:篇|条)(?:社情民意)?$"
)


# #12 到哪一步了 / 查一下#12 / #12 的流转 / #12采用了吗: one note's journey.
_NOTE_JOURNEY_RE = re.compile(
    r"^(?:请问|查一下|查查|查|看看|看一下)?(?:社情民意|材料|稿子|那篇)?#\s*(?P<n>\d{1,9})\s*(?:号)?(?:的)?"
    r"(?:流转|进度|进展|情况|状态|去向|到哪一步了|到哪了|到哪一步|怎么样了|咋样了|采用了吗|采用了没|有结果了吗|有反馈吗)?[?？]?$"
)


def note_journey(t: Text) -> Command | None:
    """#12 到哪一步了 / 查一下#12: that note's steps (never a bare "#12", which other rules read)."""
    m = _NOTE_JOURNEY_RE.match(t.bare)
    if not m or t.bare.lstrip("#").strip().isdigit():
        return None
    return Command("note_journey", target=m["n"])


def journey_query(t: Text) -> Command | None:
    """社情民意流转情况 / 第二联络组社情民意采用情况: the funnel (status, target "journey"); before a
    note, whose keyword it starts with."""
    if len(t.core) > 30:
        return None
    q, group = _without_group(query_core(t))
    county = _COUNTY_LEAD_RE.match(q)  # 全县社情民意采用情况: the county's, in whichever chat
    if county:
        q = q[county.end() :]
    if not _JOURNEY_RE.match(q):
        return None
    return _query("status", t, target="journey", group="全县" if county else group)


# 12月份的社情民意我还没交，月底前补上 / 我还没交社情民意: saying so is no note; the count answers it.
_NOT_YET_RE = re.compile(
    rf"^(?:这次|这个月|本月|这期)?(?:的)?(?P<kw>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:我|本人)(?:还|暂时|目前|到现在|就|先)?(?:都)?"
    r"(?:没|没有|未|还没|不|交不了|写不了)(?:交|写|报|提交|报送|写好|写完)"
    rf"|^(?:我|本人)(?:还|暂时|目前)?(?:没|没有|未)(?:交|写|报|提交)(?:过)?(?:的)?(?P<kw2>{vocab.alternation(vocab.SUBMISSION_KINDS)})"
    # 调研报告可以晚点交吗 / 社情民意最晚什么时候交: when it is due (the quota's deadline answers)
    rf"|^(?P<kw3>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:可以|能|能不能|可不可以|最晚|最迟)?"
    r"(?:晚点|晚几天|晚一点|推迟|延后|迟点|迟一点|缓几天)(?:交|提交|报|报送)?(?:吗|不|么|呢)?$"
    rf"|^(?P<kw4>{vocab.alternation(vocab.SUBMISSION_KINDS)})(?:信息)?(?:最晚|最迟|截止|截至|什么时候|啥时候|哪天)(?:到)?(?:什么时候|啥时候|哪天|几号)?(?:交|截止|前交)?(?:吗|呢)?$"
)


# 什么时候截止 / 今天几号截止 / 截止日期是哪天 / 年底前要交什么: when what is owed is due, no kind named.
# 还有什么任务没完成 / 本季度的任务 / 六个至少我完成了几个 / 六个至少是什么: what the quotas ask now.
_TASKS_RE = re.compile(
    r"^(?:还有|还)(?:什么|啥|哪些|几项)(?:任务|指标)(?:还)?(?:没|未)(?:完成|做)$"
    r"|^(?:本月|这个月|本季度|这个季度|这季度|今年|本年度)?(?:的)?(?:履职)?(?:任务|指标)(?:是什么|有哪些|有什么)$"
    r"|^(?:本月|这个月|本季度|这个季度|这季度|今年|本年度)(?:的)?(?:履职)?(?:任务|指标)$"
    r"|^六个至少(?:是什么|是啥|有哪些|指什么|我完成了(?:几个|几项|吗|没有)|完成了(?:几个|几项|吗|没有)|的(?:要求|任务))?$"
)
_DUE_RE = re.compile(
    r"^(?:请问|问一下|问下)?(?:今天|这个月|本月|这季度|本季度|今年|年底前?|月底前?)?(?:的)?(?:任务|材料|履职任务)?"
    r"(?:(?:最晚|最迟)?(?:是)?(?:什么时候|啥时候|哪天|几号)(?:之前|前)?(?:要交|交|截止|截至|截止交)"
    r"|截止(?:日期|时间|时间点)(?:是)?(?:哪天|几号|什么时候|啥时候)?"
    r"|(?:还)?(?:要|得|需要)交(?:些)?(?:什么|啥|哪些))(?:吗|呢|啊|呀)?[?？]*$"
)


# 我是哪个组的 / 我们组长是谁 / 组里有几个人 / 本组名单: who is in the sender's group.
_MY_GROUP_RE = re.compile(
    r"^(?:我|本人)(?:是|在|属于|分在|被分在)(?:哪个|哪一个|哪|几)(?:联络)?组(?:的)?"
    r"|^(?:我们|咱们|本组|我们组的?|咱们组的?|本组的)?(?:组长|联络员)是(?:谁|哪位|哪个)"
    r"|^(?:我们|咱们|本)?(?:联络)?组(?:里|内|上)?(?:一共|总共)?(?:都)?(?:有)?(?:哪些人|谁|哪几个人|几个人|多少人|哪些委员|几位委员|哪几位)"
    r"|^(?:本组|我们组|咱们组)(?:的)?(?:名单|花名册|成员|成员名单|委员名单)"
)
_ENDING = r"(?:啊|呀|呢|来着)?[?？。]*$"


def my_group(t: Text) -> Command | None:
    """我是哪个组的 / 我们组长是谁 / 组里有几个人: the sender's group and who is in it."""
    q = query_core(t)
    m = _MY_GROUP_RE.match(q)
    return Command("my_group") if m and re.match(_ENDING, q[m.end() :]) else None


def owed(t: Text) -> Command | None:
    """这个月还要交几篇社情民意 / 还要交几篇提案 / 社情民意我还没交: the sender's count of that kind and
    what the quotas ask of it (my, content "owed"); before a note, whose preamble 还要交几篇 would pass."""
    q = query_core(t)
    m = _OWED_RE.match(q) or _NOT_YET_RE.match(q)
    if m is None:
        due = _DUE_RE.match(q) or _TASKS_RE.match(q) or (period_word(t) and re.fullmatch(r"(?:的)?(?:履职)?(?:任务|指标)", q))
        return Command("my", title=period_word(t), content="owed") if due else None
    found = m.groupdict()
    kind = vocab.SUBMISSION_KINDS[next(found[k] for k in ("kw", "kw2", "kw3", "kw4") if found.get(k))]
    return Command("my", title=period_word(t), target=kind, content="owed")


def who_gave(t: Text) -> Command | None:
    """本月谁交了社情民意 / 交了社情民意的有谁: the group's members who sent that kind, with their
    counts (status, reason "given"); before a note, which 交了社情民意 would open."""
    if len(t.bare) > 40:
        return None
    q, group = _without_group(query_core(t))
    m = _WHO_GAVE_RE.match(q)
    if m is None:
        return None
    kind = vocab.SUBMISSION_KINDS[m["kw"] or m["kw2"] or m["kw3"]]
    return replace(_query("status", t, target=kind, group=group), reason="given")


def _without_group(q: str) -> tuple[str, str | None]:
    """The question without the group it names (第二联络组的…), and that group."""
    group_m = GROUP_RE.search(q)
    if group_m is None:
        return q, None
    return re.sub(r"^的", "", (q[: group_m.start()] + q[group_m.end() :]).strip(STRIP)) or "情况", group_m[0]


def my_notes(t: Text) -> Command | None:
    """我的社情民意 / 我交的提案: the sender's notes of that kind, listed with their state (never a
    new, empty note)."""
    m = _MY_NOTES_RE.match(t.core)
    if m is None:
        return None
    kind = vocab.SUBMISSION_KINDS[m["kw"] or m["kw2"]]
    return Command("my", title=period_word(t), target=kind, content="notes")


# 我请的假批了没 / 我的请假批了吗 / 我的请假记录: one's own leave requests and what became of them.
_LEAVE_ASKED = r"(?:批了|批没|批准了|批下来了|通过了|同意了|怎么样了?|咋样了?|有结果了|审批了|取消了|撤回了|撤销了|撤掉了)"
# 你收到我的请假了吗 / 请假成功了吗 / 记上了吗: whether what one sent is kept (one's own record answers).
_KEPT_LEAVE_RE = re.compile(
    r"^(?:你)?(?:收到)?(?:我的)?请假(?:申请)?(?:你)?(?:收到了|成功了|提交成功了|交上了|报上了|记上了)(?:吗|没|没有|么)?$"
    r"|^(?:你)?收到(?:我的)?请假(?:申请)?了?(?:吗|没|没有|么)$"
)
_KEPT_RE = re.compile(r"^(?:我的|我刚才的|刚才的|刚才那篇|刚才那条|刚发的)?(?:记上|记下|收到|记录)了?(?:吗|没|没有|么)$")
_MY_LEAVE_RE = re.compile(
    rf"^(?:我|本人)(?:的|请的|请了的)(?:请假|假|假条)(?:申请|记录|情况)?{_LEAVE_ASKED}?(?:吗|没|没有|么|嘛)?$"
    rf"|^(?:我|本人)请假(?:申请)?{_LEAVE_ASKED}(?:吗|没|没有|么|嘛)?$"  # 我请假 alone asks for leave
)


def my(t: Text) -> Command | None:
    """我的履职 / 我这个月交了几篇 / 我本季度积分多少 / 我请的假批了没."""
    asked = _QUERY_SUFFIX_RE.sub("", t.bare).strip(STRIP)
    if _MY_LEAVE_RE.match(asked) or _KEPT_LEAVE_RE.match(asked):
        return Command("my", target="leave")
    if _KEPT_RE.match(asked):
        return Command("my")
    q = query_core(t)
    named = None
    if m := _KIND_FIRST_RE.match(q):
        q, named = q[m.end() :], vocab.SUBMISSION_KINDS.get(m["kw"] or "")
    if _MY_RE.match(q) or _MY_RE.match(_QUERY_PREFIX_RE.sub("", t.bare, count=1)) or (named and SENT_ALREADY_RE.match(q)):
        # Whose record: the sender's own (a leader's 张三的履职 is read by `status`); the target is
        # the submission kind asked about (我今年交了几篇社情民意), if any.
        kind = named or target_word(q)
        target = kind if kind in _NOTE_INTENTS else None
        # 我这个月还有什么没完成 / 今年的任务我还差啥: what is still open, the group's tasks too
        owed = "owed" if target is None and _STILL_OPEN_RE.search(q) else None
        return Command("my", title=period_word(t), kind=kind_named(q), target=target, content=owed)
    return None


# -- 本组情况 and the other questions about the group ----------------------------------------------------

_WHO_NOT = (
    r"(?:还有|还差)?(?:谁|哪些人|哪些委员|哪几位|哪几个|哪位|有谁|有哪些人|有哪些|哪些|哪个|几个人|多少人|啥子人|什么人|啥人)"
    r"(?:还)?(?:没|未|没有)"
)
_GROUP_WORDS = r"(?:本组|我组|全组|小组|我们组|咱们组|咱组|组里|联络组|我们|咱们|大家|全体)"
_HOW_WELL = r"(?:怎么样|咋样|怎样|如何)了?"
_KINDS = vocab.alternation(vocab.ACTIVITY_KINDS)
_SUBMISSIONS = vocab.alternation(vocab.SUBMISSION_KINDS)
_STATUS_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "county",
        re.compile(
            r"^(?:县里|全县|各组)?(?:哪个|哪些|哪几个)(?:联络)?组|^(?:县里|全县|各组|各联络组|全部联络组|所有联络组|各个联络组|各个组|所有组|全部组)+的?(?:总体|整体|总的)?(?:履职)?"
            r"(?:情况|进度|统计|排名|汇总|完成情况)?(?:怎么样|咋样|如何)?$"
        ),
    ),
    (
        "leave",
        re.compile(
            rf"^(?:有没有|还有|有)?{_GROUP_WORDS}?的?(?:待审批|待批|待处理|待审核|请假(?:情况|名单|记录|审批|列表|的人|人员|统计))"
            rf"|^{_GROUP_WORDS}?(?:里|内)?(?:都)?(?:谁|哪些人|哪几位|有谁|有人|有没有人|哪个|有哪些人)(?:要)?请假(?:了|吗|没有)?$"
            r"|^请假的(?:有)?(?:哪些|谁|几个)"
            # 明天的活动谁请假 / 明天的视察有几个人请假 / 有几个请假要批 / 审批一下请假: asked, not asking leave
            rf"|^(?:今天|明天|后天|这周|本周|下周)?(?:的)?(?:{_KINDS}|活动|会)?(?:有)?(?:谁|哪些人|哪几位|几个人|多少人|几位|几个)(?:要)?请(?:了)?假"
            r"|^(?:有)?(?:几个|几条|多少)(?:人)?请假(?:的)?(?:要|等着|需要)(?:我)?(?:批|审批|处理)"
            r"|^(?:审批|处理|批)一下(?:请假|假条)|要我批"

            r"|^(?:还有|有没有|有)?(?:几个|几条|多少)?(?:人)?请假(?:的)?(?:还有)?(?:几个|几条|多少)?(?:还)?(?:没批|没审批|未批|没处理|待批|没审)"
            r"|^(?:还有|有)?(?:没有)?(?:没批|没审批|未批|待批|没处理|待审批|没审)的?(?:请假)?(?:申请)?(?:吗|没有)?$"
        ),
    ),
    (
        "checkin",
        re.compile(
            rf"^(?:今天)?(?:的)?(?:{_KINDS}|会)?(?:活动)?(?:的)?(?:有)?{_WHO_NOT}(?:签到|到|来|报到|到场|打卡)"
            r"|^(?:今天)?(?:的)?签到(?:情况|了几个|了多少|名单|统计)|^(?:今天)?(?:谁|哪些人)(?:已经)?(?:签到|到)了"
            rf"|^(?:今天)?(?:的)?(?:{_KINDS})?(?:活动)?(?:到|来)了(?:几个|多少)人?|^(?:人)?(?:到齐|来齐)了(?:吗|没有?)"
            r"|^(?:今天)?(?:有)?(?:几个|多少)(?:人|位)?(?:已经)?(?:签到|签|到)了"
        ),
    ),
)
_ACTIVITY_QUERY_RE = re.compile(
    rf"^{_GROUP_WORDS}?的?(?:搞了|开展了|组织了|参加了|开了|去了|进行了)?(?P<kind>{_KINDS})(?:活动)?"
    rf"(?P<tail>(?:出勤|考勤)率?(?:情况)?(?:{_HOW_WELL}|多少|是多少)?|(?:参加|签到|出席)率(?:{_HOW_WELL}|多少|是多少)?"
    rf"|(?:签到|参加|出席)?情况(?:{_HOW_WELL})?|(?:开展|搞|组织|进行|开|办)?得?{_HOW_WELL}|完成了吗|搞了吗|开展了吗"
    r"|(?:够数|达标|完成)了(?:吗|没有?)"
    r"|(?:搞|开展|组织|开|进行|做|参加)?(?:了|过)?(?:几次|多少次|几回|几场|几个)(?:了)?)?的?$"
)
_WHO_NOT_KIND_RE = re.compile(rf"^{_WHO_NOT}(?:参加|去|来|到)(?:过)?(?:{_KINDS})")
_HOW_MANY_HELD_RE = re.compile(
    rf"^{_GROUP_WORDS}?(?:开了|搞了|组织了|开展了|进行了|举办了|去了)(?:几次|多少次|几回|几场)(?P<kw>{_KINDS})"
)
_HOW_MANY_CAME_RE = re.compile(
    rf"^(?P<kw>{_KINDS})(?:活动)?(?:有|一共|总共)?(?:几个人|多少人|几位)(?:参加|去|来|到|出席)"
)
_KIND_WHO_NOT_RE = re.compile(rf"^(?P<kw>{_SUBMISSIONS}|{_KINDS})(?:活动)?(?:的)?{_WHO_NOT}")
_OWES_RE = re.compile(rf"^(?:{_GROUP_WORDS}的?)?{_WHO_NOT}(?:交|报|提交|报送|写|完成|上报)?")
_SUBMISSION_QUERY_RE = re.compile(
    rf"^{_GROUP_WORDS}?的?(?P<kw>{_SUBMISSIONS})(?:信息)?(?:的)?(?:报送|提交|上报|完成|采用)?"
    r"(?:都)?(?:情况|统计|完成情况|进度|汇总|交了(?:几|多少)|报了(?:几|多少)|(?:交|报)齐了(?:吗|没)|(?:交|报)了(?:吗|没有?)"
    r"|(?:都)?(?:谁|哪些人|哪几位|哪些)(?:交|报)了"
    r"|(?:有)?(?:几|多少)(?:篇|条|份|件|个)(?:了)?|完成(?:了)?(?:吗|没有?|情况|得怎么样|得咋样|得如何|几|多少)"
    r"|(?:搞|办|做)了(?:吗|没有?|几件|几个)|还(?:差|欠|缺)(?:几|多少))"
)
# 这个月大家交材料情况怎么样 / 材料交齐了吗: "材料" names every submission, so the whole standing.
_MATERIALS_RE = re.compile(
    rf"^{_GROUP_WORDS}?的?(?:交|报|提交|报送|上报)?(?:的)?(?:履职)?材料(?:的)?(?:都)?(?:交|报|提交|报送|上报)?(?:得)?"
    rf"(?:情况|进度|统计|汇总|{_HOW_WELL}|(?:交|报)?齐了(?:吗|没有?)|完成(?:了)?(?:吗|没有?|情况)|(?:交|报)了(?:吗|没有?|几|多少))"
)
_COUNTY_LEAD_RE = re.compile(r"^(?:县里|全县|各组|各联络组|所有联络组|各个联络组|各个组|所有组|全部组)(?:的|一共|总共|共)?")
# 谁交了社情民意 / 社情民意都谁交了 / 交了社情民意的有谁: who has sent that kind, not who has not.
_WHO_GAVE = r"(?:都|已经)?(?:是)?(?:谁|哪些人|哪些委员|哪几位|哪位|有谁|有哪些人)(?:都|已经)?(?:交|报|提交|报送|上报|写)了"
_WHO_GAVE_RE = re.compile(
    rf"^{_GROUP_WORDS}?的?{_WHO_GAVE}(?:几篇)?(?P<kw>{_SUBMISSIONS})(?:吗|呢)?$"
    rf"|^(?P<kw2>{_SUBMISSIONS}){_WHO_GAVE}(?:吗|呢)?$"
    rf"|^(?:{_GROUP_WORDS}的?)?(?:已经)?(?:交|报|提交)了(?P<kw3>{_SUBMISSIONS})的(?:有谁|有哪些人?|是谁|都有谁|都是谁|名单|人|委员)(?:呢)?$"
)
_OVERALL_RE = re.compile(
    rf"^{_GROUP_WORDS}?的?(?:那个|这个)?(?:履职)?(?:任务)?(?:都|全部|全都)?(?:情况|进度|统计|完成情况|汇总|欠交情况|完成得?{_HOW_WELL}|{_HOW_WELL}|"
    r"完成了(?:吗|没有?)|达标了(?:吗|没有?)|还差(?:什么|哪些|啥|多少)|还欠(?:什么|哪些|啥|多少)|差(?:什么|哪些|啥)|欠(?:什么|哪些|啥)|"
    r"任务完成(?:情况|得怎么样)?)"
    rf"|^{_GROUP_WORDS}$|^本组"
)


def _query(intent: str, t: Text, target: str | None = None, group: str | None = None) -> Command:
    text = t.core.replace(group, " ") if group else t.core
    period = PERIOD_RE.search(text)
    if target is None:
        target = target_word(text)
    if target is None and intent == "status":
        target = kind_named(text)  # 谁没参加视察: the inspections and who was there
    kind = target if target in vocab.ACTIVITY_KINDS.values() else None  # the kind asked about
    day = re.search(r"今天|今日|明天|昨天", text)  # "今天还有谁没签到": the day asked about
    date = when(t, day[0])[0].date if day else None
    return Command(
        intent, title=period[0] if period else None, target=target, content=group, kind=kind, date=date
    )


def _asked_about(t: Text, q: str, group: str | None) -> str | None:
    """What a question about the group asks after: a kind (视察了几次, 谁没交建议), "" for the whole
    standing (本组情况, 还有谁没交), None when `q` is no such question."""
    if (m := _ACTIVITY_QUERY_RE.match(q)) and (m["tail"] or PERIOD_RE.search(t.core) or group):
        return vocab.ACTIVITY_KINDS[m["kind"]]
    if m := _HOW_MANY_HELD_RE.match(q):  # "这个季度开了几次座谈会"
        return vocab.ACTIVITY_KINDS[m["kw"]]
    if m := _HOW_MANY_CAME_RE.match(q):
        return vocab.ACTIVITY_KINDS[m["kw"]]
    if _WHO_NOT_KIND_RE.match(q):
        return kind_named(q)
    if m := _KIND_WHO_NOT_RE.match(q):
        return vocab.SUBMISSION_KINDS.get(m["kw"]) or vocab.ACTIVITY_KINDS.get(m["kw"])
    if m := _SUBMISSION_QUERY_RE.match(q):
        return vocab.SUBMISSION_KINDS[m["kw"]]
    if _OWES_RE.match(q) or _OVERALL_RE.match(q) or _MATERIALS_RE.match(q):
        return ""
    return None


# 12月8日的座谈会谁没来 / 这个月谁缺席了 / 上周视察的出勤情况: who came to the group's activities.
_ABSENT_RE = re.compile(
    r"(?:谁|哪些人|哪几位|哪几个人?|有谁|哪个|哪些委员|几个人)(?:没来|没去|没参加|没出席|未出席|未参加|缺席|缺勤)(?:过)?(?:任何)?(?:活动)?(?:了)?(?:的)?(?:吗|呢)?$"
    r"|(?:缺席|缺勤)(?:的|的人|人员|名单|情况)(?:有谁|有哪些|是谁|都有谁)?$|(?:出勤|到会|出席|参加)(?:情况|名单|率)(?:怎么样|如何)?$"
)


def who_was_absent(t: Text) -> Command | None:
    """12月8日的座谈会谁没来 / 这个月谁缺席了: each activity's attendance (of a day, a kind, a period)."""
    bare = t.bare
    if len(bare) > 30 or not _ABSENT_RE.search(bare):
        return None
    found, _span = when(t, bare)
    day = past_leaning(found, t.now.date()) if found is not None and found.dated else None  # it was held
    kind = kind_named(bare)
    if kind and day is None:
        return None  # 本季度座谈会出勤情况: the kind's attendance over its period (status, target = the kind)
    return Command("status", target="attendance", date=day, kind=kind, title=period_word(t))


# 全县谁还没交社情民意: every group's count of that kind (naming every member of a county is no answer).
_COUNTY_OWING_RE = re.compile(rf"^(?:的)?{_WHO_NOT}(?:交|报|提交|写)(?P<kw>{_SUBMISSIONS})(?:信息)?(?:的)?(?:人)?$")
_OWING_FIRST_RE = re.compile(r"^(?:还)?没(?P<verb>交|签到|来)的(?:有|是|都有)?(?:谁|哪些人?|哪几个|哪几位)(?:呢|啊)?$")


def status(t: Text) -> Command | None:
    """本组情况 and the leaders' other keyword questions; None when this is not one of them."""
    if len(t.core) > 48:
        return None
    q, group = _without_group(query_core(t))
    q = _OWING_FIRST_RE.sub(r"谁没\g<verb>", q)  # 没交的有谁 is 谁没交
    if (m := _COUNTY_LEAD_RE.match(q)) and (s := _SUBMISSION_QUERY_RE.match(q[m.end() :]) or _COUNTY_OWING_RE.match(q[m.end() :])):
        # 全县这个月社情民意交了多少篇: every group, on the rules that count that kind
        return replace(_query("status", t, target="county"), kind=vocab.SUBMISSION_KINDS[s["kw"]])
    for target, pattern in _STATUS_PATTERNS:
        if pattern.match(q):
            return _query("status", t, target=target, group=None if target == "county" else group)
    asked = _asked_about(t, q, group)
    if asked is None and re.search(r"[,，\s]", q):
        # "学习活动开展得怎么样，都谁参加了": the first question says what it is about.
        asked = _asked_about(t, re.split(r"[,，\s]", q, maxsplit=1)[0], group)
    if asked is not None:
        return _query("status", t, target=asked or None, group=group)
    m = _RECORD_OF_RE.match(q)
    if m and not group and not _NOT_A_MEMBER_RE.search(m["name"]) and is_name(m["name"]):
        return _query("my", t, target=m["name"])
    return None
