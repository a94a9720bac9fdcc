"""Hostile and odd input through the real app (create_app, the shipped routers and parser) at the
WeCom smart-bot endpoint: each gets its documented answer and leaves every table as it was.

tests/test_wecom_inbound.py already covers a wrong token, a stale timestamp, malformed JSON
envelopes, a missing query, an oversize `encrypt` and XXE in the app's XML; these are the rest."""

from __future__ import annotations

import base64
import json
import os
import struct
import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import func, select

from app import create_app
from bot.parser import parse
from bot.pipeline import ROLE_REFUSAL, UNKNOWN_SENDER, WRONG_CHAT
from bot.platforms.wecom.crypto import signature
from models import Base, InboundMessage, Submission
from tests.fakes import wecom_client as wc


@pytest.fixture
def client(write_config, config_dict, roster):
    app = create_app(
        write_config(wecom=wc.SMART_BOT, scheduler={**config_dict["scheduler"], "enabled": False})
    )
    return app.test_client()


def counts(runtime) -> dict[str, int]:
    with runtime.sessions() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def post(client, path: str, body: bytes):
    return client.post(path, data=body, content_type="application/json")


def say(client, text: str, msgid: str, userid: str = "zhangsan", chat: str | None = "chat-g1"):
    return post(client, *wc.signed(wc.payload(text, msgid, userid, chat)))


def raw_encrypt(plain: bytes) -> str:
    """WeCom's scheme over arbitrary bytes (the real crypto only takes text)."""
    key = base64.b64decode(wc.AES_KEY + "=")
    raw = os.urandom(16) + struct.pack(">I", len(plain)) + plain
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def signed_encrypt(encrypt: str, ts: str | None = None, nonce: str = "n") -> tuple[str, bytes]:
    ts = ts or str(int(time.time()))
    sig = signature(wc.TOKEN, ts, nonce, encrypt)
    return f"/wecom/bot?msg_signature={sig}&timestamp={ts}&nonce={nonce}", json.dumps(
        {"encrypt": encrypt}
    ).encode()


# --------------------------------------------------------------------------- signatures and time


def test_a_captured_request_replayed_verbatim_is_answered_empty_and_recorded_once(client, runtime):
    path, body = wc.signed(wc.payload("社情民意：关于重放的建议。正文", "REPLAY"))
    first = post(client, path, body)
    assert wc.answer_text(first.data).startswith("已收到社情民意")
    after_first = counts(runtime)
    for _ in range(3):
        again = post(client, path, body)
        assert (again.status_code, again.data) == (200, b"")
    assert counts(runtime) == after_first


def test_a_valid_signature_with_another_body_is_forged(client, runtime):
    before = counts(runtime)
    path, _ = wc.signed(wc.payload("签到", "A"))
    _, other = wc.signed(wc.payload("社情民意：伪造。正文", "B"))
    resp = post(client, path, other)
    assert (resp.status_code, resp.data) == (403, b"bad signature")
    assert counts(runtime) == before


@pytest.mark.parametrize(
    ("offset", "status"),
    [(301, 403), (86400, 403), (-86400 * 365, 403), (-285, 200), (285, 200)],
    ids=["5min-ahead", "a-day-ahead", "a-year-old", "just-inside-past", "just-inside-future"],
)
def test_timestamps_outside_the_five_minute_window_are_refused(client, runtime, offset, status):
    before = counts(runtime)
    path, body = wc.signed(wc.payload("我的履职", f"T{offset}"), ts=int(time.time()) + offset)
    assert post(client, path, body).status_code == status
    grown = counts(runtime)["inbound_message"] - before["inbound_message"]
    assert grown == (1 if status == 200 else 0)


@pytest.mark.parametrize("ts", ["abc", "1e9", "-5", " 1"])
def test_a_timestamp_that_is_not_a_number_is_a_bad_request(client, runtime, ts):
    before = counts(runtime)
    path, body = signed_encrypt(raw_encrypt(json.dumps(wc.payload("签到", "X")).encode()), ts=ts)
    assert post(client, path, body).status_code == 400
    assert counts(runtime) == before


# --------------------------------------------------------------------------- broken bodies


def test_truncated_bodies_are_refused(client, runtime):
    before = counts(runtime)
    path, body = wc.signed(wc.payload("签到", "TRUNC"))
    assert post(client, path, body[: len(body) // 2]).status_code == 400  # broken JSON
    encrypt = json.loads(body)["encrypt"]
    cut = encrypt[: len(encrypt) - 8]
    assert post(client, path, json.dumps({"encrypt": cut}).encode()).status_code == 403  # unsigned
    resp = post(client, *signed_encrypt(cut))  # signed by someone holding the token, still broken
    assert (resp.status_code, resp.data) == (400, b"cannot decrypt")
    assert counts(runtime) == before


def test_a_megabyte_body_is_refused_before_it_is_read(client, runtime):
    before = counts(runtime)
    path, _ = wc.signed(wc.payload("签到", "BIG"))
    resp = post(client, path, b'{"encrypt": "' + b"A" * 1_000_000 + b'"}')
    assert resp.status_code == 413
    assert counts(runtime) == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"encrypt": "\xff\xfe\xfd"}',
        b"\xef\xbb\xbf\xc3\x28",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>',
    ],
    ids=["invalid-utf8-json", "invalid-utf8", "xxe", "billion-laughs"],
)
def test_invalid_utf8_and_xml_entities_at_the_json_endpoint_are_bad_requests(client, runtime, body):
    before = counts(runtime)
    path, _ = wc.signed(wc.payload("签到", "BAD"))
    assert post(client, path, body).status_code == 400
    assert counts(runtime) == before


