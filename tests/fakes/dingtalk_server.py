"""A local fake of DingTalk's HTTP side on 127.0.0.1: custom robot webhook, sessionWebhook, access
tokens and the app robot's message APIs, answering as the documentation describes (errors included)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import form_data, serve_requests, stop_serving


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeDingtalk:
    """Start with `with FakeDingtalk(...) as fake:`; `fake.url` is both api_base and oapi_base."""

    app_key: str = "ding-app-key"
    app_secret: str = "ding-app-secret"
    robots: dict[str, str] = field(default_factory=dict)  # custom robot access_token -> SEC secret
    sessions: set[str] = field(default_factory=set)  # live sessionWebhook session ids
    clock: Any = time.time
    requests: list[Recorded] = field(default_factory=list)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # media_id -> (filename, content)
    message_files: dict[str, str] = field(default_factory=dict)  # downloadCode -> its downloadUrl
    _scripted: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- test controls ------------------------------------------------------------------------

    def script(self, path: str, *answers: tuple[int, Any]) -> None:
        """The next requests to `path` get these (status, JSON) answers, in order, before the normal ones."""
        self._scripted.setdefault(path, []).extend(answers)

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeDingtalk:
        self._server, self._thread, self.url = serve_requests(self._serve)
        return self

    def __exit__(self, *exc: Any) -> None:
        stop_serving(self._server, self._thread)

    # -- DingTalk -----------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        if h.headers.get("Content-Type", "").startswith("multipart/form-data"):
            body = form_data(h.headers["Content-Type"], raw)
        else:
            body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in h.headers.items()}
        self.requests.append(Recorded(h.command, parts.path, query, headers, body))
        if self._scripted.get(parts.path):
            status, answer = self._scripted[parts.path].pop(0)
        else:
            status, answer = self._answer(parts.path, query, headers, body)
        data = json.dumps(answer, ensure_ascii=False).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json;charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _answer(self, path: str, query: dict, headers: dict, body: Any) -> tuple[int, Any]:
        if path == "/robot/send":
            return 200, self._robot_send(query)
        if path == "/robot/sendBySession":
            if query.get("session") not in self.sessions:
                return 200, {"errcode": 300001, "errmsg": "session不存在或已过期"}
            return 200, {"errcode": 0, "errmsg": "ok"}
        if path == "/media/upload":
            if query.get("access_token") not in self._tokens:
                return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
            if query.get("type") != "file" or not isinstance(body, dict) or "media" not in body:
                return 200, {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}
            media_id = f"@lAD-media-{next(self._ids)}"
            self.media[media_id] = body["media"]
            return 200, {"errcode": 0, "errmsg": "ok", "media_id": media_id, "type": "file", "created_at": 1}
        if path == "/gettoken":
            if (query.get("appkey"), query.get("appsecret")) != (self.app_key, self.app_secret):
                return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": self._new_token(), "expires_in": 7200}
        if path == "/v1.0/oauth2/accessToken":
            if (body or {}).get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
                return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"}
            return 200, {"accessToken": self._new_token(), "expireIn": 7200}
        if path in ("/v1.0/robot/groupMessages/send", "/v1.0/robot/oToMessages/batchSend"):
            if headers.get("x-acs-dingtalk-access-token") not in self._tokens:
                return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
            if path.endswith("batchSend"):
                return 200, {"processQueryKey": f"pqk-{next(self._ids)}", "invalidStaffIdList": [],
                             "flowControlledStaffIdList": []}  # fmt: skip
            return 200, {"processQueryKey": f"pqk-{next(self._ids)}"}
        if path == "/v1.0/robot/messageFiles/download":
            return self._message_file(headers, body or {})
        if path == "/v1.0/card/instances/createAndDeliver":
            return self._card(headers, body or {})
        return 404, {"code": "NotFound", "message": path}

    def _message_file(self, headers: dict, body: dict) -> tuple[int, Any]:
        """下载机器人接收消息的文件内容: {downloadCode, robotCode} -> {downloadUrl}."""
        if headers.get("x-acs-dingtalk-access-token") not in self._tokens:
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
        if not body.get("robotCode") or body.get("downloadCode") not in self.message_files:
            return 400, {"code": "invalidParameter.downloadCode", "message": "downloadCode无效或已过期"}
        return 200, {"downloadUrl": self.message_files[body["downloadCode"]]}

    def _card(self, headers: dict, body: dict) -> tuple[int, Any]:
        """创建并投放卡片: the fields the doc requires, every cardParamMap value a string."""
        if headers.get("x-acs-dingtalk-access-token") not in self._tokens:
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
        params = (body.get("cardData") or {}).get("cardParamMap") or {}
        missing = [k for k in ("cardTemplateId", "outTrackId", "openSpaceId") if not body.get(k)]
        if missing or not all(isinstance(v, str) for v in params.values()):
            return 400, {"code": "invalidParameter", "message": f"missing {missing} or a non-string card param"}
        space = body["openSpaceId"].rsplit(".", 1)[-1]
        return 200, {
            "success": True,
            "result": {
                "outTrackId": body["outTrackId"],
                "deliverResults": [{"spaceType": "IM_ROBOT", "spaceId": space, "success": True}],
            },
        }

    def _new_token(self) -> str:
        token = f"token-{next(self._ids)}"
        self._tokens.add(token)
        return token

    def _robot_send(self, query: dict) -> dict:
        """加签 check as the doc describes: timestamp within an hour, sign = base64(HMAC-SHA256(secret, ts\\nsecret))."""
        secret = self.robots.get(query.get("access_token", ""))
        if secret is None:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        ts = query.get("timestamp", "")
        if not ts.isdigit() or abs(self.clock() * 1000 - int(ts)) > 3600_000:
            return {"errcode": 310000, "errmsg": "invalid timestamp"}
        mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(mac).decode(), query.get("sign", "")):
            return {"errcode": 310000, "errmsg": "sign not match"}
        return {"errcode": 0, "errmsg": "ok"}


def robot_message(text: str = "帮助", *, msg_id: str = "msgA1", group: bool = True, **fields) -> dict:
    """A robot callback body as DingTalk sends it (HTTP mode and Stream CALLBACK data alike)."""
    now_ms = int(time.time() * 1000)
    body = {
        "msgId": msg_id,
        "msgtype": "text",
        "text": {"content": f" {text}"},
        "conversationType": "2" if group else "1",
        "conversationId": "cidGroupOne==",
        "senderId": "$:LWCP_v1:$abc",
        "senderStaffId": "dt_zhangsan",
        "senderNick": "张三",
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=s1",
        "sessionWebhookExpiredTime": now_ms + 90 * 60_000,
        "isInAtList": True,
        "robotCode": "ding-robot",
        "createAt": now_ms,
    }
    body.update(fields)
    return body


def scripted_runtime(
    runtime: Any, answers: dict[str, Any], *, slow: dict[str, float] | None = None, **dingtalk: Any
):
    """`runtime` with DingTalk configured (`dingtalk` overrides) and a bot that answers scripted lines,
    so adapter tests do not depend on the handlers' wording. Lines not in `answers` are chatter;
    an exception as the answer is raised inside the message's transaction."""
    import dataclasses

    from bot.messages import Command
    from bot.pipeline import Pipeline
    from bot.router import Router

    ding = {
        "app_key": "ding-app-key",
        "app_secret": "ding-app-secret",
        "robot_code": "ding-robot",
        **dingtalk,
    }
    settings = runtime.settings.model_copy(
        update={"dingtalk": runtime.settings.dingtalk.model_copy(update=ding)}
    )
    router = Router()

    @router.route("help", allow_unknown=True)
    def answer(session, member, command, ctx):
        time.sleep((slow or {}).get(command.content, 0))
        answer = answers[command.content]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def parse(text: str, now: Any) -> Command:
        return Command("help", content=text) if text in answers else Command("unknown")

    pipeline = Pipeline(runtime.sessions, settings, router, parse, runtime.platforms)
    return dataclasses.replace(runtime, settings=settings, router=router, pipeline=pipeline)
