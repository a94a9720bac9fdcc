"""The office page's views: login by signed link, six pages, one form endpoint for the actions.

Who sees what follows the roster, read on every request: an admin the county, a leader their own
group (and its members and notes), a member their own record. Every form carries the session's
CSRF token and a one-time nonce; a posted action becomes a message on the `web` channel whose id
is the nonce, so a form sent twice (a double click, a reload) is recorded once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hmac
import io
import re
import secrets
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from bot import dashboard
from bot.messages import SUBMISSION_EVENT_WORDS, SUBMISSION_KINDS, SUBMISSION_STATUS_WORDS, Incoming
from bot.office_login import LinkError, read_token, secret_key
from bot.parser import parse
from bot.periods import Period, period_of, previous
from bot.runtime import Runtime
from models import Member
from models.roster import ROLE_NAMES

from . import CHANNEL

_NONCE = re.compile(r"^[0-9a-f]{32}$")
_PERIOD = re.compile(r"^(\d{4})(?:(?:Q([1-4]))|(?:H([12]))|(?:-(\d{1,2})))?$")
NO_RIGHT = "您没有查看这一页的权限。"


class _Action:
    """A form's action: the typed command it equals, which fields of the form it takes."""

    def __init__(self, typed: str, intent: str, field: str | None = None) -> None:
        self.typed, self.intent, self.field = typed, intent, field


# The same commands as in chat (README 组长和办公室), read by the parser from their fixed part;
# what the user typed into the form (a reason, an outlet) is set on the command, never parsed.
ACTIONS = {
    "approve_leave": _Action("同意 #{id}", "approve"),
    "reject_leave": _Action("驳回 #{id}", "reject", "reason"),
    "confirm_late": _Action("确认补报 #{id}", "confirm_late"),
    "reject_late": _Action("驳回补报 #{id}", "reject_late", "reason"),
    "adopt": _Action("采用 #{id} {level}", "adopt", "title"),
    "return_note": _Action("退回 #{id}", "return_note", "reason"),
}
LEVELS = ("县级", "市级", "省级", "全国")


