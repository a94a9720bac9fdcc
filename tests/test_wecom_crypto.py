"""WeCom callback crypto against WeCom's own published sample vectors, and re-computed
independently with hashlib and `cryptography` (no wechatpy) to show both sides agree byte for byte.

Vectors: the 加解密方案 docs (https://developer.work.weixin.qq.com/document/path/90968) and WeCom's
official sample code (github.com/sbzhu/weworkapi_python, callback/Sample.py, callback_json/Sample.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.platforms.wecom.crypto import CallbackCrypto, CallbackError, cdata, parse_xml, signature

# 加解密方案 example (path/90968): token QDG6eK, the CorpID as receive id.
DOC_TOKEN = "QDG6eK"
DOC_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
DOC_CORP = "wx5823bf96d3bd56c7"
DOC_VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
DOC_VERIFY_PLAIN = "1616140317555161061"
DOC_POST = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
DOC_POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJ"
    "YuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUc"
    "allcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5"
    "Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
DOC_POST_PLAIN = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
)

# Official JSON-callback sample (callback_json/Sample.py), receive id ww1436e0e65a779aee.
JSON_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
JSON_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
JSON_RECEIVER = "ww1436e0e65a779aee"
JSON_VERIFY = (
    "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "1476416373",
    "47744683",
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
)
JSON_POST_BODY = (
    '{ "ToUserName": "wx5823bf96d3bd56c7", "Encrypt": "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxb'
    "wf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3"
    "v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj"
    '06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU=", "AgentID": 218 }'
)
JSON_POST = ("e3647471e395139e2308c1fa963f2d648a00b90e", "1409659813", "1372623149")


# ---- independent implementation of the scheme (hashlib + cryptography only)


def ind_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def ind_decrypt(encoding_aes_key: str, encrypt: str) -> tuple[str, str]:
    key = ind_key(encoding_aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = dec.update(base64.b64decode(encrypt)) + dec.finalize()
    pad = padded[-1]
    assert 1 <= pad <= 32 and padded.endswith(bytes([pad]) * pad)  # PKCS#7 to 32 bytes
    body = padded[:-pad]
    (length,) = struct.unpack(">I", body[16:20])
    return body[20 : 20 + length].decode("utf-8"), body[20 + length :].decode("utf-8")


def ind_encrypt(encoding_aes_key: str, plaintext: str, receive_id: str) -> str:
    key = ind_key(encoding_aes_key)
    msg = plaintext.encode("utf-8")
    raw = os.urandom(16) + struct.pack(">I", len(msg)) + msg + receive_id.encode("utf-8")
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode("ascii")


def ind_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


# ---- the published vectors


def test_published_url_verification_vector():
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, DOC_CORP)
    v = DOC_VERIFY
    crypto.verify(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])
    assert crypto.decrypt(v["echostr"]) == DOC_VERIFY_PLAIN
    assert ind_signature(DOC_TOKEN, v["timestamp"], v["nonce"], v["echostr"]) == v["msg_signature"]
    assert ind_decrypt(DOC_KEY, v["echostr"]) == (DOC_VERIFY_PLAIN, DOC_CORP)


def test_published_message_vector():
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, DOC_CORP)
    p = DOC_POST
    crypto.verify(p["msg_signature"], p["timestamp"], p["nonce"], DOC_POST_ENCRYPT)
    assert crypto.decrypt(DOC_POST_ENCRYPT) == DOC_POST_PLAIN
    assert signature(DOC_TOKEN, p["timestamp"], p["nonce"], DOC_POST_ENCRYPT) == p["msg_signature"]
    assert ind_decrypt(DOC_KEY, DOC_POST_ENCRYPT) == (DOC_POST_PLAIN, DOC_CORP)
    assert parse_xml(DOC_POST_PLAIN)["Content"] == "hello"


def test_published_json_callback_vectors():
    crypto = CallbackCrypto(JSON_TOKEN, JSON_KEY, JSON_RECEIVER)
    sig, ts, nonce, echostr = JSON_VERIFY
    crypto.verify(sig, ts, nonce, echostr)
    assert crypto.decrypt(echostr) == ind_decrypt(JSON_KEY, echostr)[0] == "1288432023552776189"
    encrypt = json.loads(JSON_POST_BODY)["Encrypt"]
    crypto.verify(*JSON_POST, encrypt)
    plain = crypto.decrypt(encrypt)
    assert '"Content": "hello"' in plain
    assert ind_decrypt(JSON_KEY, encrypt) == (plain, JSON_RECEIVER)


# ---- our output, read back by the independent implementation


@pytest.mark.parametrize("receive_id", ["", DOC_CORP])
def test_our_replies_decrypt_independently(receive_id):
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, receive_id)
    plain = json.dumps({"msgtype": "stream", "stream": {"id": "x", "finish": True, "content": "已签到 ✓"}})
    body = crypto.encrypt_json(plain, "1700000000", "abc")
    assert set(body) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert body["msgsignature"] == ind_signature(DOC_TOKEN, "1700000000", "abc", body["encrypt"])
    assert ind_decrypt(DOC_KEY, body["encrypt"]) == (plain, receive_id)


def test_xml_reply_envelope_is_signed_and_decrypts_independently():
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, DOC_CORP)
    envelope = parse_xml(crypto.encrypt_xml("<xml><Content>你好</Content></xml>", "1409659813", "n1"))
    assert envelope["MsgSignature"] == ind_signature(DOC_TOKEN, "1409659813", "n1", envelope["Encrypt"])
    assert envelope["TimeStamp"] == "1409659813" and envelope["Nonce"] == "n1"
    assert ind_decrypt(DOC_KEY, envelope["Encrypt"]) == ("<xml><Content>你好</Content></xml>", DOC_CORP)


def test_independently_encrypted_message_is_read():
    encrypt = ind_encrypt(DOC_KEY, '{"msgid": "1", "text": {"content": "签到"}}', "")
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, "")
    crypto.verify(ind_signature(DOC_TOKEN, "1", "2", encrypt), "1", "2", encrypt)
    assert json.loads(crypto.decrypt(encrypt))["text"]["content"] == "签到"


# ---- refusals


def test_wrong_signature_is_refused():
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, DOC_CORP)
    bad = "0" * 40
    with pytest.raises(CallbackError) as err:
        crypto.verify(bad, DOC_POST["timestamp"], DOC_POST["nonce"], DOC_POST_ENCRYPT)
    assert err.value.status == 403


def test_message_for_another_receiver_is_refused():
    crypto = CallbackCrypto(DOC_TOKEN, DOC_KEY, "")  # smart bot expects "", the vector carries a CorpID
    with pytest.raises(CallbackError, match="receive id"):
        crypto.decrypt(DOC_POST_ENCRYPT)


@pytest.mark.parametrize("garbage", ["not base64!", "AAAA", base64.b64encode(b"x" * 31).decode()])
def test_garbage_ciphertext_is_refused(garbage):
    with pytest.raises(CallbackError):
        CallbackCrypto(DOC_TOKEN, DOC_KEY, "").decrypt(garbage)


XXE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>'
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Encrypt>&c;</Encrypt></xml>'
)


@pytest.mark.parametrize("doc", [XXE, LAUGHS, "<xml><a>", "<notxml/>", "<!DOCTYPE xml><xml/>"])
def test_xml_with_entities_or_dtd_or_broken_is_refused(doc):
    with pytest.raises(CallbackError) as err:
        parse_xml(doc)
    assert err.value.status == 400


def test_cdata_survives_any_text():
    text = 'a]]>b<c>&"d"]]]>'
    assert parse_xml(f"<xml><C>{cdata(text)}</C></xml>")["C"] == text
