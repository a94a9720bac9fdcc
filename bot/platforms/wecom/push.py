"""The WeCom push client the outbox sends through: group push-bot webhook, self-built app
message/send (text, markdown or a file) and the smart bot's response_url."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

from bot.config import Settings, WecomSettings
from bot.delivery import Delivery, SendResult, read_attachment
from bot.platforms.http_push import TokenCache, json_answer, trim
from bot.platforms.wecom.cards import app_card, app_task_id

log = logging.getLogger(__name__)

TEXT_LIMIT = 2048  # bytes of text.content (webhook and message/send)
MARKDOWN_LIMIT = 4096  # bytes of markdown.content (push bot, message/send)
RESPONSE_URL_LIMIT = 20480  # bytes of a smart bot's response_url markdown (path/101138)
FILE_LIMIT = 20 * 1024 * 1024  # bytes of a file uploaded as temporary media (path/90253)

# errcodes (path/90313): rate limits are retried, a bad key/secret/user is for the admin.
_RATE_LIMITED = {45009, 45033, 45047}
_TOKEN_EXPIRED = {40014, 42001}
_BUSY = {-1}
RATE_LIMIT_RETRY_SECONDS = 60.0  # the push bot allows 20 messages a minute

# message/send (path/90236) drops a request whose JSON equals one sent in the last
# duplicate_check_interval seconds (default 1800, at most 4 hours). The outbox sends a row again
# only when its sender died between WeCom's answer and the record (bot/outbox.py): asking for the
# check makes that one possible repeat a no-op for the member. Two real messages with the same
# text to the same person within half an hour are rare (every notice names its subject).
DUPLICATE_CHECK = {"enable_duplicate_check": 1, "duplicate_check_interval": 1800}

# The smart bot's long connection (doc 101463): a delivery addressed by AIBOT_CHATID goes out as
# aibot_send_msg over the connection, which only the process holding it can send (the outbox's `via`).
LONG_CONNECTION = "wecom_long_connection"
AIBOT_CHATID = "aibot_chatid"  # a group's chatid, or a userid for the one-to-one chat
AIBOT_LIMIT = 20480  # bytes of markdown.content, as the smart bot's other markdown (doc 101463)


class AibotSender(Protocol):
    """The long connection as the push client uses it (bot/platforms/wecom/longconn.py)."""

    def send_msg(self, chatid: str, body: dict[str, Any]) -> SendResult: ...


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
        self.timeout = timeout
        self._tokens = TokenCache(self._fetch_token, clock, name="wecom")
        self.long_connection: AibotSender | None = None  # attached by the process that holds it

    @property
    def local_vias(self) -> frozenset[str]:
        return frozenset({LONG_CONNECTION}) if self.long_connection is not None else frozenset()

    def send(self, delivery: Delivery) -> SendResult:
        if AIBOT_CHATID in delivery.address:
            return self._send_aibot(delivery)
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
            content = trim(delivery.text, RESPONSE_URL_LIMIT)
            return self._post(url, {}, {"msgtype": "markdown", "markdown": {"content": content}})
        return SendResult("failed", f"unknown delivery kind {delivery.kind!r}")

    def _send_aibot(self, delivery: Delivery) -> SendResult:
        """aibot_send_msg: markdown only (doc 101463), which cannot @ by userid: names are written."""
        connection = self.long_connection
        if connection is None:
            return SendResult("retry", "the WeCom long connection is held by another process")
        names = " ".join(f"@{p.name}" for p in delivery.mentions)
        text = trim(delivery.text, AIBOT_LIMIT - len(names.encode()) - 1)
        content = f"{text}\n{names}" if names else text
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        return connection.send_msg(delivery.address[AIBOT_CHATID], body)

    def convert_open_userid(self, open_userid: str) -> str | None:
        """The real userid behind a smart bot's open_userid, through the self-built app's token
        (batch/openuserid_to_userid, doc 101521); the id itself when it is no open_userid; None
        when WeCom cannot say now (network, refusal): the caller keeps the id it has."""
        url = f"{self._base}/cgi-bin/batch/openuserid_to_userid"
        body = {"open_userid_list": [open_userid]}
        answer = self._tokens.call(
            lambda token: self._call("POST", url, {"access_token": token}, body),
            expired=lambda data: isinstance(data, dict) and data.get("errcode") in _TOKEN_EXPIRED,
        )
        if isinstance(answer, SendResult) or answer.get("errcode", 0) != 0:
            log.warning("wecom open_userid conversion failed: %s", _detail(answer))
            return None
        for pair in answer.get("userid_list") or []:
            if isinstance(pair, dict) and pair.get("open_userid") == open_userid and pair.get("userid"):
                return str(pair["userid"])
        return open_userid  # in invalid_open_userid_list: not an open_userid (a plain userid already)

    @property
    def _base(self) -> str:
        return self.settings.api_base.rstrip("/")

    def _send_app(self, delivery: Delivery) -> SendResult:
        userid = delivery.address.get("userid", "")
        if not userid:
            return SendResult("failed", "no userid")
        if not (self.settings.corp_id and self.settings.app.secret and self.settings.app.agent_id):
            return SendResult("failed", "wecom app not configured (corp_id/app.secret/app.agent_id)")
        body: dict[str, Any] = {
            "touser": userid,
            "agentid": int(self.settings.app.agent_id),
            **DUPLICATE_CHECK,
        }
        if delivery.attachment:
            return self._with_token(lambda token: self._send_file(token, body, delivery.attachment or ""))
        if delivery.actions:  # one-tap answers: a card with a button for each (path/90236)
            card = app_card(delivery.text, delivery.actions, app_task_id(delivery.key or delivery.text))
            body |= {"msgtype": "template_card", "template_card": card}
        elif delivery.markdown:
            body |= {"msgtype": "markdown", "markdown": {"content": trim(delivery.text, MARKDOWN_LIMIT)}}
        else:
            body |= {"msgtype": "text", "text": {"content": trim(delivery.text, TEXT_LIMIT)}}
        url = f"{self._base}/cgi-bin/message/send"
        return self._with_token(lambda token: self._call("POST", url, {"access_token": token}, body))

    def _with_token(self, call: Callable[[str], dict[str, Any] | SendResult]) -> SendResult:
        """`call(access_token)`, once more with a fresh token on 40014/42001, then its result."""
        answer = self._tokens.call(
            call, expired=lambda data: isinstance(data, dict) and data.get("errcode") in _TOKEN_EXPIRED
        )
        return self._result(answer)

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

    def _fetch_token(self) -> tuple[str, float] | SendResult:
        """A new access_token (path/91039: valid expires_in seconds, to be reused, not re-fetched)."""
        params = {"corpid": self.settings.corp_id, "corpsecret": self.settings.app.secret}
        data = self._call("GET", f"{self._base}/cgi-bin/gettoken", params, None)
        if isinstance(data, SendResult):
            return data
        if data.get("errcode", 0) != 0 or not data.get("access_token"):
            return _mapped(data, "gettoken")
        return data["access_token"], float(data.get("expires_in", 7200))

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
    """WeCom's JSON answer, or the HTTP failure mapped (429 and 5xx retried, other 4xx failed:
    WeCom answers its refusals with errcodes in a 200)."""
    if resp.status_code == 429:
        return SendResult("retry", "HTTP 429", RATE_LIMIT_RETRY_SECONDS)
    if 400 <= resp.status_code < 500:
        return SendResult("failed", f"HTTP {resp.status_code}")
    return json_answer(resp)


def _detail(answer: dict[str, Any] | SendResult) -> str:
    if isinstance(answer, SendResult):
        return answer.detail
    return f"errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip()


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
