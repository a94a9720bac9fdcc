"""A fake WeCom API on 127.0.0.1 (random port) for the push client's tests: gettoken, message/send,
the push-bot webhook and a smart-bot response_url, answering as qyapi.weixin.qq.com documents.

It records every request (path, query, JSON body) and can be told to answer the next calls to a
path with something else: a rate limit (45009), an expired token (42001/40014), an HTTP 500.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.config import Settings, settings_from_dict
from tests.fakes import form_data, serve_in_background, stop_serving
from tests.fakes.wecom_client import AES_KEY

SECRET = "app-secret"
CORP_ID = "ww-test-corp"
WEBHOOK_KEY = "hook-key-g1"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


class FakeWecom:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripted: dict[str, deque[tuple[int, Any]]] = defaultdict(deque)
        self._tokens = itertools.count(1)
        self.valid_tokens: set[str] = set()
        self.media: dict[str, tuple[str, bytes]] = {}  # media_id -> (filename, content)
        self.open_userids: dict[str, str] = {}  # open_userid -> userid (batch/openuserid_to_userid)
        # What message/send delivered to members: a request equal to one sent within its
        # duplicate_check_interval (enable_duplicate_check: 1, path/90236) is answered ok, not delivered.
        self.delivered: list[dict[str, Any]] = []
        self._sent_at: dict[str, float] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                fake._serve(self, None)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("multipart/form-data"):
                    body = form_data(ctype, raw)
                else:
                    try:
                        body = json.loads(raw.decode("utf-8"))
                    except ValueError:
                        body = raw
                fake._serve(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWecom:
        self._thread = serve_in_background(self._server)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            stop_serving(self._server, self._thread)

    def script(self, path: str, *answers: tuple[int, Any]) -> None:
        """The next calls to `path` get these (HTTP status, JSON body) answers, in order."""
        self._scripted[path].extend(answers)

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def _serve(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.calls.append(Call(handler.command, url.path, query, body))
            scripted = self._scripted[url.path].popleft() if self._scripted[url.path] else None
            status, answer = scripted or self._default(url.path, query, body)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _deliver_unless_repeated(self, body: Any) -> None:
        checked = isinstance(body, dict) and body.get("enable_duplicate_check") == 1
        same = json.dumps(body, sort_keys=True, ensure_ascii=False)
        interval = float(body.get("duplicate_check_interval", 1800)) if checked else 0.0
        if checked and time.monotonic() - self._sent_at.get(same, -1e12) < min(interval, 4 * 3600):
            return
        self._sent_at[same] = time.monotonic()
        self.delivered.append(body)

    def _default(self, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        ok = {"errcode": 0, "errmsg": "ok"}
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != CORP_ID or query.get("corpsecret") != SECRET:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"token-{next(self._tokens)}"
            self.valid_tokens.add(token)
            return 200, {**ok, "access_token": token, "expires_in": 7200}
        if path == "/cgi-bin/message/send":
            if query.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            self._deliver_unless_repeated(body)
            return 200, {**ok, "invaliduser": "", "msgid": "m1"}
        if path == "/cgi-bin/media/upload":
            if query.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            part = body.get("media") if isinstance(body, dict) else None
            if query.get("type") != "file" or part is None:
                return 200, {"errcode": 40004, "errmsg": "invalid media type"}
            media_id = f"media-{len(self.media) + 1}"
            self.media[media_id] = part
            return 200, {**ok, "type": "file", "media_id": media_id, "created_at": "1700000000"}
        if path == "/cgi-bin/webhook/send":
            if query.get("key") != WEBHOOK_KEY:
                return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
            return 200, ok
        if path == "/cgi-bin/batch/openuserid_to_userid":
            if query.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            asked = body.get("open_userid_list", []) if isinstance(body, dict) else []
            known = [
                {"open_userid": o, "userid": self.open_userids[o]} for o in asked if o in self.open_userids
            ]
            invalid = [o for o in asked if o not in self.open_userids]
            return 200, {**ok, "userid_list": known, "invalid_open_userid_list": invalid}
        if path == "/cgi-bin/aibot/response":
            return 200, ok
        return 404, {"errcode": 404, "errmsg": "no such path"}


def push_settings(config: dict, api_base: str) -> Settings:
    """`config` with the self-built app and 第一联络组's push bot pointed at a fake at `api_base`."""
    app = {"agent_id": "1000002", "secret": SECRET, "token": "t", "encoding_aes_key": AES_KEY}
    return settings_from_dict(
        {
            **config,
            "wecom": {"corp_id": CORP_ID, "api_base": api_base, "app": app},
            "groups": [{"name": "第一联络组", "wecom": {"webhook_key": WEBHOOK_KEY}}],
        },
        "test",
    )
