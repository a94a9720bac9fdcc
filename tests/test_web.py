"""The office's web page through Flask's test client: the login link, who may see which page, the
forms' CSRF and once-only actions through the chat's own handlers, the numbers against the chat's
and the export's, and no query per row."""

from __future__ import annotations

import datetime as dt
import io
import re
import stat
from urllib.parse import urlsplit

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select

import app as app_module
from app import create_app
from bot.messages import Incoming
from bot.office_login import login_url, make_token, secret_key
from models import (
    Activity,
    Attachment,
    CheckIn,
    InboundMessage,
    LateEntry,
    LeaveRequest,
    LiaisonGroup,
    Member,
    OutboxMessage,
    RecordChange,
    Submission,
    SubmissionEvent,
)
from tests.conftest import NOW

PREFIX = "/office"


@pytest.fixture
def make_app(write_config, config_dict, tmp_path, roster):
    """An app on the test database with its clock at `now` (default NOW); `web` overrides."""

    def build(now: dt.datetime | None = NOW, **web):
        web = {**config_dict["web"], **web}
        files = {**config_dict["files"], "dir": str(tmp_path / "files")}
        app = create_app(
            write_config(scheduler={**config_dict["scheduler"], "enabled": False}, web=web, files=files)
        )
        if now is not None:  # None: the real clock
            app.extensions["bot"].now = lambda: now
        return app

    return build


@pytest.fixture
def app(make_app):
    return make_app()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def login(app, roster):
    """login(name) -> a test client signed in as that roster member."""

    def _login(name: str, client=None):
        client = client or app.test_client()
        runtime = app.extensions["bot"]
        r = client.get(_path(login_url(runtime.settings, roster[name], NOW)))
        assert r.status_code == 302, r.get_data(as_text=True)
        return client

    return _login


def _text(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _csrf(client) -> str:
    """The session's form token, as every page's forms carry it (the 退出 button's, at least)."""
    html = client.get(f"{PREFIX}/notes").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def _nonce(n: int = 1) -> str:
    return f"{n:032x}"


@pytest.fixture
def county(say, runtime, roster):
    """第一联络组: a 视察 held on the 17th (张三, 李四 checked in; 赵六 had leave approved), a 座谈会 on
    Friday with 张三's leave pending, a 补报 of 李四's for a 学习 on the 10th, a note of 李四's;
    第二联络组: a note of 周七's."""
    g1 = _group(runtime, "第一联络组")
    with runtime.sessions.begin() as s:
        past = _activity(s, g1, "inspection", "视察 城区污水处理厂", NOW - dt.timedelta(days=6), roster)
        for name in ("张三", "李四"):
            s.add(CheckIn(activity_id=past.id, member_id=roster[name], checked_in_at=NOW - dt.timedelta(days=6)))
        s.add(
            LeaveRequest(
                activity_id=past.id,
                member_id=roster["赵六"],
                reason="出差",
                status="approved",
                requested_at=NOW - dt.timedelta(days=8),
                decided_by_id=roster["王组长"],
                decided_at=NOW - dt.timedelta(days=7),
            )
        )
        _activity(s, g1, "study", "学习 条例", NOW - dt.timedelta(days=13), roster)
    assert "已发布活动" in say("王组长", "发布活动 11月27日下午3点 座谈会 民营经济发展 地点：政协三楼")
    assert "请假#" in say("张三", "请假 周五的座谈会 单位开会")
    assert "补报" in say("李四", "补报 11月10日 学习 签到 忘记签了")
    assert "编号#" in say("李四", "社情民意：关于老旧小区加装电梯的建议\n建议简化审批流程，设立专项补贴。")
    assert "编号#" in say("周七", "社情民意：关于农村客运班线的建议\n建议恢复早晚两班。")
    with runtime.sessions() as s:
        return {
            "leave": s.scalar(select(LeaveRequest.id).where(LeaveRequest.status == "pending")),
            "late": s.scalar(select(LateEntry.id)),
            "note_li": s.scalar(select(Submission.id).where(Submission.member_id == roster["李四"])),
            "note_zhou": s.scalar(select(Submission.id).where(Submission.member_id == roster["周七"])),
            "g1": g1,
            "g2": _group(runtime, "第二联络组"),
        }


def _group(runtime, name: str) -> int:
    with runtime.sessions() as s:
        return s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == name))


