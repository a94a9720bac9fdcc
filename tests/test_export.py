"""`python app.py export`: the workbook read back with openpyxl equals what the database holds,
computed here by independent queries."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import app as app_module
from bot.messages import SUBMISSION_KINDS
from models import Activity, Attachment, CheckIn, LeaveRequest, LiaisonGroup, Member, Submission
from tests.conftest import NOW

TZ = NOW.tzinfo
KIND_NAMES = list(SUBMISSION_KINDS.values())


@pytest.fixture
def year_of_records(runtime, roster, say):
    """A few months of records: check-ins, approved leave, an absence, notes adopted/withdrawn."""
    s_at = lambda m, d, h=9: dt.datetime(2026, m, d, h, tzinfo=TZ)  # noqa: E731
    with runtime.sessions.begin() as s:
        g1 = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == "第一联络组"))
        for day, kind in ((dt.date(2026, 8, 5), "inspection"), (dt.date(2026, 11, 5), "study")):
            s.add(Activity(group_id=g1, kind=kind, title="活动", date=day, created_at=NOW))
    say("张三", "签到", now=s_at(8, 5))
    say("李四", "签到", now=s_at(11, 5))
    with runtime.sessions.begin() as s:
        aug = s.scalar(select(Activity.id).where(Activity.date == dt.date(2026, 8, 5)))
        s.add(
            LeaveRequest(
                activity_id=aug, member_id=roster["李四"], status="approved", requested_at=s_at(8, 1)
            )
        )
    say("张三", "社情民意：关于路灯的建议。晚上太黑。", now=s_at(7, 10))
    say("张三", "调研报告：乡村振兴调研。内容。", now=s_at(9, 30, 23))  # 23:00 local is still 9月30日
    say("周七", "意见建议：关于停车的建议。停车难。", now=s_at(11, 2))
    say("李四", "社情民意：错发的一篇。内容。", now=s_at(11, 3))
    say("李四", "撤回", now=s_at(11, 3, 9) + dt.timedelta(minutes=5))
    note = None
    with runtime.sessions() as s:
        note = s.scalar(select(Submission.id).where(Submission.kind == "opinion").order_by(Submission.id))
    say("陈主任", f"采用 #{note} 市级", now=s_at(11, 20))
    say("陈主任", f"批示 #{note} 县长", now=s_at(11, 21))


def _read(path) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_export_of_the_year_reads_back_as_the_database_holds_it(
    runtime, year_of_records, write_config, tmp_path
):
    out = tmp_path / "2026.xlsx"
    with runtime.sessions.begin() as s:  # the 调研报告 came as a PDF (tests/test_files_*.py send them)
        report = s.scalar(select(Submission).where(Submission.kind == "report"))
        s.add(Attachment(submission_id=report.id, name="乡村振兴调研.pdf", mime_type="application/pdf",
                         size_bytes=1234, sha256="ab" * 32, storage_path=f"ab/{'ab' * 32}", pages=12,
                         received_at=report.submitted_at))  # fmt: skip
    result = CliRunner().invoke(
        app_module.cli,
        [
            "--config",
            str(write_config()),
            "export",
            "--year",
            "2026",
            "--out",
            str(out),
            "--now",
            NOW.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    sheets = _read(out)
    assert list(sheets) == ["总览", "第一联络组", "第二联络组", "提交明细", "积分"]

    with runtime.sessions() as s:
        # Independent reading: every submission of 2026 with its member and group, oldest first.
        subs = s.execute(
            select(Submission, Member.name, LiaisonGroup.name)
            .join(Member, Member.id == Submission.member_id)
            .outerjoin(LiaisonGroup, LiaisonGroup.id == Submission.group_id)
            .order_by(Submission.submitted_at, Submission.id)
        ).all()
        expected_detail = [
            [
                sub.id,
                gname or "",
                name,
                SUBMISSION_KINDS[sub.kind],
                sub.title,
                sub.content,
                dt.datetime.combine(sub.submitted_at.astimezone(TZ).date(), dt.time()),
                {"submitted": "已提交", "adopted": "已采用", "withdrawn": "已撤回"}[sub.status],
                sub.adopted_level,
                dt.datetime.combine(sub.adopted_at.astimezone(TZ).date(), dt.time())
                if sub.adopted_at
                else None,
                sub.instruction,
                dt.datetime.combine(sub.instructed_at.astimezone(TZ).date(), dt.time())
                if sub.instructed_at
                else None,
                "；".join(f"{a.name}（PDF，{a.pages}页）" for a in sub.attachments),
                "；".join(a.storage_path for a in sub.attachments),
            ]
            for sub, name, gname in subs
        ]
        # openpyxl reads an empty string back as None
        got_detail = [[c if c != "" else None for c in row] for row in sheets["提交明细"][1:]]
        assert got_detail == [[c if c != "" else None for c in row] for row in expected_detail]
        assert sheets["提交明细"][0][:7] == ["编号", "联络组", "姓名", "类别", "标题", "内容", "提交日期"]
        assert any(row[7] == "已撤回" for row in got_detail)  # withdrawn kept, never deleted
        assert sheets["提交明细"][2][6] == dt.datetime(2026, 9, 30)  # the local date, not UTC's
        assert sheets["提交明细"][2][12:] == ["乡村振兴调研.pdf（PDF，12页）", f"ab/{'ab' * 32}"]

        for group in ("第一联络组", "第二联络组"):
            gid = s.scalar(select(LiaisonGroup.id).where(LiaisonGroup.name == group))
            people = s.execute(
                select(Member.id, Member.name, Member.role).where(Member.group_id == gid).order_by(Member.id)
            ).all()
            counts = {
                (mid, kind): n
                for mid, kind, n in s.execute(
                    select(Submission.member_id, Submission.kind, func.count())
                    .where(Submission.status != "withdrawn")
                    .group_by(Submission.member_id, Submission.kind)
                )
            }
            attended = dict(
                s.execute(
                    select(CheckIn.member_id, func.count())
                    .join(Activity, Activity.id == CheckIn.activity_id)
                    .where(Activity.group_id == gid)
                    .group_by(CheckIn.member_id)
                )
                .tuples()
                .all()
            )
            held = s.scalar(select(func.count()).select_from(Activity).where(Activity.group_id == gid))
            excused = dict(
                s.execute(
                    select(LeaveRequest.member_id, func.count())
                    .where(LeaveRequest.status == "approved")
                    .group_by(LeaveRequest.member_id)
                )
                .tuples()
                .all()
            )
            rows = sheets[group]
            assert rows[0][:6] == ["姓名", "角色", "状态", "出席", "请假", "缺席"]
            expected = []
            for mid, name, role in people:
                came, off = attended.get(mid, 0), excused.get(mid, 0)
                expected.append(
                    [name, {"member": "委员", "leader": "组长"}[role], "在册", came, off, held - came - off]
                    + [counts.get((mid, k), 0) for k in SUBMISSION_KINDS]
                )
            assert [r[: 6 + len(KIND_NAMES)] for r in rows[1:]] == expected
        overview = {r[0]: r for r in sheets["总览"][1:]}
        assert overview["第一联络组"][:7] == ["第一联络组", "王组长", 3, 2, 2, 1, 5]
        head = sheets["总览"][0]
        assert overview["第一联络组"][head.index("采用")] == 1
        assert overview["第一联络组"][head.index("批示")] == 1
        # 社情民意 monthly: months Jan-Nov have begun, only July had a note.
        assert overview["第一联络组"][head.index("社情民意信息达标（共11期）")] == 1


def test_export_layout_frozen_header_widths_real_dates_and_one_group(
    runtime, year_of_records, write_config, tmp_path
):
    out = tmp_path / "q3.xlsx"
    result = CliRunner().invoke(
        app_module.cli,
        [
            "--config",
            str(write_config()),
            "export",
            "--year",
            "2026",
            "--quarter",
            "3",
            "--group",
            "第一联络组",
            "--out",
            str(out),
            "--now",
            NOW.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["总览", "第一联络组", "提交明细", "积分"]
    detail = wb["提交明细"]
    assert detail.freeze_panes == "A2" and wb["第一联络组"].freeze_panes == "A2"
    assert detail.column_dimensions["F"].width > detail.column_dimensions["A"].width
    assert [c.value for c in detail["C"][1:]] == ["张三", "张三"]  # July and September only
    assert detail["G2"].is_date and detail["G2"].number_format == "yyyy-mm-dd"
    bad = CliRunner().invoke(
        app_module.cli,
        [
            "--config",
            str(write_config()),
            "export",
            "--year",
            "2026",
            "--group",
            "第九联络组",
            "--out",
            str(out),
        ],
    )
    assert bad.exit_code == 1 and "第九联络组" in bad.output


@pytest.mark.parametrize("name", ["2026.csv", "2026", "2026.xls"])
def test_an_export_to_a_file_that_is_not_xlsx_is_refused_with_nothing_written(write_config, tmp_path, name):
    out = tmp_path / name
    result = CliRunner().invoke(
        app_module.cli, ["--config", str(write_config()), "export", "--year", "2026", "--out", str(out)]
    )
    assert result.exit_code == 1
    stem = name.split(".")[0]
    assert f"只能导出为 .xlsx（Excel）文件，不能写成 {name}：请用 --out {stem}.xlsx" in result.output
    assert not out.exists()
