"""WeCom's side of the smart-bot callback for tests and benchmarks: signed, encrypted requests built
with the bot's own crypto (tests/test_wecom_crypto.py checks that crypto against independent code)."""

from __future__ import annotations

import base64
import json
import time

from bot.platforms.wecom.crypto import CallbackCrypto

TOKEN = "faultToken"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")
SMART_BOT = {"smart_bot": {"token": TOKEN, "encoding_aes_key": AES_KEY}}


def payload(text: str, msgid: str, userid: str = "zhangsan", chat: str | None = "chat-g1") -> dict:
    p = {
        "msgid": msgid,
        "aibotid": "AIBOT",
        "chattype": "group" if chat else "single",
        "from": {"userid": userid},
        "response_url": "http://127.0.0.1:9/unused",
        "msgtype": "text",
        "text": {"content": f"@履职助手\u2005{text}" if chat else text},
    }
    if chat:
        p["chatid"] = chat
    return p


def signed(
    plain: dict | str, ts: int | None = None, nonce: str = "n1", token: str = TOKEN
) -> tuple[str, bytes]:
    """(path with query, body) of one callback carrying `plain` (a payload dict or raw text)."""
    text = plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)
    stamp = str(int(time.time()) if ts is None else ts)
    env = CallbackCrypto(token, AES_KEY, "").encrypt_json(text, stamp, nonce)
    body = json.dumps({"encrypt": env["encrypt"]}).encode()
    # The signature is computed with `token`; a forger's token gives a wrong one.
    return f"/wecom/bot?msg_signature={env['msgsignature']}&timestamp={stamp}&nonce={nonce}", body


def answer_text(crypto_body: bytes) -> str | None:
    """The stream content of an encrypted passive reply, or None for an empty answer."""
    if not crypto_body:
        return None
    env = json.loads(crypto_body)
    plain = CallbackCrypto(TOKEN, AES_KEY, "").decrypt(env["encrypt"])
    return json.loads(plain)["stream"]["content"]