def make_blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("office", __name__, template_folder="templates", static_folder="static")
    settings = runtime.settings
    key = secret_key(settings)

    def viewer() -> Member | None:
        mid = session.get("m")
        if not isinstance(mid, int):
            return None
        with runtime.sessions() as s:
            m = dashboard.roster_member(s, mid, active=True)
            if m is not None:
                s.expunge(m)
            return m

    def need_viewer() -> Member:
        m = viewer()
        if m is None:
            abort(_page(401, "请先登录：私聊机器人发送「后台」，打开收到的链接。"))
        return m

    def _page(status: int, text: str) -> Response:
        """A page of one line: a refusal, a bad link, a missing row (with the menu when signed in)."""
        me = viewer() if status != 401 else None
        html = render_template(
            "office/message.html",
            text=text,
            me=me,
            nav=_nav(me),
            role_name=ROLE_NAMES.get(me.role, me.role) if me else "",
            csrf=session.get("csrf", ""),
        )
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    def _nav(me: Member | None) -> list[tuple[str, str]]:
        if me is None:
            return []
        items = []
        if me.role in ("admin", "leader"):
            items += [("总览", url_for("office.overview")), ("待处理", url_for("office.pending"))]
        if me.role == "leader":
            items.append(("本组", url_for("office.group", group_id=me.group_id)))
        items += [("社情民意", url_for("office.notes")), ("积分", url_for("office.scores"))]
        items.append(("我的档案", url_for("office.member", member_id=me.id)))
        return items

    def render(template: str, me: Member, **values) -> str:
        return render_template(
            f"office/{template}",
            me=me,
            nav=_nav(me),
            role_name=ROLE_NAMES.get(me.role, me.role),
            csrf=session.get("csrf", ""),
            kinds=SUBMISSION_KINDS,
            statuses=SUBMISSION_STATUS_WORDS,
            **values,
        )

    def scope(me: Member) -> list[int] | None:
        """The groups `me` may see: None every group (admin), else theirs (a member's: none)."""
        if me.role == "admin":
            return None
        return [me.group_id] if me.role == "leader" and me.group_id is not None else []

    def may_see_group(me: Member, group_id: int) -> bool:
        allowed = scope(me)
        return allowed is None or group_id in allowed

    def may_see_member(me: Member, member: Member) -> bool:
        return me.id == member.id or (member.group_id is not None and may_see_group(me, member.group_id))

    def today() -> dt.date:
        return runtime.now().date()

    def year_arg() -> int:
        raw = request.args.get("year", "")
        if not raw:
            return today().year
        if not raw.isdigit() or not 2000 <= int(raw) <= today().year + 1:
            abort(_page(400, f"年份「{raw[:10]}」不对，例如 {today().year}。"))
        return int(raw)

    def period_arg() -> Period | None:
        raw = request.args.get("period", "")
        if not raw:
            return None
        m = _PERIOD.match(raw)
        month = int(m[4]) if m and m[4] else None
        if m is None or not 2000 <= int(m[1]) <= today().year + 1 or (month is not None and not 1 <= month <= 12):
            abort(_page(400, f"期间「{raw[:20]}」不对，例如 2026、2026Q4、2026H2 或 2026-11。"))
        year = int(m[1])
        if m[2]:
            return period_of("quarter", dt.date(year, 3 * int(m[2]), 1))
        if m[3]:
            return period_of("half", dt.date(year, 6 * int(m[3]), 1))
        if month is not None:
            return period_of("month", dt.date(year, month, 1))
        return period_of("year", dt.date(year, 1, 1))

    @bp.get("/login")
    def login():
        try:
            mid = read_token(key, request.args.get("t", ""), runtime.now(), settings.web.link_minutes)
        except LinkError as err:
            return _page(403, str(err))
        with runtime.sessions() as s:
            if dashboard.roster_member(s, mid, active=True) is None:
                return _page(403, "这个登录链接的委员已不在花名册（或已停用），请联系政协办公室。")
        session.clear()
        session.permanent = True
        session["m"] = mid
        session["csrf"] = secrets.token_urlsafe(32)
        return redirect(url_for("office.overview"))

    @bp.post("/logout")
    def logout():
        check_csrf()
        session.clear()
        return _page(200, "已退出。再次登录请私聊机器人发送「后台」。")

    def check_csrf() -> None:
        sent = request.form.get("csrf", "")
        kept = session.get("csrf", "")
        if not kept or not hmac.compare_digest(sent.encode(), str(kept).encode()):
            abort(_page(400, "表单已失效（可能已退出登录或页面放置太久）：请刷新页面后重试。"))

    @bp.get("/")
    def overview():
        me = need_viewer()
        if me.role == "member":
            return redirect(url_for("office.member", member_id=me.id))
        asked = period_arg()
        now = runtime.now()
        with runtime.sessions() as s, _collector_paused():
            data = dashboard.overview(s, settings, now, asked, scope(me))
        sort, desc = request.args.get("sort", ""), request.args.get("dir") == "desc"
        rows = list(data.rows)
        if sort:
            by = sort if sort in ("name", "took_part") else data.column(sort)
            rows.sort(key=lambda r: r.sort_key(by), reverse=desc)
        with _collector_paused():
            return render(
                "overview.html",
                me,
                data=data,
                rows=rows,
                sort=sort,
                desc=desc,
                choices=_period_choices(now.date()),
                chosen=request.args.get("period", ""),
                today=now.date(),
                words=dashboard.CELL_WORDS,
                group_base=url_for("office.group", group_id=0).removesuffix("0"),
            )

    @bp.get("/group/<int:group_id>")
    def group(group_id: int):
        me = need_viewer()
        if not may_see_group(me, group_id):
            return _page(403, NO_RIGHT)
        year = year_arg()
        with runtime.sessions() as s:
            data = dashboard.group_page(s, settings, group_id, year, runtime.now())
            if data is None:
                return _page(404, "没有这个联络组。")
            return render("group.html", me, data=data, today=today(), may_decide=_may_decide(me, group_id))

    @bp.get("/member/<int:member_id>")
    def member(member_id: int):
        me = need_viewer()
        year = year_arg()
        now = runtime.now()
        with runtime.sessions() as s:
            someone = dashboard.roster_member(s, member_id)
            if someone is None:
                return _page(404, "花名册里没有这位委员。")
            if not may_see_member(me, someone):
                return _page(403, NO_RIGHT)
            data = dashboard.member_page(s, settings, member_id, year, now)
            score = dashboard.member_score(s, settings, member_id, year, now)
            return render("member.html", me, data=data, score=score, today=now.date())

    @bp.get("/member/<int:member_id>/export.xlsx")
    def member_export(member_id: int):
        from bot.export import ExportError, build_workbook

        me = need_viewer()
        year = year_arg()
        with runtime.sessions() as s:
            someone = dashboard.roster_member(s, member_id)
            if someone is None or not may_see_member(me, someone):
                return _page(403, NO_RIGHT)
            try:
                wb = build_workbook(s, settings, period_of("year", dt.date(year, 1, 1)), None, runtime.now(), someone)
            except ExportError as err:
                return _page(400, str(err))
            name = someone.name
        out = io.BytesIO()
        wb.save(out)
        out.seek(0)
        return send_file(
            out,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=f"履职档案_{name}_{year}年.xlsx",
        )

    @bp.get("/notes")
    def notes():
        me = need_viewer()
        wanted = dashboard.NoteFilter(
            group_id=_int_arg("group"),
            kind=_choice_arg("kind", SUBMISSION_KINDS),
            status=_choice_arg("status", SUBMISSION_STATUS_WORDS),
            period=period_arg(),
            member_id=me.id if me.role == "member" else None,
        )
        page = _int_arg("page") or 1
        with runtime.sessions() as s:
            data = dashboard.notes_page(s, settings, runtime.now(), wanted, scope(me) if me.role != "member" else None, page)
            groups = list(dashboard.group_names(s, scope(me)).items())
            return render(
                "notes.html",
                me,
                data=data,
                wanted=wanted,
                groups=groups,
                chosen=request.args.get("period", ""),
                choices=_period_choices(today()),
                page_url=lambda n: _with_args(page=n),
            )

    @bp.get("/notes/<int:note_id>")
    def note(note_id: int):
        me = need_viewer()
        with runtime.sessions() as s:
            data = dashboard.note_detail(s, note_id)
            if data is None:
                return _page(404, "没有这篇材料。")
            if not dashboard.may_read_note(me, data.submission):
                return _page(403, NO_RIGHT)
            return render(
                "note.html", me, data=data, levels=LEVELS, is_admin=me.role == "admin", event_words=SUBMISSION_EVENT_WORDS
            )

    @bp.get("/files/<int:attachment_id>")
    def attachment(attachment_id: int):
        me = need_viewer()
        with runtime.sessions() as s:
            found = dashboard.attachment_of(s, attachment_id)
            if found is None:
                return _page(404, "没有这个附件。")
            file, note = found
            if not dashboard.may_read_note(me, note):
                return _page(403, NO_RIGHT)
            path = Path(settings.files.dir) / file.storage_path
            name, mime = file.name, file.mime_type
        if not path.is_file():
            return _page(404, "附件文件不在 files.dir 里（可能已被移走），请联系管理员。")
        return send_file(path, mimetype=mime, as_attachment=True, download_name=name)

    @bp.get("/scores")
    def scores():
        me = need_viewer()
        if me.role == "member":
            return redirect(url_for("office.member", member_id=me.id))
        year = year_arg()
        with runtime.sessions() as s:
            ranked = dashboard.scores(s, settings, year, runtime.now(), None if me.role == "admin" else me.group_id)
        grades = [g.name for g in settings.scoring.grades] + [settings.scoring.lowest_grade]
        return render(
            "scores.html",
            me,
            ranked=ranked,
            year=year,
            grades=dashboard.grade_counts(ranked, grades),
            rules=settings.scoring,
        )

    @bp.get("/pending")
    def pending():
        me = need_viewer()
        if me.role == "member":
            return _page(403, NO_RIGHT)
        from bot import outbox
        from bot.pipeline import unplaced_messages

        now = runtime.now()
        with runtime.sessions() as s:
            waiting = dashboard.pending(s, scope(me))
            unplaced, failed = [], []
            if me.role == "admin":
                unplaced = unplaced_messages(s, runtime.platforms, now - dt.timedelta(days=30))[-100:]
                failed = [r for r in outbox.undelivered(s) if r.status == "failed"]
                for row in failed:
                    s.expunge(row)
            return render(
                "pending.html", me, waiting=waiting, unplaced=unplaced, failed=failed, tz=settings.tz, today=now.date()
            )

    @bp.post("/act")
    def act():
        me = need_viewer()
        check_csrf()
        action = ACTIONS.get(request.form.get("action", ""))
        target = request.form.get("id", "")
        nonce = request.form.get("nonce", "")
        level = request.form.get("level", "")
        if action is None or not target.isdigit() or not _NONCE.match(nonce):
            return _page(400, "表单内容不完整，请刷新页面后重试。")
        if "{level}" in action.typed and level not in LEVELS:
            return _page(400, "请选择采用级别：" + "、".join(LEVELS))
        now = runtime.now()
        typed = action.typed.format(id=target, level=level)
        command = parse(typed, now)
        if command.intent != action.intent:  # the chat's words changed meaning: a bug, not the user's
            raise RuntimeError(f"{typed!r} reads as {command.intent}, not {action.intent}")
        said = " ".join(request.form.get(action.field or "", "").split())[:200] if action.field else ""
        if said and action.field == "title":
            command = replace(command, title=f"{level}《{said.strip('《》')}》")
        elif said:
            command = replace(command, reason=said)
        incoming = Incoming(
            platform=CHANNEL,
            chat_id=None,
            sender_id=me.mobile,
            sender_name=me.name,
            text=f"{typed} {said}".strip(),
            msg_id=f"web-{nonce}",
            sent_at=now,
            is_group=False,
            command=command,
        )
        outcome = runtime.pipeline.handle(incoming, now)
        flash(outcome.reply.text if outcome.reply else "已提交。")
        back = request.form.get("next", "")
        prefix = settings.web.prefix + "/"
        return redirect(back if back.startswith(prefix) and "//" not in back else url_for("office.pending"))

    def _may_decide(me: Member, group_id: int) -> bool:
        return me.role == "admin" or (me.role == "leader" and me.group_id == group_id)

    def _int_arg(name: str) -> int | None:
        raw = request.args.get(name, "")
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 9:
            abort(_page(400, f"参数 {name} 应为数字。"))
        return int(raw)

    def _choice_arg(name: str, allowed: dict[str, str]) -> str | None:
        raw = request.args.get(name, "")
        if raw and raw not in allowed:
            abort(_page(400, f"参数 {name} 只能是：" + "、".join(allowed)))
        return raw or None

    def _with_args(**changes) -> str:
        args = {**request.args.to_dict(), **{k: str(v) for k, v in changes.items()}}
        return f"{request.path}?{urlencode(args)}"

    bp.add_app_template_filter(_local(settings.tz), "local")
    # Each form's one-time id: the web message's msg_id, so a form sent twice is recorded once.
    bp.add_app_template_global(lambda: secrets.token_hex(16), "new_nonce")
    return bp


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector held back while a page builds and renders its rows: a
    province's overview makes some 50,000 short-lived objects, none in a cycle (refcounting frees
    them), and each full collection the allocations set off walks every object in the process
    (bench_web.py: ~285 ms of a 780 ms page). Collected as usual afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _period_choices(today: dt.date) -> list[tuple[str, str]]:
    """The overview's periods: each rule's current one, then this and last month, quarter, year."""
    month = period_of("month", today)
    quarter = period_of("quarter", today)
    last_quarter = previous(quarter)
    last_month = previous(month)
    year = today.year
    q = (quarter.start.month - 1) // 3 + 1
    lq = (last_quarter.start.month - 1) // 3 + 1
    return [
        ("", "本期（各项按各自周期）"),
        (f"{year}-{month.start.month}", month.label),
        (f"{last_month.start.year}-{last_month.start.month}", last_month.label),
        (f"{year}Q{q}", quarter.label),
        (f"{last_quarter.start.year}Q{lq}", last_quarter.label),
        (f"{year}", f"{year}年全年"),
        (f"{year - 1}", f"{year - 1}年全年"),
    ]


def _local(tz: dt.tzinfo):
    def local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value is not None else ""

    return local