def _activity(s, group_id: int, kind: str, title: str, at: dt.datetime, roster) -> Activity:
    a = Activity(
        group_id=group_id,
        kind=kind,
        title=title,
        date=at.date(),
        time=dt.time(9, 0),
        announced_by_id=roster["王组长"],
        created_at=at - dt.timedelta(days=2),
    )
    s.add(a)
    s.flush()
    return a


# -- the login link --------------------------------------------------------------------------------------


def test_houtai_asked_one_to_one_gives_a_link_that_opens_the_members_own_record(say, app):
    answer = say("张三", "后台")
    assert "10分钟内有效" in answer and "请勿转发" in answer
    assert "web.public_url" in answer  # 127.0.0.1 opens only on the server itself
    url = re.search(r"http://\S+", answer)[0]
    client = app.test_client()
    r = client.get(_path(url))
    assert (r.status_code, r.headers["Location"]) == (302, f"{PREFIX}/")
    r = client.get(f"{PREFIX}/", follow_redirects=True)
    assert "张三 · 2026年履职档案" in _text(r)


def test_with_a_public_address_the_link_points_there(make_app):
    runtime = make_app(public_url="https://lvzhi.example.gov.cn/").extensions["bot"]
    said = Incoming("console", None, "张三", "张三", "登录后台", "pub-1", NOW, False)
    answer = runtime.pipeline.handle(said, NOW).reply.text
    assert "https://lvzhi.example.gov.cn/office/login?t=" in answer and "public_url" not in answer


def test_houtai_asked_in_a_group_chat_posts_no_link(say, app):
    answer = say("张三", "后台", chat_id="chat-g1", is_group=True, platform="wecom_bot", sender_id="zhangsan")
    assert "私聊" in answer and "http" not in answer


def test_the_link_opens_for_ten_minutes_and_not_after(make_app, roster):
    made = NOW
    late = make_app(now=made + dt.timedelta(minutes=10, seconds=1))
    url = _path(login_url(late.extensions["bot"].settings, roster["张三"], made))
    r = late.test_client().get(url)
    assert r.status_code == 403 and "已过期" in _text(r)
    in_time = make_app(now=made + dt.timedelta(minutes=9, seconds=59))
    assert in_time.test_client().get(url).status_code == 302


def test_a_changed_or_foreign_link_opens_nothing(app, roster):
    settings = app.extensions["bot"].settings
    token = make_token(secret_key(settings), roster["张三"], NOW)
    client = app.test_client()
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for t in (forged, make_token("another county's key " * 3, roster["陈主任"], NOW), "", "abc"):
        r = client.get(f"{PREFIX}/login", query_string={"t": t})
        assert r.status_code == 403 and "无效" in _text(r)
    assert client.get(f"{PREFIX}/").status_code == 401


def test_a_member_made_inactive_loses_the_page_at_once(app, login, runtime, roster):
    client = login("张三")
    assert client.get(f"{PREFIX}/member/{roster['张三']}").status_code == 200
    with runtime.sessions.begin() as s:
        s.get(Member, roster["张三"]).active = False
    assert client.get(f"{PREFIX}/member/{roster['张三']}").status_code == 401
    r = app.test_client().get(_path(login_url(app.extensions["bot"].settings, roster["张三"], NOW)))
    assert r.status_code == 403 and "已停用" in _text(r)


