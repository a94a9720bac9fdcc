"""WeCom callback crypto (加解密方案) for both callback flavours: the self-built app's XML and the
smart bot's JSON envelope, on top of wechatpy's AES code, plus XML parsing with entities refused.

Scheme (https://developer.work.weixin.qq.com/document/path/90968, smart bot: .../path/101033):
msg_signature = sha1(sorted(token, timestamp, nonce, encrypt)); encrypt = base64(AES-256-CBC(
random16 + len32be(msg) + msg + receiveid)), key = base64(EncodingAESKey + "="), iv = key[:16],
PKCS#7 padded to 32 bytes. The receive id is the CorpID for apps and "" for the smart bot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from typing import Any
from xml.etree.ElementTree import ParseError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring
from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from bot.platforms import json_body

# The smart bot's envelope is one flat object, {"encrypt": "..."} (path/100719).
ENVELOPE_DEPTH = 1


class CallbackError(Exception):
    """A callback we refuse; `status` is the HTTP answer and the message a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode("utf-8")).hexdigest()


def parse_xml(text: str | bytes) -> dict[str, str]:
    """The flat `<xml><Tag>text</Tag>…</xml>` WeCom sends, as a dict; DTDs and entities are refused
    (no XXE, no billion laughs), as is anything that is not one flat <xml> element."""
    try:
        root = _safe_fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as err:
        raise CallbackError(400, f"malformed XML ({type(err).__name__})") from None
    if root.tag != "xml":
        raise CallbackError(400, "malformed XML (root is not <xml>)")
    return {child.tag: (child.text or "") for child in root}


def cdata(text: str) -> str:
    """Text as a CDATA section that stays valid whatever it holds (a `]]>` is split in two)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class CallbackCrypto:
    """Verify, decrypt and encrypt WeCom callbacks for one Token/EncodingAESKey/receive id."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters (a base64 AES-256 key)")
        self._token = token
        self._key = key
        self._receive_id = receive_id

    @property
    def key(self) -> bytes:
        """The AES key, which also encrypts the files the smart bot sends (`decrypt_media`)."""
        return self._key

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self._token, timestamp, nonce, encrypt)
        # Constant-time: a byte-by-byte early exit would leak how much of a forged signature is right.
        if not hmac.compare_digest(expected.encode("ascii"), msg_signature.encode("utf-8", "replace")):
            raise CallbackError(403, "bad signature")

    def decrypt(self, encrypt: str) -> str:
        """The plaintext message; the caller has verified the signature first."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
            if not raw or len(raw) % 32:  # always whole 32-byte PKCS#7 blocks
                raise ValueError("ciphertext length")
            return PrpCrypto(self._key).decrypt(encrypt, self._receive_id)
        except InvalidCorpIdException:
            raise CallbackError(400, "wrong receive id") from None
        except (binascii.Error, ValueError, UnicodeDecodeError, struct.error, IndexError):
            raise CallbackError(400, "cannot decrypt") from None

    def _encrypt(self, plaintext: str) -> str:
        return PrpCrypto(self._key).encrypt(plaintext, self._receive_id).decode("ascii")

    def encrypt_json(self, plaintext: str, timestamp: str, nonce: str | None = None) -> dict[str, Any]:
        """The smart bot's encrypted passive reply (path/101033 加密与被动回复; the official
        WXBizJsonMsgCrypt sends these four keys, timestamp as a string)."""
        nonce = nonce or secrets.token_hex(8)
        encrypt = self._encrypt(plaintext)
        return {
            "encrypt": encrypt,
            "msgsignature": signature(self._token, timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def encrypt_xml(self, plaintext: str, timestamp: str, nonce: str | None = None) -> str:
        """The self-built app's encrypted passive reply (path/90968 密文回包格式)."""
        nonce = nonce or secrets.token_hex(8)
        encrypt = self._encrypt(plaintext)
        sig = signature(self._token, timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt>{cdata(encrypt)}</Encrypt><MsgSignature>{cdata(sig)}</MsgSignature>"
            f"<TimeStamp>{int(timestamp)}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )


def json_envelope(body: bytes) -> str:
    """The `encrypt` field of the smart bot's `{"encrypt": "..."}` body, read before the signature
    is checked: so by a parser that takes a flat object and nothing deeper."""
    try:
        data = json_body.loads(body, max_depth=ENVELOPE_DEPTH)
    except ValueError as err:
        raise CallbackError(400, str(err)) from None
    if not isinstance(data, dict) or not isinstance(data.get("encrypt"), str) or not data["encrypt"]:
        raise CallbackError(400, "no encrypt field")
    return data["encrypt"]


def decrypt_media(data: bytes, key: bytes) -> bytes | None:
    """A file or picture the smart bot sent (its `url`'s bytes): AES-256-CBC with the callback's
    AES key, IV = key[:16], PKCS#7 padded to 32-byte blocks (path/100719 文件/图片消息). None when
    the bytes are not such a ciphertext (a wrong key, a truncated download)."""
    if len(key) != 32 or not data or len(data) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        return None
    return plain[:-pad]


def media_key(encoding_aes_key: str) -> bytes:
    """The AES key of an EncodingAESKey (43 characters of base64 without its "=") or of a message's
    own `aeskey` (the long connection's), whatever padding it was written with."""
    text = encoding_aes_key.strip().rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""
