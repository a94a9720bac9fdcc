"""帮助: what the sender's role can do, one example each; an unbound sender learns how to bind."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ScoreCategory, ScoringSettings
from bot.messages import ACTIVITY_KINDS, SUBMISSION_KINDS, Command, Reply
from bot.router import Context, Router
from handlers.phrasing import month_day
from models import Member, Submission

router = Router()

FILES_HOW = (
    "直接把文件或图片发给我即可（Word .docx、PDF、照片，每个不超过{mb:g}MB）：文件名或同一条消息里写明类别"
    "（如「调研报告」）就按那一类记下；交完材料{minutes}分钟内发来的图片附在那篇材料后；说不清类别的我会问。"
)

_MEMBER = (
    "签到（活动开始前一小时起）：签到　或　我到了",
    "交社情民意：社情民意：关于加强老旧小区加装电梯的建议……　或　反映个情况：……",
    "交其他材料：意见建议／调研报告／为民办实事／提案：……",
    "请假：请假 下周三座谈会 单位开会　或　明天的视察去不了，家里有事",
    "查看本人履职（私聊发「后台」得网页版链接）：我的履职　或　后台",
    "撤回、更正刚交的材料或补报漏签：撤回　或　更正 新的内容　或　补报 11月5日 视察 签到",
)
_LEADER = (
    "发布活动：发布活动 12月3日上午9点 视察 城区污水处理厂 地点：城东路1号",
    "审批请假和补报：同意 #3　或　驳回 #3 需要本人参加　或　都同意　或　确认补报 #3",
    "取消或改期：取消活动 #2　或　#2 改到12月18日下午3点",
    "本组情况：本组情况　或　谁没交社情民意　或　待审批",
)
NOTE_HOWTO = (
    "{kind}一事一报：标题写明「关于……的问题」或「关于……的建议」，正文讲清情况、原因和具体建议，"
    "一般不超过{chars}字（以县政协办公室的要求为准）。写好直接发「{kind}：标题。正文」给我，"
    "也可以发Word或PDF文件。"
)
COUNTS_HOW = (
    "我记的是：本组活动的签到、请假，以及社情民意、意见建议、调研报告、为民办实事、提案。走访了解到的情况可写成"
    "「社情民意：……」发给我，为群众办的事发「为民办实事：……」；能否计入履职积分以县政协的考核办法为准。"
)
FIX_HOW = "改刚交的材料：发「更正 新的全文」，指定哪一篇：更正 #编号 新的全文；交错或交重了：撤回 #编号。"


def _points(value: float) -> str:
    return f"{'+' if value > 0 else '−'}{abs(value):g}分"


def _category(c: ScoreCategory) -> str:
    """会议（集体活动、会议/座谈）：出席+10分、请假+6分，最多50分."""
    names = ACTIVITY_KINDS if c.source == "activity" else SUBMISSION_KINDS
    parts = [
        f"{word}{_points(v)}"
        for word, v in (
            ("出席", c.attended), ("请假", c.on_leave), ("无故缺席", c.absent), ("每篇", c.each),
            ("批示每次", c.instructed),
        )
        if v
    ]  # fmt: skip
    levels = set(c.adopted.values())
    if len(levels) == 1:
        parts.append(f"被采用{_points(levels.pop())}")
    elif levels:
        parts.append("被采用" + "、".join(f"{lv}{_points(v)}" for lv, v in c.adopted.items()))
    cap = f"，最多{c.cap:g}分" if c.cap is not None else ""
    return f"{c.name}（{'、'.join(names.get(k, k) for k in c.kinds)}）：{'、'.join(parts)}{cap}"


def how_scored(scoring: ScoringSettings) -> str:
    """积分怎么算: the yearly score as configured, one line per category, then the grades."""
    if not scoring.categories:
        return "县里还没有配置履职积分办法，请联系县政协办公室。"
    head = f"履职积分按年度计算，基础分{scoring.base:g}分：" if scoring.base else "履职积分按年度计算："
    lines = [head, *(f"· {_category(c)}" for c in scoring.categories)]
    if scoring.max_total is not None:
        lines.append(f"总分最多{scoring.max_total:g}分。")
    if scoring.grades:
        bands = "、".join(f"{g.name}≥{g.min:g}" for g in scoring.grades)
        lines.append(f"等次：{bands}，其余{scoring.lowest_grade}。发「我的积分」看本人得分。")
    return "\n".join(lines)


def _how_to_fix(session: Session, member: Member, ctx: Context) -> Reply:
    """How to mend a note already sent, and which one was sent last (its number is what 更正 takes)."""
    last = session.scalar(
        select(Submission)
        .where(Submission.member_id == member.id, Submission.status != "withdrawn")
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        .limit(1)
    )
    if last is None:
        return Reply("您还没有交过材料，没有可改的。")
    kind = SUBMISSION_KINDS.get(last.kind, "材料")
    when = month_day(last.submitted_at.astimezone(ctx.settings.tz).date())
    return Reply(f"{FIX_HOW}您最近交的是{kind}#{last.id}《{last.title}》（{when}）。")


_UNKNOWN = (
    "您好，我是履职助手。第一次使用请先绑定身份（姓名、手机号与花名册一致）：",
    "绑定 张三 13800001234",
    "绑定后发送「帮助」可查看签到、交社情民意、请假等功能。",
)


@router.route("help", allow_unknown=True)
def show_help(session: Session, member: Member | None, command: Command, ctx: Context) -> Reply:
    if member is None:
        return Reply("\n".join(_UNKNOWN))
    if command.target == "note_howto":
        kind = SUBMISSION_KINDS.get(command.content or "", "社情民意")
        return Reply(NOTE_HOWTO.format(kind=kind, chars=ctx.settings.submissions.max_chars))
    if command.target == "scoring":
        return Reply(how_scored(ctx.settings.scoring))
    if command.target == "counts":
        return Reply(COUNTS_HOW)
    if command.target == "fix":
        return _how_to_fix(session, member, ctx)
    if command.target == "files":
        files = ctx.settings.files
        return Reply(FILES_HOW.format(mb=files.max_mb, minutes=files.attach_minutes))
    lines = list(_MEMBER)
    if member.role not in ("leader", "admin"):  # the leaders' lines take this one's room
        lines.append("看活动安排、本组名单：下次活动是什么时候　或　我们组长是谁")
    if member.role in ("leader", "admin"):
        lines += _LEADER
    if member.role == "admin":
        lines.append("管理员：全县情况；采用 #12 市级；批示 #12 县领导：…；停用/启用 张三；导出本季度")
    return Reply("\n".join([f"{member.name}，您可以这样@我："] + [f"· {line}" for line in lines]))