def test_signed_ciphertext_of_invalid_utf8_is_refused(client, runtime):
    before = counts(runtime)
    resp = post(client, *signed_encrypt(raw_encrypt(b'{"msgid": "\xff\xfe", "msgtype": "text"}')))
    assert (resp.status_code, resp.data) == (400, b"cannot decrypt")
    assert counts(runtime) == before


# --------------------------------------------------------------------------- odd but legitimate text


def _stored_note(runtime, msgid: str) -> tuple[InboundMessage, Submission]:
    with runtime.sessions() as s:
        inbound = s.scalars(select(InboundMessage).where(InboundMessage.msg_id == msgid)).one()
        return inbound, s.scalars(select(Submission).where(Submission.source_message_id == inbound.id)).one()


@pytest.mark.parametrize(
    ("body", "msgid"),
    [
        pytest.param("群众反映" * 2500, "LONG"),  # 10,000 characters
        ("关于🚌公交线路👍的建议。家门口没有站🙏，老人出行难👵🏻", "EMOJI"),
        ("Robert'); DROP TABLE submission;-- 。' OR '1'='1; DELETE FROM member WHERE 1=1 --", "SQL"),
        ("引号\"双\"'单'、反斜杠\\、百分号%、下划线_、尖括号<script>alert(1)</script>", "QUOTES"),
    ],
)
def test_long_emoji_and_sql_looking_notes_are_stored_verbatim(client, runtime, body, msgid):
    before = counts(runtime)
    resp = say(client, "社情民意：" + body, msgid)
    answer = wc.answer_text(resp.data)
    assert answer.startswith("已收到社情民意《") and "\n" not in answer
    inbound, note = _stored_note(runtime, msgid)
    assert inbound.text == "社情民意：" + body
    reading = parse(inbound.text, runtime.now())
    assert note.content == reading.content and body.endswith(note.content)
    after = counts(runtime)
    expected = {
        **before,
        "inbound_message": before["inbound_message"] + 1,
        "submission": before["submission"] + 1,
    }
    assert after == expected  # every table still there, nothing else touched


def test_a_nul_character_is_dropped_rather_than_failing_every_redelivery(client, runtime):
    """JSON may carry \\u0000; PostgreSQL text cannot hold it, and a 5xx would be retried forever."""
    resp = say(client, "社情民意：关于\x00空字符的建议。正文\x00", "NUL\x00")
    assert wc.answer_text(resp.data).startswith("已收到社情民意")
    with runtime.sessions() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.msg_id, row.text) == ("NUL", "社情民意：关于空字符的建议。正文")


# --------------------------------------------------------------------------- access


def _only_logged(before: dict[str, int], after: dict[str, int]) -> bool:
    """The message is kept in the inbound log (to trace it) and nothing else changes."""
    return after == {**before, "inbound_message": before["inbound_message"] + 1}


def test_a_stranger_is_told_to_bind_and_nothing_is_recorded(client, runtime):
    before = counts(runtime)
    for i, text in enumerate(["签到", "社情民意：关于陌生人的建议。正文", "本组情况", "采用 #1 市级"]):
        assert wc.answer_text(say(client, text, f"S{i}", userid="stranger").data) == UNKNOWN_SENDER
    after = counts(runtime)
    assert after == {**before, "inbound_message": before["inbound_message"] + 4}


def test_a_member_writing_in_another_groups_chat_is_refused(client, runtime):
    before = counts(runtime)
    answer = wc.answer_text(say(client, "社情民意：关于串群的建议。正文", "WRONG", userid="zhouqi").data)
    assert answer == WRONG_CHAT
    assert _only_logged(before, counts(runtime))


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("发布活动 12月3日上午9点 视察 城区污水处理厂", ("leader", "admin")),
        ("同意 李四", ("leader", "admin")),
        ("驳回 #1 不符合规定", ("leader", "admin")),
        ("本组情况", ("leader", "admin")),
        ("采用 #1 市级", ("admin",)),
        ("停用 李四", ("admin",)),
    ],
)
def test_a_member_trying_leader_and_admin_commands_is_refused(client, runtime, text, roles):
    intent = parse(text, runtime.now()).intent
    route = runtime.router.get(intent)
    assert route is not None and route.roles == roles
    before = counts(runtime)
    answer = wc.answer_text(say(client, text, f"ROLE-{intent}", userid="lisi").data)
    assert answer == ROLE_REFUSAL[roles]
    assert _only_logged(before, counts(runtime))
