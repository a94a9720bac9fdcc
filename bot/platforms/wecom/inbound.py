"""WeCom (企业微信) inbound: the smart-bot and self-built-app callbacks as a Flask blueprint.

Platform setup and the choices made here are described in docs/wecom.md.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import requests
from flask import Blueprint, Response, request

from bot.cards import NOTE_KIND_TITLE, said_by
from bot.config import WecomSettings
from bot.files import refused
from bot.messages import CardView, FieldTooLong, FileRefused, Incoming, Reply, Tap
from bot.platforms import json_body
from bot.platforms.answering import STORED
from bot.platforms.arrival import PlatformClock, answer_arrived
from bot.platforms.download import Fetched, Fetcher, FileIntake, fetch
from bot.platforms.http_push import trim
from bot.platforms.wecom.cards import app_tap_words, button_label, card_reply, card_update, tap_of
from bot.platforms.wecom.crypto import (
    CallbackCrypto,
    CallbackError,
    cdata,
    decrypt_media,
    json_envelope,
    media_key,
    parse_xml,
)
from bot.platforms.wecom.identity import SenderIds
from bot.platforms.wecom.push import TEXT_LIMIT

if TYPE_CHECKING:
    from bot.pipeline import Outcome
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

SMART_BOT_CHANNEL = "wecom_bot"  # 智能机器人: group @-messages and one-to-one
APP_CHANNEL = "wecom_app"  # 自建应用: one-to-one messages
STREAM_LIMIT = 20480  # bytes of a smart-bot stream reply (path/101031)
TAP_FAILED = "抱歉，系统出了点问题，这次点击没有记下，请再点一次。"
NOT_YOURS = "这个问题已失效或不是问您的，没有记录。要交社情民意请发「社情民意：……」。"
_LEADING_AT = re.compile(r"^\s*@\S+\s*")  # "@机器人名 签到"; WeCom puts U+2005 after the name


def make_blueprint(runtime: Runtime, *, executor: concurrent.futures.Executor | None = None) -> Blueprint:
    """Routes for the enabled WeCom callbacks; a disabled one is simply absent (404). The pipeline
    runs in `executor` (default: a pool of 8 threads), so that a slow one can finish after WeCom
    has had its answer."""
    bp = Blueprint("wecom", __name__)
    wecom = runtime.settings.wecom
    pool = executor or concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="wecom")
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
        # WeCom's `timestamp` is in whole seconds (path/90930)
        self.clock = PlatformClock(runtime.settings.overload.clock_window_seconds, resolution=1.0)

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

    def run(
        self, incoming: Incoming, handle: Callable[[Incoming, dt.datetime], Outcome] | None = None
    ) -> Reply | None:
        """The pipeline's answer if ready within the reply deadline; None (answer empty) when the
        message is stored but later, its answer then going to its reply handle through the outbox.
        A message not stored by the ack deadline is refused with a 5xx so that WeCom delivers it
        again (bot/platforms/answering.py). Both deadlines count from WeCom's `timestamp`, not
        from now: a callback that waited in the queue has less left (bot/platforms/arrival.py)."""
        now = self.runtime.now()
        answer = answer_arrived(
            self.pool,
            handle or self.handle_message,
            incoming,
            now,
            # verified() checked it is all digits
            age=self.clock.age(now.timestamp(), int(request.args["timestamp"])),
            overload=self.runtime.settings.overload,
            reply_seconds=self.settings.reply_deadline_seconds,
            ack_seconds=self.settings.ack_deadline_seconds,
            deliver_late=lambda reply: self.runtime.answer_late(incoming, reply),
            again=lambda reply: self.runtime.answer_again(incoming, reply),
        )
        if answer.status != STORED:
            raise CallbackError(answer.status, "not stored; deliver again")
        return answer.reply

    def handle_message(self, incoming: Incoming, now: dt.datetime) -> Outcome:
        return self.runtime.pipeline.handle(incoming, now)

    def sent_at(self, epoch: int | None = None) -> dt.datetime:
        now = self.runtime.now()
        return dt.datetime.fromtimestamp(epoch, now.tzinfo) if epoch else now


class _SmartBot(_Callback):
    """智能机器人 API mode: JSON callbacks (path/100719), encrypted passive replies (path/101031)."""

    platform = SMART_BOT_CHANNEL

    def __init__(self, runtime: Runtime, pool: concurrent.futures.Executor) -> None:
        sb = runtime.settings.wecom.smart_bot
        super().__init__(runtime, pool, CallbackCrypto(sb.token, sb.encoding_aes_key, ""))
        self.sender_ids = SenderIds.of(runtime)  # open_userid → userid where the app can (identity.py)
        self.files = MediaFiles(runtime, self.crypto.key)

    def handle_message(self, incoming: Incoming, now: dt.datetime) -> Outcome:
        return self.runtime.pipeline.handle(self.sender_ids(incoming), now)

    def handle(self) -> Response:
        if request.method == "GET":
            return self.verify_url()
        payload = self._payload(self.verified(json_envelope(self.body())))
        tap = tap_of(payload)
        if tap is not None:
            return self._tapped(payload, tap)
        msgtype = payload.get("msgtype")
        if msgtype in _WITH_FILES:
            incoming, fetchers = self.files.read(self, payload)
            return self._answer(
                incoming, self.run(incoming, self.files.handler(self.handle_message, fetchers))
            )
        if msgtype not in _READ_AS_TEXT or (msgtype == "voice" and not (_said(payload) or "").strip()):
            # Other events (enter_chat, feedback), stream refreshes (we always
            # finish in one reply) and images/files are not for the pipeline: answer empty.
            event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
            log.info("wecom_bot %s %s ignored", msgtype, event.get("eventtype", ""))
            return Response(b"", status=200)
        incoming = self._incoming(payload)
        return self._answer(incoming, self.run(incoming))

    def _answer(self, incoming: Incoming, reply: Reply | None) -> Response:
        if reply is None:
            return Response(b"", status=200)
        if reply.card is not None:
            return self._encrypted(card_reply(reply.card))
        stream = {
            "msgtype": "stream",
            "stream": {"id": incoming.msg_id, "finish": True, "content": trim(reply.text, STREAM_LIMIT)},
        }
        return self._encrypted(stream)

    def _encrypted(self, answer: dict[str, Any]) -> Response:
        plain = json.dumps(answer, ensure_ascii=False)
        # The passive reply is signed with the request's own nonce (path/101033 被动回复).
        nonce = request.args.get("nonce", "")
        body = self.crypto.encrypt_json(plain, str(int(self.runtime.now().timestamp())), nonce)
        return Response(json.dumps(body), mimetype="application/json")

    def _tapped(self, payload: dict[str, Any], tap: Tap) -> Response:
        """A tap on a card's button (path/101027 模板卡片事件), answered with update_template_card.
        WeCom sends it once and never again, so a failure is answered too (to the tapper alone:
        nothing changed, tap again) rather than with a 5xx nobody would act on."""
        said = said_by(tap)
        if said is not None:
            return self._said_by_tap(payload, tap, said)
        incoming = replace(self._incoming(payload, f"[按钮] {tap.key}"), tap=tap)
        tapper = incoming.sender_id  # as WeCom named them: `userids` of the update takes that id
        try:
            reply = self.run(incoming)
        except CallbackError as err:
            if err.status < 500:
                raise
            reply = Reply(TAP_FAILED)
        if reply is None:
            return Response(b"", status=200)
        view = reply.card or CardView(tap.task_id, "履职助手", text=reply.text, tapper_only=True)
        return self._encrypted(card_update(view, tapper))

    def _said_by_tap(self, payload: dict[str, Any], tap: Tap, said: str) -> Response:
        """A tap on 「这是一篇社情民意吗？」: the tapper saying the button's words in that chat, which
        answers their own open question. The answer replaces the card for everyone; a tap that
        answers nothing (someone else's question, one already answered) is told to the tapper."""
        incoming = self._incoming(payload, said)
        try:
            reply = self.run(incoming)
        except CallbackError as err:
            if err.status < 500:
                raise
            reply = Reply(TAP_FAILED)
        if reply is None:
            view = CardView(tap.task_id, NOTE_KIND_TITLE, text=NOT_YOURS, tapper_only=True)
        else:
            view = CardView(tap.task_id, NOTE_KIND_TITLE, text=reply.text, tapper_only=reply.text == TAP_FAILED)
        return self._encrypted(card_update(view, incoming.sender_id))

    @staticmethod
    def _payload(plaintext: str) -> dict[str, Any]:
        try:
            payload = json_body.loads(plaintext)
        except ValueError as err:
            raise CallbackError(400, f"decrypted payload: {err}") from None
        if not isinstance(payload, dict):
            raise CallbackError(400, "decrypted payload is not an object")
        return payload

    def _incoming(self, p: dict[str, Any], words: str | None = None) -> Incoming:
        sender = p.get("from") if isinstance(p.get("from"), dict) else {}
        msgid, userid = p.get("msgid"), sender.get("userid")
        content = _said(p) if words is None else words
        if not all(isinstance(v, str) and v for v in (msgid, userid)) or not isinstance(content, str):
            raise CallbackError(400, "message without msgid/from.userid/text.content (voice.content)")
        is_group = p.get("chattype") == "group"
        if is_group:
            content = _LEADING_AT.sub("", content, count=1)  # group messages reach us only when @ed
        quoted = _said(p["quote"]) if isinstance(p.get("quote"), dict) else None
        if quoted and quoted.strip():
            # "请假" quoting the leader's notice, "社情民意" quoting one's own long message: the quoted
            # text is what the words refer to, read after them.
            content = f"{content.strip()}\n{quoted.strip()}"
        return _checked(
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


def _checked(**fields: Any) -> Incoming:
    try:
        return Incoming(**fields)
    except FieldTooLong as err:  # never stored, so every redelivery would fail the same way
        raise CallbackError(400, str(err)) from None


# path/100719: a voice message arrives already transcribed (voice.content); text and voice may quote.
_READ_AS_TEXT = ("text", "voice")
# path/100719: a file or picture as a `url` (valid 5 minutes, AES-encrypted); `mixed` = text + pictures.
_WITH_FILES = ("file", "image", "mixed")


class MediaFiles:
    """The smart bot's files and pictures: each `url` fetched at once and decrypted with the AES key
    (the callback's EncodingAESKey, or in long-connection mode the message's own `aeskey`)."""

    def __init__(self, runtime: Runtime, key: bytes) -> None:
        self.runtime = runtime
        self.key = key
        self.http = requests.Session()
        self.intake = FileIntake(runtime.settings.files, lambda incoming: runtime.pipeline.previous(incoming))

    def read(self, callback: _SmartBot, p: dict[str, Any]) -> tuple[Incoming, list[Fetcher]]:
        """The message's words (a `mixed` message's text items) and one fetcher per file in it."""
        kind = p.get("msgtype")
        items = [p] if kind in ("file", "image") else _mixed_items(p)
        words = "\n".join(said for item in items if (said := _said(item)))  # a mixed message's text items
        media = [
            i[i["msgtype"]]
            for i in items
            if i.get("msgtype") in ("file", "image") and isinstance(i.get(i["msgtype"]), dict)
        ]
        if not media or not all(isinstance(m.get("url"), str) and m["url"] for m in media):
            raise CallbackError(400, "file/image without url")
        return callback._incoming(p, words), [self._fetcher(m) for m in media]

    def _get(self, url: str, slack: int = 0) -> Fetched | FileRefused:
        files = self.runtime.settings.files
        limits = {
            "max_mb": files.max_mb,
            "seconds": files.download_seconds,
            "attempts": files.download_attempts,
        }
        return fetch(self.http, url, slack=slack, **limits)

    def _fetcher(self, media: dict[str, Any]) -> Fetcher:
        key = media_key(media["aeskey"]) if isinstance(media.get("aeskey"), str) else self.key

        def fetched() -> Fetched | FileRefused:
            got = self._get(media["url"], slack=32)  # PKCS#7 to 32 bytes adds up to 32
            if isinstance(got, FileRefused):
                return got
            plain = decrypt_media(got.data, key)
            return Fetched(plain, got.name) if plain is not None else refused("failed")

        return fetched

    def plain_fetcher(self, url: str) -> Fetcher:
        """A download that needs no decryption (the self-built app's PicUrl)."""
        return lambda: self._get(url)

    def handler(self, handle: Callable[[Incoming, dt.datetime], Outcome], fetchers: list[Fetcher]):
        """`handle` with the message's files fetched first (bot/platforms/download.py)."""
        return lambda incoming, now: self.intake.run(handle, incoming, now, fetchers)


def _mixed_items(p: dict[str, Any]) -> list[dict[str, Any]]:
    mixed = p.get("mixed") if isinstance(p.get("mixed"), dict) else {}
    items = mixed.get("msg_item")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _said(part: dict[str, Any]) -> str | None:
    """The words of a text or voice message (or of the message it quotes), None for other kinds."""
    kind = part.get("msgtype")
    body = part.get(kind) if kind in _READ_AS_TEXT and isinstance(part.get(kind), dict) else {}
    content = body.get("content")
    return content if isinstance(content, str) else None


class _App(_Callback):
    """自建应用: XML callbacks (path/90930, 90239) answered by encrypted passive XML (path/90241)."""

    platform = APP_CHANNEL

    def __init__(self, runtime: Runtime, pool: concurrent.futures.Executor) -> None:
        w = runtime.settings.wecom
        super().__init__(runtime, pool, CallbackCrypto(w.app.token, w.app.encoding_aes_key, w.corp_id))
        self.files = MediaFiles(runtime, b"")

    def _picture(self, inner: dict[str, str]) -> list[Fetcher]:
        """A picture sent to the app (path/90239 图片消息): its PicUrl, plain bytes (not encrypted)."""
        url = inner.get("PicUrl", "")
        return [self.files.plain_fetcher(url)] if url.startswith(("http://", "https://")) else []

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
        words = app_tap_words(inner)
        if words is not None:
            return self._tapped(inner, words)
        from wechatpy.enterprise import parse_message  # the self-built app's XML only

        msg = parse_message(plaintext)
        fetchers = self._picture(inner) if msg.type == "image" else []
        if msg.type != "text" and not fetchers:
            # Events (enter_agent, subscribe, …) would be keyed FromUserName+CreateTime; none
            # of them means anything to the bot, so they are acknowledged and dropped.
            log.info("wecom_app %s ignored (key %s)", msg.type, app_msg_key(msg))
            return Response(b"", status=200)
        incoming = _checked(
            platform=self.platform,
            chat_id=None,
            sender_id=msg.source,
            sender_name=None,
            text=(getattr(msg, "content", None) or "").strip(),
            msg_id=app_msg_key(msg),
            sent_at=self.sent_at(msg.time),
            is_group=False,
            reply_handle={"userid": msg.source},  # a late answer goes by message/send
        )
        reply = self.run(incoming, self.files.handler(self.handle_message, fetchers) if fetchers else None)
        if reply is None:
            return Response(b"", status=200)
        return self._passive(msg.source, "text", f"<Content>{cdata(trim(reply.text, TEXT_LIMIT))}</Content>")

    def _passive(self, user: str, msgtype: str, body: str) -> Response:
        """An encrypted passive reply to `user` (path/90241): the envelope, then `body`'s elements."""
        now = str(int(self.runtime.now().timestamp()))
        plain = (
            f"<xml><ToUserName>{cdata(user)}</ToUserName>"
            f"<FromUserName>{cdata(self.settings.corp_id)}</FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType>{cdata(msgtype)}</MsgType>{body}</xml>"
        )
        return Response(self.crypto.encrypt_xml(plain, now), mimetype="application/xml")

    def _tapped(self, inner: dict[str, str], words: str) -> Response:
        """A tap on a card the app sent (path/90240): read as the leader typing the button's words.
        WeCom sends a tap once, keyed here by card, tapper and time; the button is relabelled with
        the answer's first phrase (the only passive answer a tap takes, path/90241 update_button) and
        the whole answer follows by message/send."""
        user = inner["FromUserName"]
        created = inner.get("CreateTime", "")
        incoming = _checked(
            platform=self.platform,
            chat_id=None,
            sender_id=user,
            sender_name=None,
            text=words[:200],
            msg_id=f"tap:{inner.get('TaskId', '')[:42]}:{created[:12]}:{user[:64]}",
            sent_at=self.sent_at(int(created) if created.isdigit() else None),
            is_group=False,
            reply_handle={"userid": user},
        )
        reply = self.run(incoming)
        if reply is None:  # answered late: the text goes by message/send, the button stays
            return Response(b"", status=200)
        self.runtime.answer_late(incoming, reply)
        label = cdata(button_label(reply.text))
        return self._passive(user, "update_button", f"<Button><ReplaceName>{label}</ReplaceName></Button>")


def app_msg_key(msg: Any) -> str:
    """MsgId for messages; events have none, so FromUserName+CreateTime (path/90239 排重)."""
    if msg.type != "event" and msg.id:
        return str(msg.id)
    return f"{msg.source}:{msg.time}"
