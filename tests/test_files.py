"""bot/files.py on its own: what a file is by its bytes, what a document says, where it is kept,
and which note a message with files becomes."""

from __future__ import annotations

import hashlib

import pytest

from bot import files
from bot.messages import Command, FileRef
from tests.fakes.documents import OLD_WORD, WINDOWS_EXE, make_docx, make_pdf, make_png


def test_a_pdf_gives_its_title_pages_and_text(tmp_path):
    ref = files.receive(
        tmp_path, make_pdf(12, title="关于农村养老服务的调研报告", text="Three townships"), "r.pdf", max_mb=1
    )
    assert (ref.label, ref.mime, ref.pages, ref.title) == (
        "PDF",
        "application/pdf",
        12,
        "关于农村养老服务的调研报告",
    )
    assert "Three townships" in ref.text
    assert files.described(ref) == "（PDF，12页）"


def test_a_docx_without_a_title_is_named_by_its_first_line(tmp_path):
    ref = files.receive(tmp_path, make_docx(["", "  关于西街停车难的建议 ", "第二段"]), "x.docx", max_mb=1)
    assert (ref.label, ref.title) == ("Word", "关于西街停车难的建议")
    assert ref.text.splitlines() == ["  关于西街停车难的建议 ", "第二段"]


def test_the_kind_of_file_is_read_from_its_bytes_not_its_name(tmp_path):
    assert files.receive(tmp_path, make_png(), "报告.pdf", max_mb=1).mime == "image/png"
    assert files.receive(tmp_path, WINDOWS_EXE, "照片.jpg", max_mb=1).reason == "executable"
    assert (
        files.receive(tmp_path, make_pdf(1), "setup.exe", max_mb=1).reason == "executable"
    )  # a name that runs
    assert files.receive(tmp_path, OLD_WORD, "旧.doc", max_mb=1).reason == "old_word"
    assert files.receive(tmp_path, b"%PDF-1.7 garbage", "坏.pdf", max_mb=1).reason == "damaged"
    assert files.receive(tmp_path, b"", "空.pdf", max_mb=1).reason == "empty"
    kept = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert kept == [hashlib.sha256(make_png()).hexdigest()]  # the picture; nothing refused was written


def test_storage_is_by_content_once_and_names_never_become_paths(tmp_path):
    data = make_png(4, 4)
    first = files.receive(tmp_path, data, "../../etc/passwd", max_mb=1)
    again = files.receive(tmp_path, data, "C:\\Users\\张三\\照片.png", max_mb=1)
    digest = hashlib.sha256(data).hexdigest()
    assert first.path == again.path == f"{digest[:2]}/{digest}"
    assert (first.name, again.name) == ("passwd", "照片.png")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]


def test_a_file_over_the_limit_is_refused_with_the_limit_named(tmp_path):
    refusal = files.receive(tmp_path, make_pdf(1) + b"%" * 3000, "r.pdf", max_mb=0.002)
    assert refusal.text == "文件太大（超过0.002MB），没有记录。请压缩或拆分后再发。"


def _ref(name: str, label: str = "PDF", title: str | None = None) -> FileRef:
    return FileRef(name, "application/pdf", 1, "0" * 64, "00/0", label, title=title, text="正文")


@pytest.mark.parametrize(
    ("command", "name", "intent"),
    [
        (Command("unknown"), "关于养老的调研报告.pdf", "report"),  # the name says it
        (Command("proposal", content="提案"), "关于养老的调研报告.pdf", "proposal"),  # the words win
        (Command("unknown"), "材料.pdf", files.FILE_INTENT),  # neither: the bot asks
    ],
)
def test_the_note_a_file_becomes(command, name, intent):
    assert files.with_attachments(command, (_ref(name, title="标题"),)).intent == intent


def test_a_refused_file_refuses_the_message_and_a_checkin_keeps_its_meaning():
    refusal = files.refused("encrypted")
    assert files.with_attachments(Command("opinion", content="x"), (_ref("a.pdf"), refusal)) is refusal
    checkin = Command("checkin")
    assert files.with_attachments(checkin, (_ref("p.png", "图片"),)) is checkin


def test_a_pending_file_question_survives_as_json():
    command = files.with_attachments(Command("unknown"), (_ref("材料.pdf", title="关于停车"),))
    again = Command.from_json(command.as_json())
    assert again.attachments == (
        FileRef("材料.pdf", "application/pdf", 1, "0" * 64, "00/0", "PDF", title="关于停车"),
    )
    assert (again.intent, again.title, again.content) == (files.FILE_INTENT, "关于停车", "正文")


def test_the_kind_question_wants_a_kind_not_a_yes_and_a_no_files_nothing(say, runtime):
    from sqlalchemy import func, select

    from models import Attachment, Submission

    ref = _ref("材料.pdf", title="关于西街停车难的调研")
    assert say("张三", "", attachments=(ref,)).startswith("收到文件《关于西街停车难的调研》。这份材料是：")
    assert say("张三", "是") == "请回复类别：社情民意 / 建议 / 调研报告 / 为民办实事 / 提案。"
    assert say("张三", "调研报告").startswith(
        "已收到调研报告《关于西街停车难的调研》（PDF），这是下半年本组第1篇"
    )
    assert say("张三", "", attachments=(_ref("另一份.pdf", title="另一份"),)).startswith("这份材料已经收到过")
    assert say("李四", "", attachments=(_ref("材料二.pdf", title="材料二"),)).startswith("收到文件《材料二》")
    assert say("李四", "不是") == "好的，这条消息没有记录。"
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1


def test_pictures_sent_alone_right_after_a_note_are_that_notes_photos(say, runtime):
    import datetime as dt

    from sqlalchemy import select

    from models import Attachment, Submission
    from tests.conftest import NOW

    say("张三", "社情民意：东街路灯坏了三个月，夜里行人摔倒", chat_id="chat-g1", is_group=True, platform="wecom_bot",
        sender_id="zhangsan")  # fmt: skip
    photo = FileRef("图片.png", "image/png", 10, "1" * 64, "11/1", "图片")
    later = NOW + dt.timedelta(minutes=3)
    group = {"chat_id": "chat-g1", "is_group": True, "platform": "wecom_bot", "sender_id": "zhangsan"}
    with runtime.sessions() as s:
        note = s.scalars(select(Submission)).one()
    assert say("张三", "", now=later, attachments=(photo,), **group) == (
        f"已把图片附在社情民意《东街路灯坏了三个月》（编号#{note.id}）后。"
    )
    # Elsewhere (one-to-one), or long after, a picture is a question again.
    assert say("张三", "", now=later, attachments=(FileRef("b.png", "image/png", 1, "2" * 64, "22/2", "图片"),),
               sender_id="zhangsan", platform="wecom_bot").startswith("收到图片《b》")  # fmt: skip
    late = NOW + dt.timedelta(minutes=30)
    assert say("张三", "", now=late, attachments=(FileRef("c.png", "image/png", 1, "3" * 64, "33/3", "图片"),),
               **group).startswith("收到图片《c》")  # fmt: skip
    with runtime.sessions() as s:
        assert s.scalars(select(Attachment.submission_id)).all() == [note.id]