def test_the_session_cookie_is_httponly_lax_under_the_prefix_and_secure_over_https(make_app, roster):
    def cookie(app) -> str:
        url = login_url(app.extensions["bot"].settings, roster["陈主任"], NOW)
        return app.test_client().get(_path(url)).headers["Set-Cookie"]

    plain = cookie(make_app())
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and f"Path={PREFIX}" in plain
    assert "Secure" not in plain
    assert "Secure" in cookie(make_app(public_url="https://lvzhi.example.gov.cn"))


def test_the_secret_key_is_made_once_in_the_data_dir_and_shared_by_every_process(make_app, tmp_path, roster):
    first, second = make_app(), make_app()
    key_file = tmp_path / "web_secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    # A link made by one process (the bot answering 后台) opens a session on another (a web worker).
    url = login_url(first.extensions["bot"].settings, roster["陈主任"], NOW)
    assert second.test_client().get(_path(url)).status_code == 302
    key_file.unlink()
    configured = make_app(secret_key="k" * 40)
    assert not key_file.exists()
    assert configured.secret_key == "k" * 40


def test_office_link_prints_a_login_link_for_a_roster_name(make_app, tmp_path, roster):
    app = make_app(now=None)  # the command reads the clock, as the console does
    config = str(tmp_path / "config.yaml")
    printed = CliRunner().invoke(app_module.cli, ["--config", config, "office-link", "陈主任"])
    assert printed.exit_code == 0, printed.output
    url = printed.stdout.strip().splitlines()[0]
    assert url.startswith(f"http://127.0.0.1:8000{PREFIX}/login?t=")
    client = app.test_client()
    assert client.get(_path(url)).status_code == 302
    assert "全县“六个至少”完成情况" in _text(client.get(f"{PREFIX}/"))
    unknown = CliRunner().invoke(app_module.cli, ["--config", config, "office-link", "无名氏"])
    assert unknown.exit_code == 1 and "没有" in unknown.stderr


# -- who sees what ---------------------------------------------------------------------------------------

ALL = ("/", "/group/{g1}", "/group/{g2}", "/member/{张三}", "/member/{周七}", "/notes", "/notes/{note_li}",
       "/notes/{note_zhou}", "/scores", "/pending", "/member/{张三}/export.xlsx")
SEES = {
    "陈主任": dict.fromkeys(ALL, 200),
    "王组长": {**dict.fromkeys(ALL, 200), "/group/{g2}": 403, "/member/{周七}": 403, "/notes/{note_zhou}": 403},
    "张三": {
        **dict.fromkeys(ALL, 403),
        "/": 302,
        "/member/{张三}": 200,
        "/notes": 200,
        "/scores": 302,
        "/member/{张三}/export.xlsx": 200,
    },
}


@pytest.mark.parametrize("who", list(SEES))
def test_admins_see_the_county_leaders_their_group_members_their_own_record(who, login, county, roster):
    client = login(who)
    ids = {**county, **roster}
    seen = {path: client.get(PREFIX + path.format(**ids)).status_code for path in ALL}
    assert seen == SEES[who]


def test_nobody_signed_in_sees_any_page(app, county, roster):
    client = app.test_client()
    ids = {**county, **roster}
    for path in ALL:
        r = client.get(PREFIX + path.format(**ids))
        assert r.status_code == 401 and "后台" in _text(r), path


def test_a_leader_sees_only_their_groups_row_notes_and_pending(login, county):
    client = login("王组长")
    overview = client.get(f"{PREFIX}/").get_data(as_text=True)
    assert overview.count("<tr data-group=") == 1 and "第二联络组" not in overview
    notes = _text(client.get(f"{PREFIX}/notes"))
    assert "老旧小区加装电梯" in notes and "农村客运班线" not in notes
    members_notes = _text(login("张三").get(f"{PREFIX}/notes"))
    assert "老旧小区加装电梯" not in members_notes  # 李四's, not 张三's


