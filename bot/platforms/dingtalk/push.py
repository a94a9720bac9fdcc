"""The DingTalk push client the outbox sends through: custom robot webhook (groups, can @), the app
robot's OpenAPI (groups and one-to-one, files too) and a message's sessionWebhook (late answers)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import requests

from bot.config import DingtalkSettings, Settings
from bot.delivery import Delivery, SendResult, read_attachment
from bot.platforms.dingtalk.cards import card_body
from bot.platforms.dingtalk.render import TEXT_BUDGET_BYTES, render_message, title_of, with_links
from bot.platforms.dingtalk.sign import webhook_sign
from bot.platforms.http_push import TokenCache, json_answer, trim

FILE_LIMIT = 20 * 1024 * 1024  # bytes of a file uploaded as media
BLOCKED_SECONDS = 600  # 20 messages a minute, then the robot is throttled for 10 minutes
_TOKEN_MARGIN_SECONDS = 300
_OAPI_TOKEN_EXPIRED = (40014, 42001)


class DingtalkPushClient:
    """Sends outbox deliveries: custom robot webhook (groups, can @), app robot APIs, sessionWebhook.

    Never raises for DingTalk's refusal or a network fault: every answer maps to a `SendResult`.
    """

    platform = "dingtalk"

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
        self._tokens = TokenCache(
            self._fetch_token, clock, name="dingtalk", margin_seconds=_TOKEN_MARGIN_SECONDS
        )

    # -- dispatch ---------------------------------------------------------------------------

    def send(self, delivery: Delivery) -> SendResult:
        addr = delivery.address or {}
        if delivery.actions and delivery.kind == "member" and self._ding.card_template_id and addr.get("userid"):
            try:
                return self._card(delivery, addr["userid"])
            except (requests.Timeout, requests.ConnectionError) as err:
                return SendResult("retry", f"network: {type(err).__name__}")
        if delivery.actions and delivery.kind == "member":
            # One-to-one, a link's words reach the robot as the reader's own message (同意 #3); in a
            # group they would not @ the robot, so a group message keeps its text (it says them).
            text = with_links(delivery.text, delivery.actions)
            delivery = replace(delivery, text=text, markdown=True, actions=())
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
            message = render_message(delivery.text, delivery.mentions, delivery.markdown)
            if addr.get("at_user_id"):
                # A group answer @s its sender, as the Stream SDK's reply_text does (at.atUserIds).
                at = message.setdefault("at", {})
                at["atUserIds"] = list(dict.fromkeys([*at.get("atUserIds", []), addr["at_user_id"]]))
            result = self._post_robot(webhook, {}, message)
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
        answer = json_answer(resp, unreadable="failed")
        if isinstance(answer, SendResult):
            return answer
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

    def _fetch_token(self) -> tuple[str, float] | SendResult:
        """A new app access token (POST /v1.0/oauth2/accessToken, valid expireIn = 7200 s)."""
        if not (self._ding.app_key and self._ding.app_secret):
            return SendResult("failed", "dingtalk app_key/app_secret not configured")
        resp = self._http.post(
            f"{self._ding.api_base.rstrip('/')}/v1.0/oauth2/accessToken",
            json={"appKey": self._ding.app_key, "appSecret": self._ding.app_secret},
            timeout=self._timeout,
        )
        answer = json_answer(resp, "accessToken", unreadable="failed")
        if isinstance(answer, SendResult):
            return answer
        if not resp.ok or "accessToken" not in answer:
            return SendResult("failed", f"accessToken refused: {answer.get('code', resp.status_code)}")
        return answer["accessToken"], float(answer.get("expireIn", 7200))

    def _openapi(self, path: str, payload: dict[str, Any]) -> tuple[SendResult | None, dict[str, Any]]:
        def post(token: str) -> requests.Response:
            return self._http.post(
                f"{self._ding.api_base.rstrip('/')}{path}",
                headers={"x-acs-dingtalk-access-token": token},
                json=payload,
                timeout=self._timeout,
            )

        resp = self._tokens.call(post, expired=_token_refused)
        if isinstance(resp, SendResult):
            return resp, {}
        if _token_refused(resp):
            return SendResult("failed", "access token refused twice"), {}
        answer = _body(resp)
        if resp.ok:
            return None, answer
        code = str(answer.get("code", ""))
        detail = f"HTTP {resp.status_code} {code}".strip()
        if resp.status_code >= 500 or resp.status_code == 429 or "QpsLimit" in code or "Throttl" in code:
            return SendResult("retry", detail), answer
        return SendResult("failed", detail), answer

    def message_file_url(self, download_code: str) -> str | SendResult:
        """The temporary downloadUrl of a file or picture a member sent the robot
        (POST /v1.0/robot/messageFiles/download {downloadCode, robotCode}); or why there is none."""
        payload = {"downloadCode": download_code, "robotCode": self._robot_code()}
        try:
            failure, answer = self._openapi("/v1.0/robot/messageFiles/download", payload)
        except (requests.Timeout, requests.ConnectionError) as err:
            return SendResult("retry", f"network: {type(err).__name__}")
        if failure:
            return failure
        url = answer.get("downloadUrl")
        return url if isinstance(url, str) and url else SendResult("failed", "answered without downloadUrl")

    def _robot_code(self) -> str:
        return self._ding.robot_code or self._ding.app_key  # an internal app's robotCode is its appKey

    def _msg(self, delivery: Delivery) -> dict[str, str]:
        """msgKey/msgParam of the app robot (sampleText / sampleMarkdown); it cannot @, so names are written."""
        names = " ".join(f"@{p.name}" for p in delivery.mentions)
        text = trim(delivery.text, TEXT_BUDGET_BYTES - len(names.encode()) - 2)
        text = f"{text}\n{names}" if names else text
        if delivery.markdown:
            param = {"title": title_of(delivery.text), "text": text}
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

        def upload(token: str) -> dict[str, Any] | SendResult:
            resp = self._http.post(
                f"{self._ding.oapi_base.rstrip('/')}/media/upload",
                params={"access_token": token, "type": "file"},
                files={"media": (os.path.basename(path), content, "application/octet-stream")},
                timeout=self._timeout,
            )
            return json_answer(resp, "media/upload", unreadable="failed")

        answer = self._tokens.call(
            upload, expired=lambda a: isinstance(a, dict) and a.get("errcode") in _OAPI_TOKEN_EXPIRED
        )
        if isinstance(answer, SendResult):
            return answer
        code = answer.get("errcode")
        if code is None:
            return SendResult("failed", "media/upload answered without errcode")
        if code == 0 and answer.get("media_id"):
            return str(answer["media_id"])
        detail = f"media/upload errcode={code} {answer.get('errmsg', '')}".strip()
        return SendResult("retry" if code == -1 else "failed", detail)

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


    def _card(self, delivery: Delivery, userid: str) -> SendResult:
        """The one-tap notice as the county's interactive card (bot/platforms/dingtalk/cards.py)."""
        payload = card_body(
            self._ding.card_template_id,
            self._robot_code(),
            userid,
            delivery.text,
            delivery.actions,
            delivery.key or delivery.text,
        )
        failure, answer = self._openapi("/v1.0/card/instances/createAndDeliver", payload)
        if failure:
            return failure
        result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
        refused = [r for r in result.get("deliverResults") or [] if isinstance(r, dict) and not r.get("success")]
        if answer.get("success") is False or refused:
            reason = (refused[0].get("errorMsg") if refused else None) or answer.get("message") or "not delivered"
            return SendResult("failed", f"card {reason}")
        return SendResult("sent", f"card {payload['outTrackId'][:24]}")


def _body(resp: requests.Response) -> dict[str, Any]:
    """The JSON object DingTalk answered, or {} (the HTTP status then says what happened)."""
    answer = json_answer(resp)
    return answer if isinstance(answer, dict) else {}


def _token_refused(resp: requests.Response) -> bool:
    """The OpenAPI no longer takes the token (revoked, or expired early): fetch a new one once."""
    return resp.status_code == 401 or str(_body(resp).get("code", "")) == "InvalidAuthentication"
