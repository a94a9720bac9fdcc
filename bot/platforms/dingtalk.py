"""DingTalk (钉钉): the app robot's HTTP callback (`POST /dingtalk/robot`) and the push client.

Both turn DingTalk's JSON into our `Incoming`/`Delivery` and back; no business rule lives
here. Stream mode (bot/platforms/dingtalk_stream.py) reuses `handle_robot_message`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import requests
from flask import Blueprint, abort, jsonify, request

from bot.config import DingtalkSettings, Settings
from bot.delivery import Delivery, SendResult, read_attachment
from bot.messages import Incoming, Person, Reply
from bot.platforms.answering import STORED, answer_within

if TYPE_CHECKING:
    from bot.pipeline import Outcome
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

PLATFORM = "dingtalk"
NON_TEXT_ANSWER = "目前只能读懂文字消息，请用文字发送（例如「帮助」）。"
EMPTY = {"msgtype": "empty"}  # "no answer" for the robot callback response
REPLY_DEADLINE_SECONDS = 2.5  # DingTalk waits about 3 s for the callback's answer, then redelivers
FILE_LIMIT = 20 * 1024 * 1024  # bytes of a file uploaded as media
ACK_DEADLINE_SECONDS = 2.9  # stored by then: answer empty, the answer follows; not stored: 503
# groupMessages/send caps msgParam at 15,000 bytes ("The length must not exceed 15,000 bytes",
# open.dingtalk.com robot group message API); the custom robot documents no figure, so the
# same budget is used everywhere, leaving room for the JSON around the text.
TEXT_BUDGET_BYTES = 12_000
BLOCKED_SECONDS = 600  # 20 messages a minute, then the robot is throttled for 10 minutes
_TOKEN_MARGIN_SECONDS = 300


class BadMessage(ValueError):
    """The callback body is not a robot message we can read; the reason is safe to log."""


# ---------------------------------------------------------------------------------------------
# Signatures


def callback_sign(timestamp: str, app_secret: str) -> str:
    """The app robot callback's `sign` header: base64(HMAC-SHA256(appSecret, timestamp + "\\n" + appSecret)).

    Doc: open.dingtalk.com "企业内部开发机器人 / 接收消息" (HTTP mode: verify the timestamp and sign headers).
    """
    mac = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def check_callback_sign(
    timestamp: str | None, sign: str | None, app_secret: str, now: dt.datetime, max_skew_seconds: int
) -> str | None:
    """None when the headers are genuine and fresh, else a short reason (no secret material)."""
    if not timestamp or not sign:
        return "missing timestamp or sign"
    if not timestamp.isdigit():
        return "malformed timestamp"
    skew_ms = abs(int(now.timestamp() * 1000) - int(timestamp))
    if skew_ms > max_skew_seconds * 1000:
        return "stale timestamp"
    if not hmac.compare_digest(callback_sign(timestamp, app_secret).encode(), sign.encode()):
        return "bad sign"
    return None


def webhook_sign(timestamp_ms: int, secret: str) -> str:
    """The custom robot's 加签 value (before URL encoding): same HMAC scheme, keyed by the SEC... secret.

    Doc: open.dingtalk.com "自定义机器人安全设置 / 加签".
    """
    return callback_sign(str(timestamp_ms), secret)


# ---------------------------------------------------------------------------------------------
# Inbound: a robot message (HTTP body or Stream frame data) to `Incoming`


def parse_robot_message(body: Any, tz: dt.tzinfo, now: dt.datetime) -> tuple[Incoming | None, str]:
    """(Incoming, msgtype) for a text message, (None, msgtype) for another kind; BadMessage if unreadable.

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
    if msgtype != "text":
        return None, msgtype
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    if not isinstance(content, str):
        raise BadMessage("text.content missing")
    is_group = conversation_type == "2"
    created = body.get("createAt")
    sent_at = dt.datetime.fromtimestamp(created / 1000, tz) if isinstance(created, int) else now
    conversation_id = body.get("conversationId")
    incoming = Incoming(
        platform=PLATFORM,
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
    return incoming, msgtype


def reply_address(body: dict, sender: str, is_group: bool) -> dict[str, Any]:
    """The outbox address of a late answer: the sessionWebhook, and what to fall back on when it expired."""
    address: dict[str, Any] = {
        "session_webhook": body.get("sessionWebhook") or "",
        "expires_at_ms": body.get("sessionWebhookExpiredTime") or 0,
    }
    if is_group and body.get("conversationId"):
        address["conversation_id"] = body["conversationId"]
    elif not is_group:
        address["userid"] = sender
    return address


def handle_robot_message(
    runtime: Runtime, body: Any, now: dt.datetime
) -> tuple[Incoming | None, Outcome | None]:
    """Run one robot message through the pipeline (text) or not at all (other kinds); BadMessage if unreadable."""
    incoming, msgtype = parse_robot_message(body, runtime.settings.tz, now)
    if incoming is None:
        log.info("dingtalk %s message %s not handled (only text is)", msgtype, body.get("msgId"))
        return None, None
    return incoming, runtime.pipeline.handle(incoming, now)


# ---------------------------------------------------------------------------------------------
# Rendering a Reply


def trim(text: str, budget_bytes: int = TEXT_BUDGET_BYTES) -> str:
    """Cut `text` to `budget_bytes` of UTF-8 on a character boundary, marking the cut with "…"."""
    data = text.encode()
    if len(data) <= budget_bytes:
        return text
    cut = data[: budget_bytes - len("…".encode())].decode("utf-8", errors="ignore")
    return cut + "…"


def _mention_fields(mentions: tuple[Person, ...]) -> tuple[str, dict[str, Any]]:
    """The "@..." suffix and the `at` object: the mention renders only if @userId/@mobile is in the text too.

    Doc: open.dingtalk.com "自定义机器人发送群消息" (at.atUserIds / at.atMobiles).
    """
    tags, user_ids, mobiles = [], [], []
    for person in mentions:
        if person.dingtalk_userid:
            user_ids.append(person.dingtalk_userid)
            tags.append(f"@{person.dingtalk_userid}")
        elif person.mobile:
            mobiles.append(person.mobile)
            tags.append(f"@{person.mobile}")
    at: dict[str, Any] = {}
    if user_ids:
        at["atUserIds"] = user_ids
    if mobiles:
        at["atMobiles"] = mobiles
    return (" ".join(tags), at)


def render_message(text: str, mentions: tuple[Person, ...] = (), markdown: bool = False) -> dict[str, Any]:
    """The robot message JSON (custom robot, sessionWebhook, callback answer share it)."""
    tags, at = _mention_fields(mentions)
    body = trim(text, TEXT_BUDGET_BYTES - len(tags.encode()) - 2)
    content = f"{body}\n{tags}" if tags else body
    if markdown:
        title = trim(text.strip().splitlines()[0] if text.strip() else "履职助手", 60)
        message: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": content}}
    else:
        message = {"msgtype": "text", "text": {"content": content}}
    if at:
        message["at"] = at
    return message


def render_reply(reply: Reply) -> dict[str, Any]:
    return render_message(reply.text, reply.mentions, reply.markdown)


# ---------------------------------------------------------------------------------------------
# HTTP callback


def make_blueprint(
    runtime: Runtime,
    *,
    deadline_seconds: float = REPLY_DEADLINE_SECONDS,
    ack_seconds: float = ACK_DEADLINE_SECONDS,
) -> Blueprint:
    """`POST /dingtalk/robot`: verify, hand text to the pipeline, answer within the deadline or via
    the outbox; a message not stored by `ack_seconds` gets a 5xx (bot/platforms/answering.py)."""
    bp = Blueprint("dingtalk", __name__)
    ding = runtime.settings.dingtalk
    workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dingtalk-callback")

    @bp.post("/dingtalk/robot")
    def robot():
        now = runtime.now()
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
            body = json.loads(raw)
            incoming, msgtype = parse_robot_message(body, runtime.settings.tz, now)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError and BadMessage are ValueErrors
            reason = str(err) if isinstance(err, BadMessage) else "malformed JSON"
            log.warning("dingtalk callback refused: %s", reason)
            abort(400, reason)
        if incoming is None:
            # Pictures, voice, files: nothing is stored; one-to-one gets a hint, groups are not spammed.
            log.info("dingtalk %s message %s not handled (only text is)", msgtype, body.get("msgId"))
            one_to_one = str(body.get("conversationType")) == "1"
            return jsonify(render_message(NON_TEXT_ANSWER) if one_to_one else EMPTY)

        answer = answer_within(
            workers,
            runtime.pipeline.handle,
            incoming,
            now,
            reply_seconds=deadline_seconds,
            ack_seconds=ack_seconds,
            deliver_late=lambda reply: runtime.answer_late(
                incoming, reply, dict(incoming.reply_handle or {})
            ),
        )
        if answer.status != STORED:
            abort(answer.status, "not stored; deliver again")
        return jsonify(EMPTY if answer.reply is None else render_reply(answer.reply))

    return bp


# ---------------------------------------------------------------------------------------------
# Push client


class DingtalkPushClient:
    """Sends outbox deliveries: custom robot webhook (groups, can @), app robot APIs, sessionWebhook.

    Never raises for DingTalk's refusal or a network fault: every answer maps to a `SendResult`.
    """

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings | DingtalkSettings,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self._ding = settings.dingtalk if isinstance(settings, Settings) else settings
        self._http = session or requests.Session()
        self._clock = clock
        self._timeout = timeout
        self._token: tuple[str, float] | None = None  # (accessToken, valid until epoch seconds)
        self._token_lock = threading.Lock()

    # -- dispatch ---------------------------------------------------------------------------

    def send(self, delivery: Delivery) -> SendResult:
        addr = delivery.address or {}
        try:
            if delivery.kind == "group":
                if addr.get("robot_token") and addr.get("robot_secret"):
                    return self._robot_webhook(delivery, addr["robot_token"], addr["robot_secret"])
                if addr.get("conversation_id"):
                    return self._group_message(delivery, addr["conversation_id"])
                return SendResult("failed", "group has no dingtalk robot_token/secret or conversation_id")
            if delivery.kind == "member":
                if addr.get("userid"):
                    return self._one_to_one(delivery, addr["userid"])
                return SendResult("failed", "member has no dingtalk userid")
            if delivery.kind == "reply":
                return self._reply(delivery, addr)
            return SendResult("failed", f"unknown delivery kind {delivery.kind!r}")
        except (requests.Timeout, requests.ConnectionError) as err:
            return SendResult("retry", f"network: {type(err).__name__}")

    def _reply(self, delivery: Delivery, addr: dict[str, Any]) -> SendResult:
        webhook = addr.get("session_webhook") or ""
        valid = webhook and int(addr.get("expires_at_ms") or 0) > self._clock() * 1000 + 5_000
        if valid and not webhook.startswith(self._ding.oapi_base.rstrip("/") + "/"):
            # The address came from a signed callback, but a URL outside DingTalk's host is never posted to.
            return SendResult("failed", "sessionWebhook is not on the configured oapi_base")
        if valid:
            result = self._post_robot(
                webhook, {}, render_message(delivery.text, delivery.mentions, delivery.markdown)
            )
            if not result.detail.startswith("errcode=300001"):
                return result
        # Session expired (300001) or already past its expiry: the app robot can still speak.
        if addr.get("conversation_id"):
            return self._group_message(delivery, addr["conversation_id"])
        if addr.get("userid"):
            return self._one_to_one(delivery, addr["userid"])
        return SendResult("failed", "sessionWebhook expired and no conversation to fall back on")

    # -- custom robot / sessionWebhook: errcode in a 200 body -------------------------------

    def _robot_webhook(self, delivery: Delivery, token: str, secret: str) -> SendResult:
        ts = int(self._clock() * 1000)
        # requests URL-encodes the params once, which is the doc's urlEncode(base64(...)).
        params = {"access_token": token, "timestamp": str(ts), "sign": webhook_sign(ts, secret)}
        message = render_message(delivery.text, delivery.mentions, delivery.markdown)
        return self._post_robot(f"{self._ding.oapi_base.rstrip('/')}/robot/send", params, message)

    def _post_robot(self, url: str, params: dict[str, str], message: dict[str, Any]) -> SendResult:
        resp = self._http.post(url, params=params, json=message, timeout=self._timeout)
        if resp.status_code >= 500:
            return SendResult("retry", f"HTTP {resp.status_code}")
        try:
            answer = resp.json()
        except ValueError:
            return SendResult("retry" if resp.status_code >= 500 else "failed", f"HTTP {resp.status_code}")
        code = answer.get("errcode", 0) if resp.ok else answer.get("errcode", resp.status_code)
        detail = f"errcode={code} {answer.get('errmsg', '')}".strip()
        if code == 0:
            return SendResult("sent", detail)
        if code in (130101, 410100):
            # "send too fast": over 20/min the robot is throttled for 10 minutes; retrying sooner only extends it.
            return SendResult("retry", detail, retry_after=BLOCKED_SECONDS)
        if code == 310000:
            # Keyword / 加签 / IP whitelist mismatch: a configuration fault for the admin, not a transient one.
            return SendResult("failed", detail)
        if code == -1:  # "系统繁忙"
            return SendResult("retry", detail)
        return SendResult("failed", detail)

    # -- app robot OpenAPI (api.dingtalk.com v1.0): HTTP status + {code, message} -----------

    def _access_token(self, *, refresh: bool = False) -> str | SendResult:
        """The app's access token (POST /v1.0/oauth2/accessToken, 7200 s), cached until 5 minutes before expiry."""
        with self._token_lock:
            now = self._clock()
            if self._token and not refresh and now < self._token[1]:
                return self._token[0]
            if not (self._ding.app_key and self._ding.app_secret):
                return SendResult("failed", "dingtalk app_key/app_secret not configured")
            resp = self._http.post(
                f"{self._ding.api_base.rstrip('/')}/v1.0/oauth2/accessToken",
                json={"appKey": self._ding.app_key, "appSecret": self._ding.app_secret},
                timeout=self._timeout,
            )
            if resp.status_code >= 500:
                return SendResult("retry", f"accessToken HTTP {resp.status_code}")
            answer = _json(resp)
            if not resp.ok or "accessToken" not in answer:
                return SendResult("failed", f"accessToken refused: {answer.get('code', resp.status_code)}")
            expires_in = float(answer.get("expireIn", 7200))
            self._token = (answer["accessToken"], now + expires_in - _TOKEN_MARGIN_SECONDS)
            return self._token[0]

    def _openapi(self, path: str, payload: dict[str, Any]) -> tuple[SendResult | None, dict[str, Any]]:
        for attempt in (0, 1):
            token = self._access_token(refresh=attempt == 1)
            if isinstance(token, SendResult):
                return token, {}
            resp = self._http.post(
                f"{self._ding.api_base.rstrip('/')}{path}",
                headers={"x-acs-dingtalk-access-token": token},
                json=payload,
                timeout=self._timeout,
            )
            answer = _json(resp)
            code = str(answer.get("code", ""))
            if resp.status_code == 401 or code == "InvalidAuthentication":
                continue  # the token was revoked or expired early: fetch a new one once
            if resp.ok:
                return None, answer
            detail = f"HTTP {resp.status_code} {code}".strip()
            if resp.status_code >= 500 or resp.status_code == 429 or "QpsLimit" in code or "Throttl" in code:
                return SendResult("retry", detail), answer
            return SendResult("failed", detail), answer
        return SendResult("failed", "access token refused twice"), {}

    def _robot_code(self) -> str:
        return self._ding.robot_code or self._ding.app_key  # an internal app's robotCode is its appKey

    def _msg(self, delivery: Delivery) -> dict[str, str]:
        """msgKey/msgParam of the app robot (sampleText / sampleMarkdown); it cannot @, so names are written."""
        names = " ".join(f"@{p.name}" for p in delivery.mentions)
        text = trim(delivery.text, TEXT_BUDGET_BYTES - len(names.encode()) - 2)
        text = f"{text}\n{names}" if names else text
        if delivery.markdown:
            title = trim(delivery.text.strip().splitlines()[0] if delivery.text.strip() else "履职助手", 60)
            param = {"title": title, "text": text}
            return {"msgKey": "sampleMarkdown", "msgParam": json.dumps(param, ensure_ascii=False)}
        return {"msgKey": "sampleText", "msgParam": json.dumps({"content": text}, ensure_ascii=False)}

    def _group_message(self, delivery: Delivery, conversation_id: str) -> SendResult:
        payload = {
            "robotCode": self._robot_code(),
            "openConversationId": conversation_id,
            **self._msg(delivery),
        }
        failure, answer = self._openapi("/v1.0/robot/groupMessages/send", payload)
        return failure or SendResult("sent", f"processQueryKey={answer.get('processQueryKey', '')}")

    def _upload(self, path: str) -> str | SendResult:
        """The file as app media (oapi media/upload, type file, up to 20 MB): its media_id."""
        content = read_attachment(path, smallest=1, largest=FILE_LIMIT)
        if isinstance(content, SendResult):
            return content
        for attempt in (0, 1):
            token = self._access_token(refresh=attempt == 1)
            if isinstance(token, SendResult):
                return token
            resp = self._http.post(
                f"{self._ding.oapi_base.rstrip('/')}/media/upload",
                params={"access_token": token, "type": "file"},
                files={"media": (os.path.basename(path), content, "application/octet-stream")},
                timeout=self._timeout,
            )
            if resp.status_code >= 500:
                return SendResult("retry", f"media/upload HTTP {resp.status_code}")
            answer = _json(resp)
            code = answer.get("errcode")
            if code is None:
                return SendResult("failed", f"media/upload HTTP {resp.status_code}: no errcode")
            if code in (40014, 42001) and attempt == 0:
                continue  # the token expired early: fetch a new one once
            if code == 0 and answer.get("media_id"):
                return str(answer["media_id"])
            detail = f"media/upload errcode={code} {answer.get('errmsg', '')}".strip()
            return SendResult("retry" if code == -1 else "failed", detail)
        return SendResult("failed", "access token refused twice")

    def _one_to_one(self, delivery: Delivery, userid: str) -> SendResult:
        if delivery.attachment:
            uploaded = self._upload(delivery.attachment)
            if isinstance(uploaded, SendResult):
                return uploaded
            name = os.path.basename(delivery.attachment)
            param = {"mediaId": uploaded, "fileName": name, "fileType": os.path.splitext(name)[1].lstrip(".")}
            msg = {"msgKey": "sampleFile", "msgParam": json.dumps(param, ensure_ascii=False)}
        else:
            msg = self._msg(delivery)
        payload = {"robotCode": self._robot_code(), "userIds": [userid], **msg}
        failure, answer = self._openapi("/v1.0/robot/oToMessages/batchSend", payload)
        if failure:
            return failure
        if userid in (answer.get("flowControlledStaffIdList") or []):
            return SendResult("retry", "flow controlled", retry_after=60)
        if userid in (answer.get("invalidStaffIdList") or []):
            return SendResult("failed", f"invalid staff id {userid}")
        return SendResult("sent", f"processQueryKey={answer.get('processQueryKey', '')}")


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        answer = resp.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