def test_a_member_of_another_group_cannot_download_an_attachment(login, county, runtime, roster, tmp_path):
    stored = tmp_path / "files" / "ab" / "abc.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.4 report")
    with runtime.sessions.begin() as s:
        a = Attachment(
            submission_id=county["note_li"],
            name="调研报告.pdf",
            mime_type="application/pdf",
            size_bytes=15,
            sha256="abc",
            storage_path="ab/abc.pdf",
            received_at=NOW,
        )
        s.add(a)
        s.flush()
        aid = a.id
    assert login("李四").get(f"{PREFIX}/files/{aid}").data == b"%PDF-1.4 report"
    assert login("王组长").get(f"{PREFIX}/files/{aid}").status_code == 200
    assert login("周七").get(f"{PREFIX}/files/{aid}").status_code == 403
    assert "调研报告.pdf" in _text(login("陈主任").get(f"{PREFIX}/notes/{county['note_li']}"))


@pytest.mark.parametrize(
    "query", ["/?period=2026Q5", "/?period=abc", "/group/{g1}?year=26", "/notes?kind=poem", "/notes?page=x"]
)
def test_a_bad_address_is_answered_with_a_line_not_a_crash(query, login, county):
    r = login("陈主任").get(PREFIX + query.format(**county))
    assert r.status_code == 400
    assert any(word in _text(r) for word in ("不对", "只能是", "应为数字"))


# -- the numbers --------------------------------------------------------------------------------------------


def test_the_overview_says_what_the_chat_says(login, county, say):
    html = login("陈主任").get(f"{PREFIX}/").get_data(as_text=True)
    row = re.search(rf'<tr data-group="{county["g1"]}">(.*?)</tr>', html, re.S)[1]
    cells = re.findall(r'<span class="cell (\w+)"[^>]*>([^<]+)</span>', row)
    chat = say("王组长", "本组情况").splitlines()[1:7]
    for (state, text), line in zip(cells, chat, strict=True):
        done = re.search(r"(\d+/\d+)", line)[1]
        assert text.startswith(done)
        assert (state == "done") == line.startswith("✅")
    # 张三, 李四 attended; 李四 and 周七 wrote: three members took part this year, of the county's six.
    assert re.search(r'id="took-part">(\d+)<', html)[1] == "3"


def test_the_overview_sorts_the_worst_first_on_a_rule(login, county):
    client = login("陈主任")
    html = client.get(f"{PREFIX}/?sort=quarterly_inspection").get_data(as_text=True)
    order = re.findall(r'<tr data-group="(\d+)">', html)
    assert order == [str(county["g2"]), str(county["g1"])]  # 第二联络组 held no 视察
    html = client.get(f"{PREFIX}/?sort=quarterly_inspection&dir=desc").get_data(as_text=True)
    assert re.findall(r'<tr data-group="(\d+)">', html) == [str(county["g1"]), str(county["g2"])]


def test_the_group_page_counts_as_the_export_counts(login, county, runtime, roster, tmp_path):
    from bot.export import period_for, write_file

    html = login("陈主任").get(f"{PREFIX}/group/{county['g1']}").get_data(as_text=True)
    on_page = dict(re.findall(r'<tr data-member="(\d+)">.*?data-year="([\d/]+)"', html, re.S))
    with runtime.sessions() as s:
        out = write_file(s, runtime.settings, period_for(2026), "第一联络组", NOW, tmp_path / "g.xlsx")
    sheet = openpyxl.load_workbook(out)["第一联络组"]
    head = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2, values_only=True):
        values = dict(zip(head, row, strict=False))
        submitted = sum(values[k] for k in ("社情民意", "意见建议", "调研报告", "为民办实事", "提案"))
        expected = f"{submitted}/{values['出席']}/{values['请假']}/{values['缺席']}"
        assert on_page[str(roster[values["姓名"]])] == expected, values["姓名"]
    assert on_page[str(roster["赵六"])] == "0/0/1/1"  # excused from the 视察, missed the 学习


