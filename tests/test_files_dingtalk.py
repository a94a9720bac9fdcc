"""Files and pictures through the DingTalk app robot, end to end against local fakes: the
downloadCode exchanged at messageFiles/download (robotCode, downloadCode, the app's token) for a
downloadUrl on a local file host; the note, its attachment and the file on disk; refusals that keep
nothing; the Stream path's redelivered frame fetching and keeping the file once."""

from __future__ import annotations

import concurrent.futures
import hashlib
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot.files import REFUSALS
from bot.platforms.dingtalk import make_blueprint
from bot.platforms.dingtalk.stream import StreamClient
from models import Attachment, InboundMessage, OutboxMessage, Submission
from tests.fakes.dingtalk_server import FakeDingtalk, robot_message
from tests.fakes.documents import make_docx, make_pdf, make_png
from tests.fakes.file_server import FileHost
from tests.test_dingtalk_callback import headers

REPORT = make_pdf(12, title="关于农村养老服务的调研报告", text="Rural elderly care")


@pytest.fixture
def fake():
    with FakeDingtalk() as f:
        yield f


@pytest.fixture
def host():
    with FileHost() as h:
        yield h


@pytest.fixture
def config_dict(config_dict, tmp_path, fake):
    config_dict["dingtalk"] = {
        "app_key": "ding-app-key",
        "app_secret": "ding-app-secret",
        "robot_code": "ding-robot",
        "api_base": fake.url,
        "oapi_base": fake.url,
        "reply_deadline_seconds": 2.5,
        "ack_deadline_seconds": 2.9,
    }
    config_dict["files"] = {"dir": str(tmp_path / "files"), "download_seconds": 5}
    return config_dict


@pytest.fixture
def bot(runtime, roster):
    runtime.deliverer = None  # answers stay in the outbox, where the test reads them
    return runtime


@pytest.fixture
def client(bot):
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    app = Flask("dingtalk-files")
    app.register_blueprint(make_blueprint(bot, executor=pool))
    yield app.test_client()
    pool.shutdown(wait=True)


def file_message(msg_id: str, msgtype: str, content: dict) -> dict:
    body = robot_message(msg_id=msg_id, group=False, msgtype=msgtype, content=content)
    del body["text"]
    return body


