"""The duty archive (一人一档): `python app.py export --files` writes every attachment of the span's
notes once, by group and member, with its bytes as kept; withdrawn notes and other spans are not in it."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import app as app_module
from bot import files
from models import Attachment, Submission
from tests.conftest import NOW, TZ
from tests.fakes.documents import make_docx, make_pdf, make_png


@pytest.fixture
def config_dict(config_dict, tmp_path):
    config_dict["files"] = {"dir": str(tmp_path / "files")}
    return config_dict


@pytest.fixture
def quarter_of_files(runtime, say):
    root = Path(runtime.settings.files.dir)
    day = lambda m, d: dt.datetime(2026, m, d, 10, tzinfo=TZ)  # noqa: E731
    report = files.receive(root, make_pdf(12, title="关于农村养老服务的调研报告"), "养老调研.pdf", max_mb=20)
    idea = files.receive(root, make_docx(["关于停车难的建议", "增设车位。"]), "停车.docx", max_mb=20)
    photo = files.receive(root, make_png(5, 5), "", max_mb=20)
    old = files.receive(root, make_pdf(1, title="旧的"), "旧.pdf", max_mb=20)
    say("张三", "调研报告", now=day(11, 5), attachments=(report,))
    say("周七", "建议", now=day(11, 10), attachments=(idea,))
    say("张三", "社情民意：东街路灯坏了三个月", now=day(11, 12), attachments=(photo,))
    say(
        "李四", "社情民意：西街也有路灯不亮", now=day(11, 13), attachments=(photo,)
    )  # the same bytes, his note
    say("李四", "社情民意：发错的一篇", now=day(11, 14), attachments=(old,))
    say("李四", "撤回", now=day(11, 14) + dt.timedelta(minutes=2))
    say("张三", "提案", now=day(9, 20), attachments=(old,))  # last quarter
    return {"report": report, "idea": idea, "photo": photo}


def test_the_quarters_archive_holds_every_attachment_once_by_group_and_member(
    runtime, quarter_of_files, write_config, tmp_path
):
    out = tmp_path / "archive.zip"
    result = CliRunner().invoke(
        app_module.cli,
        ["--config", str(write_config()), "export", "--year", "2026", "--quarter", "4",
         "--out", str(tmp_path / "q4.xlsx"), "--files", str(out), "--now", NOW.isoformat()],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "附件 4 个" in result.output
    with runtime.sessions() as s:
        ids = dict(s.execute(select(Submission.title, Submission.id)).all())
        kept = s.scalar(select(Attachment).where(Attachment.name == "养老调研.pdf"))
    expected = {
        f"第一联络组/张三/2026-11-05_#{ids['关于农村养老服务的调研报告']}_调研报告_养老调研.pdf": "report",
        f"第一联络组/张三/2026-11-12_#{ids['东街路灯坏了三个月']}_社情民意_图片.png": "photo",
        f"第一联络组/李四/2026-11-13_#{ids['西街也有路灯不亮']}_社情民意_图片.png": "photo",
        f"第二联络组/周七/2026-11-10_#{ids['关于停车难的建议']}_意见建议_停车.docx": "idea",
    }
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(expected)
        for name, which in expected.items():
            ref = quarter_of_files[which]
            assert archive.read(name) == (Path(runtime.settings.files.dir) / ref.path).read_bytes()
    assert kept.storage_path == quarter_of_files["report"].path


def test_one_groups_archive_into_a_folder_and_a_missing_file_is_reported(
    runtime, quarter_of_files, write_config, tmp_path
):
    (Path(runtime.settings.files.dir) / quarter_of_files["report"].path).unlink()  # lost from the disk
    out = tmp_path / "一人一档"
    result = CliRunner().invoke(
        app_module.cli,
        ["--config", str(write_config()), "export", "--year", "2026", "--group", "第一联络组",
         "--out", str(tmp_path / "g1.xlsx"), "--files", str(out), "--now", NOW.isoformat()],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    # The year: 张三's September 提案 and his picture (his report's bytes are gone), 李四's picture.
    assert [w.split("/")[:2] for w in written] == [["第一联络组", "张三"]] * 2 + [["第一联络组", "李四"]]
    assert any("_提案_旧.pdf" in w for w in written)
    assert "附件文件缺失" in result.stderr and "养老调研.pdf" in result.stderr