def test_the_member_export_holds_that_member_alone(login, county, roster):
    r = login("李四").get(f"{PREFIX}/member/{roster['李四']}/export.xlsx")
    assert r.headers["Content-Disposition"].startswith("attachment")
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert "总览" not in wb.sheetnames
    names = [row[0] for row in wb["第一联络组"].iter_rows(min_row=2, values_only=True)]
    assert names == ["李四"]
    notes = list(wb["提交明细"].iter_rows(min_row=2, values_only=True))
    assert len(notes) == 1 and "老旧小区加装电梯" in notes[0][4]


def test_pages_do_no_query_per_row(login, county, runtime, roster, app):
    """The statements of each page with two groups equal those with twelve (and more members, notes)."""
    client = login("陈主任")
    pages = ["/", f"/group/{county['g1']}", "/notes", "/scores", "/pending", f"/member/{roster['张三']}"]

    def statements() -> dict[str, int]:
        counted = {}
        engine = app.extensions["bot"].engine
        for page in pages:
            seen: list[str] = []

            def listener(_conn, _cursor, statement, *_args, seen=seen) -> None:
                seen.append(statement)

            event.listen(engine, "before_cursor_execute", listener)
            try:
                assert client.get(PREFIX + page).status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            counted[page] = len(seen)
        return counted

    before = statements()
    with runtime.sessions.begin() as s:
        for i in range(10):
            g = LiaisonGroup(name=f"第{i + 3}组", created_at=NOW)
            s.add(g)
            s.flush()
            for j in range(4):
                m = Member(
                    name=f"委员{i}-{j}",
                    mobile=f"1500000{i:02d}{j:02d}",
                    group_id=g.id if j else county["g1"],
                    role="member",
                    created_at=NOW,
                    updated_at=NOW,
                )
                s.add(m)
                s.flush()
                s.add(
                    Submission(
                        member_id=m.id,
                        group_id=m.group_id,
                        kind="opinion",
                        title=f"关于第{i}{j}件事",
                        content="内容",
                        submitted_at=NOW - dt.timedelta(days=j),
                    )
                )
    assert statements() == before


# -- the actions ------------------------------------------------------------------------------------------


def _act(client, action: str, target: int, nonce: str = _nonce(), **fields):
    form = {"csrf": _csrf(client), "nonce": nonce, "action": action, "id": str(target), "next": f"{PREFIX}/pending"}
    return client.post(f"{PREFIX}/act", data={**form, **fields})


def _flash(client) -> str:
    return _text(client.get(f"{PREFIX}/pending")).split("退出", 1)[1]


def test_a_leader_approves_a_leave_by_the_page_as_by_typing_once_however_often_sent(login, county, runtime, roster):
    client = login("王组长")
    r = _act(client, "approve_leave", county["leave"])
    assert (r.status_code, r.headers["Location"]) == (302, f"{PREFIX}/pending")
    assert "已同意张三的请假" in _flash(client)
    with runtime.sessions() as s:
        leave = s.get(LeaveRequest, county["leave"])
        assert (leave.status, leave.decided_by_id) == ("approved", roster["王组长"])
        decision = s.get(InboundMessage, leave.decision_message_id)
        assert (decision.platform, decision.sender_id, decision.text) == ("web", "13900000001", f"同意 #{leave.id}")
        notices = s.scalars(select(OutboxMessage).where(OutboxMessage.member_id == roster["张三"])).all()
    assert len(notices) == 1 and "已同意" in notices[0].text
    _act(client, "approve_leave", county["leave"])  # the same form again (a double click, a reload)
    _act(client, "approve_leave", county["leave"], nonce=_nonce(2))  # a second form
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.member_id == roster["张三"])) == 1
        assert s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.platform == "web")) == 2
    assert "已" in _flash(client)


def test_a_rejection_by_the_page_keeps_the_reason_typed_into_the_form(login, county, runtime):
    client = login("王组长")
    _act(client, "reject_leave", county["leave"], reason="同意 需要本人参加")  # never read as a command
    with runtime.sessions() as s:
        leave = s.get(LeaveRequest, county["leave"])
        assert (leave.status, leave.decision_reason) == ("rejected", "同意 需要本人参加")


