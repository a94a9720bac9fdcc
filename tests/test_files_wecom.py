"""Files and pictures through the WeCom smart bot's callback, end to end: the `url` served by a
local host with bytes encrypted here, independently, as path/100719 describes (AES-256-CBC with the
EncodingAESKey, IV = key[:16], PKCS#7 to 32 bytes); the note, its attachment row and the file on
disk; refusals that keep nothing; a redelivery during the download; a download that fails."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask
from sqlalchemy import func, select

from bot.files import REFUSALS
from bot.platforms.wecom import make_blueprint
from bot.platforms.wecom.crypto import decrypt_media, media_key
from models import Attachment, InboundMessage, OutboxMessage, Submission
from tests.conftest import NOW
from tests.fakes.documents import WINDOWS_EXE, make_docx, make_pdf, make_png
from tests.fakes.file_server import FileHost
from tests.test_wecom_crypto import ind_encrypt, ind_signature

TOKEN = "botToken123"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
TS = str(int(NOW.timestamp()))
REPORT = make_pdf(12, title="关于农村养老服务的调研报告", text="Rural elderly care in three townships")


def wecom_encrypt_media(plain: bytes, encoding_aes_key: str = AES_KEY) -> bytes:
    """The documented algorithm, written out here with `cryptography` alone."""
    key = base64.b64decode(encoding_aes_key + "=")
    pad = 32 - len(plain) % 32
    padded = plain + bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


@pytest.fixture
def config_dict(config_dict, tmp_path):
    config_dict["wecom"] = {
        "smart_bot": {"token": TOKEN, "encoding_aes_key": AES_KEY},
        "reply_deadline_seconds": 2.0,
        "ack_deadline_seconds": 4.0,
    }
    config_dict["files"] = {"dir": str(tmp_path / "files"), "download_seconds": 5, "download_attempts": 3}
    return config_dict


@pytest.fixture
def host():
    with FileHost() as h:
        yield h


@pytest.fixture
def bot(runtime, roster):
    runtime.now = lambda: NOW
    runtime.deliverer = None  # late answers stay in the outbox, where the test reads them
    return runtime


def client_for(runtime, executor):
    app = Flask("wecom-files")
    app.register_blueprint(make_blueprint(runtime, executor=executor))
    return app.test_client()


@pytest.fixture
def client(bot):
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    yield client_for(bot, pool)
    pool.shutdown(wait=True)


def post(client, payload: dict, nonce: str = "n1"):
    encrypt = ind_encrypt(AES_KEY, json.dumps(payload, ensure_ascii=False), "")
    sig = ind_signature(TOKEN, TS, nonce, encrypt)
    return client.post(
        f"/wecom/bot?msg_signature={sig}&timestamp={TS}&nonce={nonce}",
        data=json.dumps({"encrypt": encrypt}),
        content_type="application/json",
    )


def answer_of(resp) -> str:
    from tests.test_wecom_crypto import ind_decrypt

    assert resp.status_code == 200, resp.data
    body = resp.get_json()
    plain, _ = ind_decrypt(AES_KEY, body["encrypt"])
    return json.loads(plain)["stream"]["content"]


def file_message(url: str, msgid: str = "F1", kind: str = "file", chat: str | None = "chat-g1") -> dict:
    p = {
        "msgid": msgid,
        "aibotid": "AIBOT",
        "chattype": "group" if chat else "single",
        "from": {"userid": "zhangsan"},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
        "msgtype": kind,
        kind: {"url": url},
    }
    if chat:
        p["chatid"] = chat
    return p


def stored(runtime) -> tuple[int, int, int]:
    with runtime.sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) for t in (InboundMessage, Submission, Attachment)
        )


def files_on_disk(runtime) -> list[Path]:
    root = Path(runtime.settings.files.dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---- the algorithm


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 1000])
def test_media_decrypts_what_the_documented_algorithm_encrypts(size):
    plain = bytes((i * 7) % 256 for i in range(size))
    cipher = wecom_encrypt_media(plain)
    assert len(cipher) % 32 == 0  # PKCS#7 to 32-byte blocks: a whole block of padding at 32
    assert decrypt_media(cipher, media_key(AES_KEY)) == plain


def test_media_with_another_key_or_cut_short_is_not_taken():
    cipher = wecom_encrypt_media(b"%PDF-1.7 report")
    other = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
    assert decrypt_media(cipher, media_key(other)) is None
    assert decrypt_media(cipher[:-16], media_key(AES_KEY)) is None


# ---- end to end


def test_a_pdf_report_is_kept_as_the_report_its_name_says_with_pages_echoed(client, bot, host):
    url = host.put("/m/report", wecom_encrypt_media(REPORT), name="关于农村养老服务的调研报告.pdf")
    text = answer_of(post(client, file_message(url)))
    with bot.sessions() as s:
        sub = s.scalars(select(Submission)).one()
        att = s.scalars(select(Attachment)).one()
    assert (
        text
        == f"已收到调研报告《关于农村养老服务的调研报告》（PDF，12页），这是下半年本组第1篇，编号#{sub.id}。"
    )
    assert (sub.kind, sub.title) == ("report", "关于农村养老服务的调研报告")
    assert "Rural elderly care" in sub.content
    digest = hashlib.sha256(REPORT).hexdigest()
    assert (att.submission_id, att.name, att.mime_type, att.size_bytes, att.sha256, att.pages) == (
        sub.id, "关于农村养老服务的调研报告.pdf", "application/pdf", len(REPORT), digest, 12,
    )  # fmt: skip
    assert att.storage_path == f"{digest[:2]}/{digest}"
    assert (Path(bot.settings.files.dir) / att.storage_path).read_bytes() == REPORT  # decrypted, whole


def test_a_document_whose_kind_is_unsaid_is_asked_about_and_the_answer_files_it(client, bot, host):
    doc = make_docx(["关于乡村道路安全的几点想法", "村口路段缺少减速带。"], pages=3)
    url = host.put("/m/doc", wecom_encrypt_media(doc), name="材料.docx")
    asked = answer_of(post(client, file_message(url, msgid="F2")))
    assert (
        asked
        == "收到文件《关于乡村道路安全的几点想法》。这份材料是：社情民意 / 建议 / 调研报告 / 为民办实事 / 提案？请回复类别。"
    )
    assert stored(bot) == (1, 0, 0)  # nothing filed before the member says what it is
    reply = {"msgid": "F3", "aibotid": "AIBOT", "chattype": "group", "chatid": "chat-g1",
             "from": {"userid": "zhangsan"}, "msgtype": "text", "text": {"content": "@履职助手\u2005建议"}}  # fmt: skip
    filed = answer_of(post(client, reply))
    with bot.sessions() as s:
        sub = s.scalars(select(Submission)).one()
        att = s.scalars(select(Attachment)).one()
    assert (
        filed
        == f"已收到意见建议《关于乡村道路安全的几点想法》（Word，3页），这是本季度本组第1篇，编号#{sub.id}。"
    )
    assert sub.kind == "suggestion" and "减速带" in sub.content
    assert (att.submission_id, att.name, att.pages) == (sub.id, "材料.docx", 3)


def test_words_and_a_picture_in_one_message_are_one_note_with_its_picture(client, bot, host):
    png = make_png()
    url = host.put("/m/photo", wecom_encrypt_media(png))
    mixed = file_message(url, msgid="F4", kind="mixed")
    mixed["mixed"] = {"msg_item": [
        {"msgtype": "text", "text": {"content": "@履职助手\u2005社情民意：东街路灯坏了三个月，夜里行人摔倒"}},
        {"msgtype": "image", "image": {"url": url}},
    ]}  # fmt: skip
    text = answer_of(post(client, mixed))
    with bot.sessions() as s:
        sub = s.scalars(select(Submission)).one()
        att = s.scalars(select(Attachment)).one()
    assert text.startswith("已收到社情民意《东街路灯坏了三个月》（图片），这是本月本组第1篇")
    assert sub.kind == "opinion" and "夜里行人摔倒" in sub.content
    assert (att.mime_type, att.sha256, att.name) == ("image/png", hashlib.sha256(png).hexdigest(), "图片.png")


def test_the_same_file_sent_again_is_the_note_already_kept(client, bot, host):
    url = host.put("/m/report", wecom_encrypt_media(REPORT), name="调研报告.pdf")
    first = answer_of(post(client, file_message(url, msgid="A1")))
    again = answer_of(post(client, file_message(url, msgid="A2")))
    with bot.sessions() as s:
        sub_id = s.scalars(select(Submission.id)).one()
    assert first.startswith("已收到调研报告")
    assert (
        again
        == f"这份材料已经收到过：调研报告《关于农村养老服务的调研报告》（编号#{sub_id}），没有重复记录。"
    )
    assert stored(bot) == (2, 1, 1) and len(files_on_disk(bot)) == 1


# ---- refusals: a clear line, nothing kept


@pytest.mark.parametrize(
    ("reason", "content", "name", "failures"),
    [
        ("executable", WINDOWS_EXE, "报告.pdf.exe", ()),
        ("encrypted", make_pdf(2, password="secret"), "调研报告.pdf", ()),
        ("unsupported", b"just some text, not a document", "调研报告.txt", ()),
        ("expired", None, None, (410,)),
        ("failed", REPORT, "调研报告.pdf", (500, 502, 503)),
    ],
)
def test_a_file_the_bot_does_not_keep_is_refused_with_one_line_and_nothing_stored(
    client, bot, host, reason, content, name, failures
):
    url = (
        host.put("/m/x", wecom_encrypt_media(content), name=name)
        if content is not None
        else f"{host.url}/m/x"
    )
    host.fail("/m/x", *failures)
    assert answer_of(post(client, file_message(url, msgid=f"R-{reason}"))) == REFUSALS[reason]
    assert stored(bot) == (1, 0, 0) and files_on_disk(bot) == []
    with bot.sessions() as s:
        assert s.scalars(select(InboundMessage.outcome)).one() == "refused"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(bot, host, write_config, tmp_path):
    big = make_pdf(1) + b"%" * 40_000
    url = host.put("/m/big", wecom_encrypt_media(big), name="调研报告.pdf")
    bot.settings = bot.settings.model_copy(
        update={"files": bot.settings.files.model_copy(update={"max_mb": 0.02})}
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        text = answer_of(post(client_for(bot, pool), file_message(url, msgid="BIG")))
    assert text == "文件太大（超过0.02MB），没有记录。请压缩或拆分后再发。"
    assert stored(bot) == (1, 0, 0) and files_on_disk(bot) == []


def test_a_download_that_fails_twice_then_succeeds_is_tried_again(client, bot, host):
    url = host.put("/m/report", wecom_encrypt_media(REPORT), name="调研报告.pdf")
    host.fail("/m/report", 502, 503)
    assert answer_of(post(client, file_message(url))).startswith("已收到调研报告")
    assert host.asked["/m/report"] == 3 and stored(bot) == (1, 1, 1)


# ---- redelivery during the download


def test_a_redelivery_during_the_download_waits_for_it_and_the_file_is_fetched_and_kept_once(
    bot, host, config_dict
):
    bot.settings = bot.settings.model_copy(
        update={
            "wecom": bot.settings.wecom.model_copy(
                update={"reply_deadline_seconds": 0.2, "ack_deadline_seconds": 0.5}
            )
        }
    )
    url = host.put("/m/slow", wecom_encrypt_media(REPORT), name="调研报告.pdf")
    gate = host.hold("/m/slow")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        http = client_for(bot, pool)
        first = post(http, file_message(url, msgid="SLOW"))
        assert first.status_code == 503  # not stored yet: WeCom delivers again
        second = post(http, file_message(url, msgid="SLOW"), nonce="n2")
        assert second.status_code == 503
        gate.set()
        deadline = time.monotonic() + 10
        while stored(bot)[1] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        third = post(http, file_message(url, msgid="SLOW"), nonce="n3")
    assert (third.status_code, third.data) == (200, b"")  # a duplicate: its answer is in the outbox
    assert host.served["/m/slow"] == 1  # the redeliveries waited; nothing was fetched twice
    assert stored(bot) == (1, 1, 1) and len(files_on_disk(bot)) == 1
    with bot.sessions() as s:
        [late] = s.scalars(select(OutboxMessage.text)).all()
    assert late.startswith("已收到调研报告《关于农村养老服务的调研报告》（PDF，12页）")


def test_a_message_refused_for_its_second_picture_keeps_nothing_of_the_first(client, bot, host):
    good = host.put("/m/good", wecom_encrypt_media(make_png()))
    bad = host.put("/m/bad", wecom_encrypt_media(WINDOWS_EXE), name="照片.exe")
    mixed = file_message(good, msgid="MIX2", kind="mixed")
    mixed["mixed"] = {"msg_item": [
        {"msgtype": "text", "text": {"content": "社情民意：河道垃圾"}},
        {"msgtype": "image", "image": {"url": good}},
        {"msgtype": "image", "image": {"url": bad}},
    ]}  # fmt: skip
    assert answer_of(post(client, mixed)) == REFUSALS["executable"]
    assert host.served["/m/good"] == 1 and stored(bot) == (1, 0, 0) and files_on_disk(bot) == []


def test_a_picture_sent_to_the_self_built_app_is_fetched_by_its_picurl(bot, host, tmp_path):
    from tests.test_wecom_crypto import DOC_CORP, DOC_KEY, DOC_TOKEN

    bot.settings = bot.settings.model_copy(
        update={
            "wecom": bot.settings.wecom.model_copy(
                update={
                    "corp_id": DOC_CORP,
                    "app": bot.settings.wecom.app.model_copy(
                        update={
                            "agent_id": "218",
                            "secret": "s",
                            "token": DOC_TOKEN,
                            "encoding_aes_key": DOC_KEY,
                        }
                    ),
                }
            )
        }
    )
    png = make_png(6, 6)
    url = host.put("/app/pic", png)  # PicUrl: plain bytes, no encryption (path/90239)
    plain = (
        f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
        f"<CreateTime>{TS}</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[{url}]]></PicUrl>"
        "<MediaId><![CDATA[media-1]]></MediaId><MsgId>7001</MsgId><AgentID>218</AgentID></xml>"
    )
    encrypt = ind_encrypt(DOC_KEY, plain, DOC_CORP)
    sig = ind_signature(DOC_TOKEN, TS, "n1", encrypt)
    body = (
        f"<xml><ToUserName><![CDATA[{DOC_CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        resp = client_for(bot, pool).post(
            f"/wecom/app?msg_signature={sig}&timestamp={TS}&nonce=n1", data=body
        )
    assert resp.status_code == 200
    from bot.platforms.wecom.crypto import parse_xml
    from tests.test_wecom_crypto import ind_decrypt

    answer, _ = ind_decrypt(DOC_KEY, parse_xml(resp.data)["Encrypt"])
    assert parse_xml(answer)["Content"].startswith("收到图片《图片》。这份材料是：")
    assert host.served["/app/pic"] == 1 and stored(bot) == (1, 0, 0)
    assert [p.name for p in files_on_disk(bot)] == [hashlib.sha256(png).hexdigest()]
