"""WeCom (企业微信): the smart-bot and self-built-app callbacks as a Flask blueprint, and the push
client the outbox sends through (group push-bot webhook, app message/send, smart-bot response_url).

Platform setup and the choices made here are described in docs/wecom.md.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
from flask import Blueprint, Response, request
from wechatpy.enterprise import parse_message

from bot.config import Settings, WecomSettings
from bot.delivery import Delivery, SendResult, read_attachment
from bot.messages import Incoming, Reply
from bot.platforms.answering import STORED, answer_within
from bot.platforms.wecom_crypto import CallbackCrypto, CallbackError, cdata, json_envelope, parse_xml

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

TEXT_LIMIT = 2048  # bytes of text.content (webhook and message/send)
MARKDOWN_LIMIT = 4096  # bytes of markdown.content
STREAM_LIMIT = 20480  # bytes of a smart-bot stream reply (path/101031)
FILE_LIMIT = 20 * 1024 * 1024  # bytes of a file uploaded as temporary media (path/90253)
_LEADING_AT = re.compile(r"^\s*@\S+\s*")  # "@机器人名 签到"; WeCom puts U+2005 after the name


# --------------------------------------------------------------------------- inbound


def make_blueprint(runtime: Runtime) -> Blueprint:
    """Routes for the enabled WeCom callbacks; a disabled one is simply absent (404)."""
    bp = Blueprint("wecom", __name__)
    wecom = runtime.settings.wecom
    # Worker threads let a slow pipeline finish after we have already answered WeCom.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="wecom")
    if wecom.smart_bot_enabled:
        bot = _SmartBot(runtime, pool)
        bp.add_url_rule("/wecom/bot", "bot", _edge(bot.handle), methods=["GET", "POST"])
    if wecom.app_enabled:
        app = _App(runtime, pool)
        bp.add_url_rule("/wecom/app", "app", _edge(app.handle), methods=["GET", "POST"])
    return bp


def _edge(handler: Callable[[], Response]) -> Callable[[], Response]:
    def view() -> Response:
        try:
            return handler()
        except CallbackError as err:
            # Logged without the body: it may hold members' messages.
            log.warning("wecom %s %s refused (%s): %s", request.method, request.path, err.status, err.reason)
            return Response(err.reason, status=err.status, mimetype="text/plain")

    return view


class _Callback:
    """What both callbacks share: query checks, body cap, the deadline, deferred answers."""

    platform = ""

    def __init__(self, runtime: Runtime, pool: concurrent.futures.Executor, crypto: CallbackCrypto) -> None:
        self.runtime = runtime
        self.settings: WecomSettings = runtime.settings.wecom
        self.pool = pool
        self.crypto = crypto

    def query(self) -> tuple[str, str, str]:
        args = request.args
        sig, ts, nonce = args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        if not (sig and ts and nonce):
            raise CallbackError(400, "missing msg_signature/timestamp/nonce")
        return sig, ts, nonce

    def check_fresh(self, timestamp: str) -> None:
        if not timestamp.isdigit():
            raise CallbackError(400, "bad timestamp")
        skew = abs(self.runtime.now().timestamp() - int(timestamp))
        if skew > self.settings.max_clock_skew_seconds:
            raise CallbackError(403, "stale timestamp")

    def verified(self, encrypt: str) -> str:
        """Signature first, then freshness, then decryption."""
        sig, ts, nonce = self.query()
        self.crypto.verify(sig, ts, nonce, encrypt)
        self.check_fresh(ts)
        return self.crypto.decrypt(encrypt)

    def body(self) -> bytes:
        cap = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > cap:
            raise CallbackError(413, "body too large")
        data = request.stream.read(cap + 1)
        if len(data) > cap:
            raise CallbackError(413, "body too large")
        return data

    def verify_url(self) -> Response:
        """GET: answer the decrypted echostr alone, no quotes or newline (path/101033, path/90930)."""
        echostr = request.args.get("echostr", "")
        if not echostr:
            raise CallbackError(400, "missing echostr")
        return Response(self.verified(echostr), mimetype="text/plain")

    def run(self, incoming: Incoming, address: dict[str, Any]) -> Reply | None:
        """The pipeline's answer if ready within the reply deadline; None (answer empty) when the
        message is stored but later, its answer then going to `address` through the outbox.
        A message not stored by the ack deadline is refused with a 5xx so that WeCom delivers it
        again (bot/platforms/answering.py)."""
        now = self.runtime.now()
        answer = answer_within(
            self.pool,
            self.runtime.pipeline.handle,
            incoming,
            now,
            reply_seconds=self.settings.reply_deadline_seconds,
            ack_seconds=self.settings.ack_deadline_seconds,
            deliver_late=lambda reply: self.runtime.answer_late(incoming, reply, address),
        )
        if answer.status != STORED:
            raise CallbackError(answer.status, "not stored; deliver again")
        return answer.reply

    def sent_at(self, epoch: int | None = None) -> dt.datetime:
        now = self.runtime.now()
        return dt.datetime.fromtimestamp(epoch, now.tzinfo) if epoch else now


class _SmartBot(_Callback):
    """智能机器人 API mode: JSON callbacks (path/100719), encrypted passive replies (path/101031)."""

    platform = "wecom_bot"

    def __init__(self, runtime: Runtime, pool: concurrent.futures.Executor) -> None:
        sb = runtime.settings.wecom.smart_bot
        super().__init__(runtime, pool, CallbackCrypto(sb.token, sb.encoding_aes_key, ""))

    def handle(self) -> Response:
        if request.method == "GET":
            return self.verify_url()
        payload = self._payload(self.verified(json_envelope(self.body())))
        msgtype = payload.get("msgtype")
        if msgtype != "text":
            # Events (enter_chat, feedback, template_card_event), stream refreshes (we always
            # finish in one reply) and images/voice/files are not for the pipeline: answer empty.
            event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
            log.info("wecom_bot %s %s ignored", msgtype, event.get("eventtype", ""))
            return Response(b"", status=200)
        incoming = self._incoming(payload)
        reply = self.run(incoming, {"response_url": payload.get("response_url", "")})
        if reply is None:
            return Response(b"", status=200)
        stream = {
            "msgtype": "stream",
            "stream": {"id": incoming.msg_id, "finish": True, "content": trim(reply.text, STREAM_LIMIT)},
        }
        plain = json.dumps(stream, ensure_ascii=False)
        body = self.crypto.encrypt_json(plain, str(int(self.runtime.now().timestamp())))
        return Response(json.dumps(body), mimetype="application/json")

    @staticmethod
    def _payload(plaintext: str) -> dict[str, Any]:
        try:
            payload = json.loads(plaintext)
        except ValueError:
            raise CallbackError(400, "decrypted payload is not JSON") from None
        if not isinstance(payload, dict):
            raise CallbackError(400, "decrypted payload is not an object")
        return payload

    def _incoming(self, p: dict[str, Any]) -> Incoming:
        sender = p.get("from") if isinstance(p.get("from"), dict) else {}
        text = p.get("text") if isinstance(p.get("text"), dict) else {}
        msgid, userid, content = p.get("msgid"), sender.get("userid"), text.get("content")
        if not all(isinstance(v, str) and v for v in (msgid, userid)) or not isinstance(content, str):
            raise CallbackError(400, "text message without msgid/from.userid/text.content")
        is_group = p.get("chattype") == "group"
        if is_group:
            content = _LEADING_AT.sub("", content, count=1)  # group messages reach us only when @ed
        return Incoming(
            platform=self.platform,
            chat_id=(str(p.get("chatid") or "") or None) if is_group else None,
            sender_id=userid,
            sender_name=None,
            text=content.strip(),
            msg_id=msgid,
            sent_at=self.sent_at(),
            is_group=is_group,
            reply_handle={"response_url": p.get("response_url", "")},
        )


class _App(_Callback):
    """自建应用: XML callbacks (path/90930, 90239) answered by encrypted passive XML (path/90241)."""

    platform = "wecom_app"

    def __init__(self, runtime: Runtime, pool: concurrent.futures.Executor) -> None:
        w = runtime.settings.wecom
        super().__init__(runtime, pool, CallbackCrypto(w.app.token, w.app.encoding_aes_key, w.corp_id))

    def handle(self) -> Response:
        if request.method == "GET":
            return self.verify_url()
        envelope = parse_xml(self.body())
        encrypt = envelope.get("Encrypt", "")
        if not encrypt:
            raise CallbackError(400, "no Encrypt element")
        plaintext = self.verified(encrypt)
        inner = parse_xml(plaintext)  # refuses DTDs/entities before wechatpy's parser sees the text
        if not inner.get("MsgType") or not inner.get("FromUserName"):
            raise CallbackError(400, "message without MsgType/FromUserName")
        msg = parse_message(plaintext)
        if msg.type != "text":
            # Events (enter_agent, subscribe, …) would be keyed FromUserName+CreateTime; none
            # of them means anything to the bot, so they are acknowledged and dropped.
            log.info("wecom_app %s ignored (key %s)", msg.type, app_msg_key(msg))
            return Response(b"", status=200)
        incoming = Incoming(
            platform=self.platform,
            chat_id=None,
            sender_id=msg.source,
            sender_name=None,
            text=(msg.content or "").strip(),
            msg_id=app_msg_key(msg),
            sent_at=self.sent_at(msg.time),
            is_group=False,
        )
        reply = self.run(incoming, {"userid": msg.source})
        if reply is None:
            return Response(b"", status=200)
        now = str(int(self.runtime.now().timestamp()))
        plain = (
            f"<xml><ToUserName>{cdata(msg.source)}</ToUserName>"
            f"<FromUserName>{cdata(self.settings.corp_id)}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType>{cdata('text')}</MsgType>"
            f"<Content>{cdata(trim(reply.text, TEXT_LIMIT))}</Content></xml>"
        )
        return Response(self.crypto.encrypt_xml(plain, now), mimetype="application/xml")


def app_msg_key(msg: Any) -> str:
    """MsgId for messages; events have none, so FromUserName+CreateTime (path/90239 排重)."""
    if msg.type != "event" and msg.id:
        return str(msg.id)
    return f"{msg.source}:{msg.time}"


# --------------------------------------------------------------------------- outbound


def trim(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary, with … when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


# errcodes (path/90313): rate limits are retried, a bad key/secret/user is for the admin.
_RATE_LIMITED = {45009, 45033, 45047}
_TOKEN_EXPIRED = {40014, 42001}
_BUSY = {-1}
RATE_LIMIT_RETRY_SECONDS = 60.0  # the push bot allows 20 messages a minute


class WecomPushClient:
    """Sends outbox deliveries to WeCom; never raises for the platform's refusal."""

    platform = "wecom"

    def __init__(
        self,
        settings: Settings | WecomSettings,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings.wecom if isinstance(settings, Settings) else settings
        self.session = session or requests.Session()
        self.clock = clock
        self.timeout = timeout
        self._token: tuple[str, float] | None = None  # access_token, expires at (clock)
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> SendResult:
        if delivery.kind == "group":
            key = delivery.address.get("webhook_key", "")
            if not key:
                return SendResult("failed", "no webhook_key for this group")
            return self._post(f"{self._base}/cgi-bin/webhook/send", {"key": key}, _webhook_body(delivery))
        if delivery.kind == "member":
            return self._send_app(delivery)
        if delivery.kind == "reply":
            url = delivery.address.get("response_url", "")
            if not url:
                return SendResult("failed", "no response_url")
            # response_url takes markdown (path/101138); usable once, within an hour.
            content = trim(delivery.text, MARKDOWN_LIMIT)
            return self._post(url, {}, {"msgtype": "markdown", "markdown": {"content": content}})
        return SendResult("failed", f"unknown delivery kind {delivery.kind!r}")

    @property
    def _base(self) -> str:
        return self.settings.api_base.rstrip("/")

    def _send_app(self, delivery: Delivery) -> SendResult:
        userid = delivery.address.get("userid", "")
        if not userid:
            return SendResult("failed", "no userid")
        if not (self.settings.corp_id and self.settings.app.secret and self.settings.app.agent_id):
            return SendResult("failed", "wecom app not configured (corp_id/app.secret/app.agent_id)")
        body: dict[str, Any] = {"touser": userid, "agentid": int(self.settings.app.agent_id)}
        if delivery.attachment:
            return self._with_token(lambda token: self._send_file(token, body, delivery.attachment or ""))
        if delivery.markdown:
            body |= {"msgtype": "markdown", "markdown": {"content": trim(delivery.text, MARKDOWN_LIMIT)}}
        else:
            body |= {"msgtype": "text", "text": {"content": trim(delivery.text, TEXT_LIMIT)}}
        url = f"{self._base}/cgi-bin/message/send"
        return self._with_token(lambda token: self._call("POST", url, {"access_token": token}, body))

    def _with_token(self, call: Callable[[str], dict[str, Any] | SendResult]) -> SendResult:
        """`call(access_token)`, once more with a fresh token on 40014/42001, then its result."""
        for attempt in range(2):
            token = self._access_token(force=attempt > 0)
            if isinstance(token, SendResult):
                return token
            data = call(token)
            if isinstance(data, dict) and data.get("errcode") in _TOKEN_EXPIRED and attempt == 0:
                log.info("wecom access_token refused (errcode %s); refreshing once", data["errcode"])
                continue
            return self._result(data)
        raise AssertionError("unreachable")

    def _send_file(self, token: str, body: dict[str, Any], path: str) -> dict[str, Any] | SendResult:
        """Upload the file as temporary media (path/90253, 3 days), then send it (path/90236)."""
        content = read_attachment(path, smallest=6, largest=FILE_LIMIT)  # WeCom: more than 5 bytes
        if isinstance(content, SendResult):
            return content
        try:
            resp = self.session.post(
                f"{self._base}/cgi-bin/media/upload",
                params={"access_token": token, "type": "file"},
                files={"media": (os.path.basename(path), content, "application/octet-stream")},
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            return SendResult("retry", f"network: {type(err).__name__}")
        uploaded = _json_answer(resp)
        if isinstance(uploaded, SendResult) or uploaded.get("errcode", 0) != 0:
            return uploaded
        media_id = uploaded.get("media_id")
        if not media_id:
            return SendResult("retry", "media/upload answered without media_id")
        message = body | {"msgtype": "file", "file": {"media_id": media_id}}
        return self._call("POST", f"{self._base}/cgi-bin/message/send", {"access_token": token}, message)

    def _access_token(self, force: bool) -> str | SendResult:
        """The cached access_token (path/91039: valid expires_in seconds, reused, not re-fetched)."""
        with self._lock:
            if self._token and not force and self.clock() < self._token[1]:
                return self._token[0]
            params = {"corpid": self.settings.corp_id, "corpsecret": self.settings.app.secret}
            data = self._call("GET", f"{self._base}/cgi-bin/gettoken", params, None)
            if isinstance(data, SendResult):
                return data
            if data.get("errcode", 0) != 0 or not data.get("access_token"):
                return _mapped(data, "gettoken")
            # Refresh a little early so a token never expires in flight.
            lifetime = float(data.get("expires_in", 7200))
            self._token = (data["access_token"], self.clock() + max(lifetime - 300, lifetime / 2))
            return self._token[0]

    def _post(self, url: str, params: dict[str, str], body: dict[str, Any]) -> SendResult:
        return self._result(self._call("POST", url, params, body))

    @staticmethod
    def _result(data: dict[str, Any] | SendResult) -> SendResult:
        if isinstance(data, SendResult):
            return data
        if data.get("errcode", 0) != 0:
            return _mapped(data, "send")
        invalid = data.get("invaliduser") or data.get("unlicenseduser")
        if invalid:
            return SendResult("failed", f"invalid user {invalid}")
        return SendResult("sent", "ok")

    def _call(self, method: str, url: str, params: dict[str, str], body: Any) -> dict[str, Any] | SendResult:
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                data=json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None,
                headers={"Content-Type": "application/json; charset=utf-8"} if body is not None else None,
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            return SendResult("retry", f"network: {type(err).__name__}")
        return _json_answer(resp)


def _json_answer(resp: requests.Response) -> dict[str, Any] | SendResult:
    """WeCom's JSON answer, or the HTTP failure mapped (429 and 5xx retried, other 4xx failed)."""
    if resp.status_code == 429:
        return SendResult("retry", "HTTP 429", RATE_LIMIT_RETRY_SECONDS)
    if resp.status_code >= 500:
        return SendResult("retry", f"HTTP {resp.status_code}")
    if resp.status_code >= 400:
        return SendResult("failed", f"HTTP {resp.status_code}")
    try:
        data = resp.json()
    except ValueError:
        return SendResult("retry", f"HTTP {resp.status_code}: not JSON")
    return data if isinstance(data, dict) else SendResult("retry", "unexpected answer")


def _mapped(data: dict[str, Any], what: str) -> SendResult:
    code = data.get("errcode")
    detail = f"errcode {code} {data.get('errmsg', '')}".strip()
    if code in _RATE_LIMITED:
        return SendResult("retry", detail, RATE_LIMIT_RETRY_SECONDS)
    if code in _BUSY:
        return SendResult("retry", detail)
    # Invalid key (93000), secret (40001), corpid (40013), token after a refresh (40014/42001),
    # user (81013) and anything unknown: report to the admin rather than retry forever.
    log.warning("wecom %s refused: %s", what, detail)
    return SendResult("failed", detail)


def _webhook_body(delivery: Delivery) -> dict[str, Any]:
    """Push-bot message (path/99110): text when someone is @ed (by userid, else by mobile), else markdown."""
    userids = [p.wecom_userid for p in delivery.mentions if p.wecom_userid]
    mobiles = [p.mobile for p in delivery.mentions if not p.wecom_userid and p.mobile]
    if userids or mobiles:
        text: dict[str, Any] = {"content": trim(delivery.text, TEXT_LIMIT)}
        if userids:
            text["mentioned_list"] = userids
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        return {"msgtype": "text", "text": text}
    return {"msgtype": "markdown", "markdown": {"content": trim(delivery.text, MARKDOWN_LIMIT)}}