def answer(bot, msg_id: str) -> str:
    """The answer queued for the message's sessionWebhook (waited for: the callback answers first)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with bot.sessions() as s:
            text = s.scalar(select(OutboxMessage.text).where(OutboxMessage.key == f"reply:dingtalk:{msg_id}"))
        if text is not None:
            return text
        time.sleep(0.02)
    raise TimeoutError(f"no answer to {msg_id}")


def stored(bot) -> tuple[int, int, int]:
    with bot.sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) for t in (InboundMessage, Submission, Attachment)
        )


def files_on_disk(bot) -> list[Path]:
    root = Path(bot.settings.files.dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_pdf_sent_one_to_one_is_downloaded_by_its_code_and_kept_as_the_report(client, bot, fake, host):
    fake.message_files["DC-REPORT"] = host.put("/dl/report", REPORT)
    body = file_message(
        "msgF1", "file", {"downloadCode": "DC-REPORT", "fileName": "关于农村养老服务的调研报告.pdf"}
    )
    assert client.post("/dingtalk/robot", json=body, headers=headers()).get_json() == {"msgtype": "empty"}
    text = answer(bot, "msgF1")
    [asked] = fake.to("/v1.0/robot/messageFiles/download")
    assert asked.json == {"downloadCode": "DC-REPORT", "robotCode": "ding-robot"}
    assert asked.headers["x-acs-dingtalk-access-token"].startswith("token-")
    with bot.sessions() as s:
        sub = s.scalars(select(Submission)).one()
        att = s.scalars(select(Attachment)).one()
    assert (
        text
        == f"已收到调研报告《关于农村养老服务的调研报告》（PDF，12页），这是下半年本组第1篇，编号#{sub.id}。"
    )
    assert (att.name, att.sha256, att.size_bytes) == (
        "关于农村养老服务的调研报告.pdf", hashlib.sha256(REPORT).hexdigest(), len(REPORT),
    )  # fmt: skip
    assert (Path(bot.settings.files.dir) / att.storage_path).read_bytes() == REPORT


def test_words_and_a_picture_in_a_rich_text_are_one_note_with_its_picture(client, bot, fake, host):
    png = make_png(3, 3)
    fake.message_files["DC-PIC"] = host.put("/dl/pic", png)
    rich = {
        "richText": [
            {"text": "社情民意：西街排水沟堵塞，雨天积水没过脚踝"},
            {"type": "picture", "downloadCode": "DC-PIC"},
        ]
    }
    client.post("/dingtalk/robot", json=file_message("msgR1", "richText", rich), headers=headers())
    assert answer(bot, "msgR1").startswith("已收到社情民意《西街排水沟堵塞》（图片），这是本月本组第1篇")
    with bot.sessions() as s:
        sub = s.scalars(select(Submission)).one()
        att = s.scalars(select(Attachment)).one()
    assert sub.kind == "opinion" and "积水没过脚踝" in sub.content
    assert (att.submission_id, att.mime_type, att.sha256) == (
        sub.id,
        "image/png",
        hashlib.sha256(png).hexdigest(),
    )


def test_a_picture_alone_is_asked_about_and_filed_by_the_answer(client, bot, fake, host):
    fake.message_files["DC-ALONE"] = host.put("/dl/alone", make_png())
    client.post(
        "/dingtalk/robot",
        json=file_message("msgP1", "picture", {"downloadCode": "DC-ALONE"}),
        headers=headers(),
    )
    assert answer(bot, "msgP1").startswith("收到图片《图片》。这份材料是：社情民意 / 建议")
    assert stored(bot) == (1, 0, 0)
    client.post(
        "/dingtalk/robot", json=robot_message("为民办实事", msg_id="msgP2", group=False), headers=headers()
    )
    assert answer(bot, "msgP2").startswith("已收到为民办实事《图片》（图片）")
    assert stored(bot) == (2, 1, 1)


@pytest.mark.parametrize(
    ("reason", "code", "failures"),
    [("expired", "DC-UNKNOWN", ()), ("failed", "DC-BROKEN", (500, 500, 500)), ("expired", "DC-GONE", (404,))],
)
def test_a_download_code_or_link_that_does_not_work_is_refused_and_nothing_is_kept(
    client, bot, fake, host, reason, code, failures
):
    if code != "DC-UNKNOWN":
        fake.message_files[code] = host.put(f"/dl/{code}", REPORT)
        host.fail(f"/dl/{code}", *failures)
    body = file_message(f"msg-{code}", "file", {"downloadCode": code, "fileName": "调研报告.pdf"})
    client.post("/dingtalk/robot", json=body, headers=headers())
    assert answer(bot, f"msg-{code}") == REFUSALS[reason]
    assert stored(bot) == (1, 0, 0) and files_on_disk(bot) == []


def test_stream_a_redelivered_file_frame_is_fetched_once_and_kept_once(bot, fake, host):
    doc = make_docx(["西街菜市场改造建议", "建议增设遮雨棚。"], pages=2)
    fake.message_files["DC-DOC"] = host.put("/dl/doc", doc)
    stream = StreamClient(bot)
    frame = file_message("msgS1", "file", {"downloadCode": "DC-DOC", "fileName": "菜市场改造建议.docx"})
    stream.handle_data(frame)
    stream.handle_data(frame)  # DingTalk sends the frame again
    assert answer(bot, "msgS1").startswith("已收到意见建议《西街菜市场改造建议》（Word，2页）")
    assert host.served["/dl/doc"] == 1 and stored(bot) == (1, 1, 1) and len(files_on_disk(bot)) == 1
    with bot.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
