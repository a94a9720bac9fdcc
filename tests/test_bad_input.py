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


def test_a_captured_request_replayed_verbatim_gets_the_stored_answer_and_is_recorded_once(client, runtime):
    # WeCom delivers again only when it did not get the answer: a replay is answered as the first was
    # (encrypted for WeCom: the replayer learns nothing), and nothing is recorded a second time.
    path, body = wc.signed(wc.payload("社情民意：关于重放的建议。正文", "REPLAY"))
    first = post(client, path, body)
    answer = wc.answer_text(first.data)
    assert answer.startswith("已收到社情民意")
    after_first = counts(runtime)
    for _ in range(3):
        again = post(client, path, body)
        assert again.status_code == 200 and wc.answer_text(again.data) == answer
    grown = {table: n - after_first[table] for table, n in counts(runtime).items() if n != after_first[table]}
    assert grown == {"outbox_message": 1}  # the 'sent' row saying the answer went in the response


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


def test_a_body_over_the_cap_is_refused_before_it_is_read(client, runtime):
    before = counts(runtime)
    path, _ = wc.signed(wc.payload("签到", "BIG"))
    resp = post(client, path, b'{"encrypt": "' + b"A" * 2_000_000 + b'"}')
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
    receipt, *advice = answer.split("\n")
    assert receipt.startswith("已收到社情民意《") and "编号#" in receipt
    assert (
        all(line.startswith("提示：") for line in advice) and len(advice) <= 1
    )  # one line of advice at most
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
        ("谁还没交社情民意", ("leader", "admin")),  # 本组情况 from a member reads their own record
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


# --------------------------------------------------------------------------- hostile nesting


def test_an_unsigned_envelope_nested_thirty_thousand_deep_is_a_bad_request(client, runtime):
    before = counts(runtime)
    body = b'{"encrypt": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    ts = str(int(time.time()))
    resp = post(client, f"/wecom/bot?msg_signature=x&timestamp={ts}&nonce=n", body)
    assert resp.status_code == 400  # read by the bounded parser before the signature: never a 500
    assert counts(runtime) == before


def test_a_signed_plaintext_nested_five_thousand_deep_is_a_bad_request(client, runtime):
    before = counts(runtime)
    deep = b'{"msgid": "deep1", "msgtype": "text", "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    resp = post(client, *signed_encrypt(raw_encrypt(deep)))
    assert (resp.status_code, resp.data) == (400, b"decrypted payload: JSON nested deeper than 32")
    assert counts(runtime) == before
    # the same message at an honest depth is read
    assert wc.answer_text(say(client, "社情民意：路灯不亮", "deep2").data).startswith("已收到")


# --------------------------------------------------------------------------- ids longer than their columns


@pytest.mark.parametrize(
    "msgid, userid, chat, reason",
    [
        ("m" * 200, "zhangsan", "chat-g1", b"msg_id longer than 128 characters"),
        ("long-user", "u" * 200, "chat-g1", b"sender_id longer than 128 characters"),
        ("long-chat", "zhangsan", "c" * 129, b"chat_id longer than 128 characters"),
    ],
)
def test_an_id_longer_than_its_column_is_a_bad_request_every_time(
    client, runtime, msgid, userid, chat, reason
):
    before = counts(runtime)
    for _ in range(3):  # a poison message: the same clear 400 on every redelivery, never a 500
        resp = say(client, "社情民意：路灯不亮", msgid, userid, chat)
        assert (resp.status_code, resp.data) == (400, reason)
    assert counts(runtime) == before


def test_the_id_limits_are_the_columns_lengths():
    from bot.messages import ID_LENGTH, NAME_LENGTH

    columns = InboundMessage.__table__.c
    assert {c: columns[c].type.length for c in ("msg_id", "sender_id", "chat_id", "sender_name")} == {
        "msg_id": ID_LENGTH,
        "sender_id": ID_LENGTH,
        "chat_id": ID_LENGTH,
        "sender_name": NAME_LENGTH,
    }


# --------------------------------------------------------------------------- long notes


def test_a_twenty_thousand_character_note_is_recorded_whole(client, runtime):
    body = "路灯不亮，" * 4_000  # 20,000 characters: an 80 KB body and more once escaped and encrypted
    resp = say(client, f"社情民意：关于城东路灯的建议\n{body}", "LONG1")
    assert resp.status_code == 200
    assert wc.answer_text(resp.data).startswith("已收到")
    _, note = _stored_note(runtime, "LONG1")
    assert note.content.endswith(body)


def test_a_note_over_the_limit_is_answered_with_its_length_and_not_recorded(client, runtime):
    before = counts(runtime)
    resp = say(client, "社情民意：" + "长" * 30_001, "LONG2")
    assert resp.status_code == 200  # a 4xx would leave the member with silence
    assert wc.answer_text(resp.data) == "这条消息有30006字，超过了30000字的上限，没有记录。请精简后再发。"
    after = counts(runtime)
    assert after["submission"] == before["submission"]
    with runtime.sessions() as s:
        assert s.scalar(select(InboundMessage.outcome).where(InboundMessage.msg_id == "LONG2")) == "refused"


def test_a_cap_too_small_for_the_longest_message_is_a_config_error(config_dict):
    from bot.config import settings_from_dict

    with pytest.raises(Exception, match="max_body_bytes must be at least 256384"):
        settings_from_dict({**config_dict, "wecom": {**wc.SMART_BOT, "max_body_bytes": 65536}}, "t")