def test_a_form_without_the_sessions_token_changes_nothing(login, county, runtime, app):
    client = login("王组长")
    for csrf in ("", "forged"):
        r = client.post(
            f"{PREFIX}/act", data={"csrf": csrf, "nonce": _nonce(), "action": "approve_leave", "id": county["leave"]}
        )
        assert r.status_code == 400 and "表单已失效" in _text(r)
    stranger = app.test_client()  # no session: no token to match
    assert stranger.post(f"{PREFIX}/act", data={"action": "approve_leave", "id": county["leave"]}).status_code == 401
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, county["leave"]).status == "pending"
        assert s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.platform == "web")) == 0


@pytest.mark.parametrize("who", ["张三", "孙组长"])
def test_a_member_or_another_groups_leader_cannot_decide_by_the_page(who, login, county, runtime):
    client = login(who)
    _act(client, "approve_leave", county["leave"])
    with runtime.sessions() as s:
        assert s.get(LeaveRequest, county["leave"]).status == "pending"


@pytest.mark.parametrize("form", [{"action": "approve"}, {"id": "x"}, {"nonce": "short"}, {"action": "adopt", "level": "乡级"}])
def test_an_incomplete_form_is_refused(form, login, county):
    client = login("陈主任")
    r = _act(client, **{"action": "approve_leave", "target": county["leave"], **form})
    assert r.status_code == 400


def test_a_leader_confirms_a_late_check_in_by_the_page(login, county, runtime, roster):
    client = login("王组长")
    _act(client, "confirm_late", county["late"])
    with runtime.sessions() as s:
        late = s.get(LateEntry, county["late"])
        assert late.status == "confirmed"
        assert s.get(CheckIn, late.checkin_id).member_id == roster["李四"]


def test_the_office_marks_a_note_adopted_and_another_returned_with_the_chats_audit(login, county, runtime, roster):
    client = login("陈主任")
    _act(client, "adopt", county["note_li"], level="市级", title="各界反映")
    _act(client, "return_note", county["note_zhou"], nonce=_nonce(2), reason="请补充具体线路")
    with runtime.sessions() as s:
        li = s.get(Submission, county["note_li"])
        assert (li.status, li.adopted_level) == ("adopted", "市级")
        adopted = s.scalars(select(SubmissionEvent).where(SubmissionEvent.submission_id == li.id)).one()
        assert adopted.by_id == roster["陈主任"] and "各界反映" in adopted.detail
        assert s.get(InboundMessage, adopted.source_message_id).platform == "web"
        zhou = s.get(Submission, county["note_zhou"])
        assert zhou.status == "returned"
        assert s.scalar(select(func.count()).select_from(RecordChange)) >= 1
    journey = _text(client.get(f"{PREFIX}/notes/{county['note_li']}"))
    assert "采用 市级" in journey and "各界反映" in journey and "陈主任" in journey


def test_a_leader_cannot_adopt_by_the_page(login, county, runtime):
    _act(login("王组长"), "adopt", county["note_li"], level="县级")
    with runtime.sessions() as s:
        assert s.get(Submission, county["note_li"]).status == "submitted"


# -- configuration -------------------------------------------------------------------------------------


def test_the_page_lives_under_the_configured_prefix_and_is_gone_when_off(make_app, roster, say):
    moved = make_app(prefix="/lvzhi")
    url = login_url(moved.extensions["bot"].settings, roster["陈主任"], NOW)
    assert urlsplit(url).path == "/lvzhi/login"
    client = moved.test_client()
    assert client.get(_path(url)).status_code == 302
    assert client.get("/lvzhi/").status_code == 200
    assert client.get("/office/").status_code == 404
    assert client.get("/").headers["Location"] == "/lvzhi/"
    off = make_app(enabled=False)
    assert off.test_client().get("/office/").status_code == 404
    assert off.test_client().get("/healthz").status_code == 200
