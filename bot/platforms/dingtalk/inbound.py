"""DingTalk (钉钉) inbound: the app robot's HTTP callback (`POST /dingtalk/robot`) as a Flask
blueprint, and the reading of a robot message that Stream mode (stream.py) shares.

Both turn DingTalk's JSON into our `Incoming` and a `Reply` back; no business rule lives here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import requests
from flask import Blueprint, abort, jsonify, request

from bot import signatures
from bot.files import refused
from bot.messages import FieldTooLong, FileRefused, Incoming
from bot.platforms import json_body
from bot.platforms.answering import STORED
from bot.platforms.arrival import PlatformClock, answer_arrived
from bot.platforms.dingtalk import admission
from bot.platforms.dingtalk.push import DingtalkPushClient
from bot.platforms.dingtalk.render import render_message
from bot.platforms.dingtalk.sign import check_callback_sign
from bot.platforms.download import Fetched, Fetcher, FileIntake, fetch

if TYPE_CHECKING:
    from bot.pipeline import Outcome
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

FAMILY = CHANNEL = "dingtalk"  # the app robot, over the HTTP callback or Stream mode alike
NON_TEXT_ANSWER = "目前只能读懂文字消息，请用文字发送（例如「帮助」）。"
VOICE_UNHEARD = "这条语音没有转出文字，请再说一遍，或用文字发送。"
EMPTY = {"msgtype": "empty"}  # "no answer" for the robot callback response


class BadMessage(ValueError):
    """The callback body is not a robot message we can read; the reason is safe to log."""


# ---------------------------------------------------------------------------------------------
# A robot message (HTTP body or Stream frame data) to `Incoming`


# Kinds that carry files (robot receive-message doc): file {downloadCode, fileName}, picture
# {downloadCode}, richText {richText: [{text} | {type: picture, downloadCode}]}.
WITH_FILES = ("file", "picture", "richText")


def media_of(body: dict) -> list[tuple[str, str | None]]:
    """(downloadCode, file name) of each file or picture of a robot message, in order."""
    content = body.get("content") if isinstance(body.get("content"), dict) else {}
    kind = body.get("msgtype")
    if kind in ("file", "picture"):
        items = [content]
    elif kind == "richText":
        items = [i for i in content.get("richText") or [] if isinstance(i, dict) and "text" not in i]
    else:
        return []
    codes = [(i.get("downloadCode") or i.get("pictureDownloadCode"), i.get("fileName")) for i in items]
    return [(c, n if isinstance(n, str) else None) for c, n in codes if isinstance(c, str) and c]


def _rich_words(body: dict) -> str:
    content = body.get("content") if isinstance(body.get("content"), dict) else {}
    items = content.get("richText") if isinstance(content.get("richText"), list) else []
    return "\n".join(i["text"] for i in items if isinstance(i, dict) and isinstance(i.get("text"), str))


def _said(body: dict, msgtype: str) -> str | None:
    """The words of a text message, or of a voice message as DingTalk transcribed it
    (audio: content.recognition), or of a file message (a richText's text, else none); None for
    other kinds; BadMessage for a text without content."""
    if msgtype in WITH_FILES:
        if not media_of(body):
            raise BadMessage(f"{msgtype} without downloadCode")
        return _rich_words(body) if msgtype == "richText" else ""
    if msgtype == "audio":
        audio = body.get("content") if isinstance(body.get("content"), dict) else {}
        heard = audio.get("recognition")
        return heard if isinstance(heard, str) and heard.strip() else None
    if msgtype != "text":
        return None
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    if not isinstance(content, str):
        raise BadMessage("text.content missing")
    return content


def parse_robot_message(body: Any, tz: dt.tzinfo, now: dt.datetime) -> tuple[Incoming | None, str]:
    """(Incoming, msgtype) for a text, voice or file message, (None, msgtype) for another kind;
    BadMessage if unreadable. A file message's files are fetched by `RobotFiles` (media_of).

    Fields per the robot receive-message doc: msgId, msgtype, text.content, conversationType
    ("1" one-to-one, "2" group), conversationId, senderStaffId (absent for users outside the
    organisation, hence senderId), senderNick, sessionWebhook, sessionWebhookExpiredTime (ms), createAt (ms).
    """
    if not isinstance(body, dict):
        raise BadMessage("body is not a JSON object")
    msg_id, msgtype = body.get("msgId"), body.get("msgtype")
    conversation_type = str(body.get("conversationType", ""))
    sender = body.get("senderStaffId") or body.get("senderId")
    if not isinstance(msg_id, str) or not msg_id or not isinstance(msgtype, str):
        raise BadMessage("msgId or msgtype missing")
    if conversation_type not in ("1", "2") or not isinstance(sender, str) or not sender:
        raise BadMessage("conversationType or sender missing")
    content = _said(body, msgtype)
    if content is None:
        return None, msgtype
    is_group = conversation_type == "2"
    created = body.get("createAt")
    sent_at = dt.datetime.fromtimestamp(created / 1000, tz) if isinstance(created, int) else now
    conversation_id = body.get("conversationId")
    try:
        incoming = Incoming(
            platform=CHANNEL,
            chat_id=conversation_id
            if is_group and isinstance(conversation_id, str) and conversation_id
            else None,
            sender_id=sender,
            sender_name=body.get("senderNick") if isinstance(body.get("senderNick"), str) else None,
            text=content.strip(),  # in groups the content starts with a space where the @robot was
            msg_id=msg_id,
            sent_at=sent_at,
            is_group=is_group,
            reply_handle=reply_address(body, sender, is_group),
        )
    except FieldTooLong as err:
        raise BadMessage(str(err)) from None
    return incoming, msgtype


def reply_address(body: dict, sender: str, is_group: bool) -> dict[str, Any]:
    """The outbox address of a late answer: the sessionWebhook, and what to fall back on when it expired."""
    address: dict[str, Any] = {
        "session_webhook": body.get("sessionWebhook") or "",
        "expires_at_ms": body.get("sessionWebhookExpiredTime") or 0,
    }
    if is_group and body.get("conversationId"):
        address["conversation_id"] = body["conversationId"]
        if isinstance(body.get("senderStaffId"), str) and body["senderStaffId"]:
            address["at_user_id"] = body["senderStaffId"]  # a group answer @s its sender
    elif not is_group:
        address["userid"] = sender
    return address


class RobotFiles:
    """The files and pictures of robot messages: each downloadCode exchanged for its downloadUrl
    (POST /v1.0/robot/messageFiles/download {downloadCode, robotCode}) and fetched at once."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.http = requests.Session()
        self.intake = FileIntake(runtime.settings.files, lambda incoming: runtime.pipeline.previous(incoming))

    def _client(self) -> DingtalkPushClient:
        return self.runtime.platforms.client(FAMILY) or DingtalkPushClient(self.runtime.settings)

    def _fetcher(self, code: str, name: str | None) -> Fetcher:
        settings = self.runtime.settings.files

        def fetched() -> Fetched | FileRefused:
            url = self._client().message_file_url(code)
            if not isinstance(url, str):
                log.warning("dingtalk messageFiles/download: %s", url.detail)
                return refused("expired" if url.status == "failed" else "failed")
            limits = {"max_mb": settings.max_mb, "seconds": settings.download_seconds}
            got = fetch(self.http, url, attempts=settings.download_attempts, **limits)
            return Fetched(got.data, name or got.name) if isinstance(got, Fetched) else got

        return fetched

    def handler(self, body: dict) -> Callable[[Incoming, dt.datetime], Outcome]:
        """The pipeline's `handle` with the message's files fetched first; plain `handle` without files."""
        fetchers = [self._fetcher(code, name) for code, name in media_of(body)]
        if not fetchers:
            return self.runtime.pipeline.handle
        return lambda incoming, now: self.intake.run(self.runtime.pipeline.handle, incoming, now, fetchers)


# ---------------------------------------------------------------------------------------------
# HTTP callback


def make_blueprint(runtime: Runtime, *, executor: Executor | None = None) -> Blueprint:
    """`POST /dingtalk/robot`: verify, hand text to the pipeline, answer within the reply deadline or
    via the outbox; a message not stored by the ack deadline gets a 5xx (bot/platforms/answering.py).
    The pipeline runs in `executor` (default: a pool of 8 threads)."""
    bp = Blueprint("dingtalk", __name__)
    ding = runtime.settings.dingtalk
    robot_files = RobotFiles(runtime)
    workers = executor or ThreadPoolExecutor(max_workers=8, thread_name_prefix="dingtalk-callback")
    clock = PlatformClock(runtime.settings.overload.clock_window_seconds, resolution=0.001)  # ms

    @bp.post("/dingtalk/robot")
    def robot():
        now = runtime.now()
        if not admission.address_allowed(ding, request.remote_addr):
            log.warning("dingtalk callback refused from %s: not in dingtalk.allowed_ips", request.remote_addr)
            abort(403, "address not allowed")
        refusal = check_callback_sign(
            request.headers.get("timestamp"),
            request.headers.get("sign"),
            ding.app_secret,
            now,
            ding.max_clock_skew_seconds,
        )
        if refusal:
            log.warning("dingtalk callback refused from %s: %s", request.remote_addr, refusal)
            abort(401, refusal)
        raw = request.stream.read(ding.max_body_bytes + 1)
        if len(raw) > ding.max_body_bytes:
            log.warning("dingtalk callback refused: body over %d bytes", ding.max_body_bytes)
            abort(413)
        try:
            body = json_body.loads(raw)
            incoming, msgtype = parse_robot_message(body, runtime.settings.tz, now)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError and BadMessage are ValueErrors
            reason = str(err) if isinstance(err, (BadMessage, json_body.Unreadable)) else "malformed JSON"
            log.warning("dingtalk callback refused: %s", reason)
            abort(400, reason)
        _admit(body, request.headers.get("sign", ""), now)
        if incoming is None:
            # Pictures, voice, files: nothing is stored; one-to-one gets a hint, groups are not spammed.
            log.info("dingtalk %s message %s not handled (only text is)", msgtype, body.get("msgId"))
            one_to_one = str(body.get("conversationType")) == "1"
            hint = VOICE_UNHEARD if msgtype == "audio" else NON_TEXT_ANSWER
            return jsonify(render_message(hint) if one_to_one else EMPTY)

        answer = answer_arrived(
            workers,
            robot_files.handler(body),
            incoming,
            now,
            # check_callback_sign made sure it is all digits; the deadlines count from it (arrival.py)
            age=clock.age(now.timestamp(), int(request.headers["timestamp"]) / 1000),
            overload=runtime.settings.overload,
            reply_seconds=ding.reply_deadline_seconds,
            ack_seconds=ding.ack_deadline_seconds,
            deliver_late=lambda reply: runtime.answer_late(incoming, reply),
            # The robot docs describe no answer in the callback's response, only the message's
            # sessionWebhook: every answer goes there (through the outbox), the response is empty.
            passive=False,
        )
        if answer.status != STORED:
            abort(answer.status, "not stored; deliver again")
        return jsonify(EMPTY)

    def _admit(body: dict[str, Any], sign: str, now: dt.datetime) -> None:
        """Our robot's message, under a signature that signed no other (admission.py)."""
        foreign = admission.foreign_ids(ding, body)
        if foreign:
            log.warning("dingtalk callback refused from %s: %s", request.remote_addr, foreign)
            abort(403, foreign)
        # A fresh timestamp may be up to the skew either side of now: the pair stays usable for twice it.
        keep = 2 * ding.max_clock_skew_seconds
        if not signatures.signs_only(runtime.sessions, CHANNEL, sign, body["msgId"], now, keep_seconds=keep):
            log.warning("dingtalk callback refused from %s: signature already used", request.remote_addr)
            abort(401, "signature already used for another message")

    return bp
