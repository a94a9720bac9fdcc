"""A local WeCom smart-bot long-connection gateway on 127.0.0.1 (doc 101463's frames): it takes
aibot_subscribe, answers pings, pushes aibot_msg_callback / aibot_event_callback frames, answers
aibot_respond_msg and aibot_send_msg, and records everything the bot sent. It can refuse the
subscription, stop answering pings, close cleanly, drop the socket, or displace the bot."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

BOT_ID, BOT_SECRET = "aibot-test", "aibot-secret"


class FakeLongConnectionGateway:
    """`with FakeLongConnectionGateway() as gw:`; point wecom.smart_bot.long_connection.url at `gw.url`."""

    def __init__(self, bot_id: str = BOT_ID, secret: str = BOT_SECRET) -> None:
        self.bot_id, self.secret = bot_id, secret
        self.refuse_subscribe = False  # answer aibot_subscribe with errcode 40058 (wrong secret)
        self.answer_pings = True
        self.send_errcodes: list[int] = []  # the next aibot_send_msg answers, then 0
        self.connections = 0  # sockets accepted
        self.subscribed = 0  # subscriptions accepted
        self.received: list[dict] = []  # every frame the bot sent, in order
        self._current: ServerConnection | None = None
        self._cond = threading.Condition()

    # -- what the bot sent --------------------------------------------------------------------

    def frames(self, cmd: str) -> list[dict]:
        with self._cond:
            return [f for f in self.received if f.get("cmd") == cmd]

    def wait_for(self, predicate, timeout: float = 10) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError("the gateway did not see what the test waited for")

    def wait_frames(self, cmd: str, count: int = 1, timeout: float = 10) -> list[dict]:
        self.wait_for(lambda: len([f for f in self.received if f.get("cmd") == cmd]) >= count, timeout)
        return self.frames(cmd)

    def wait_subscribed(self, n: int = 1, timeout: float = 10) -> None:
        self.wait_for(lambda: self.subscribed >= n and self._current is not None, timeout)

    # -- what WeCom sends -------------------------------------------------------------------------

    def push_message(self, body: dict, req_id: str | None = None) -> str:
        """An aibot_msg_callback frame on the live connection; returns its req_id."""
        req_id = req_id or uuid.uuid4().hex
        self._send({"cmd": "aibot_msg_callback", "headers": {"req_id": req_id}, "body": body})
        return req_id

    def push_event(self, eventtype: str) -> str:
        req_id = uuid.uuid4().hex
        body = {
            "msgid": uuid.uuid4().hex,
            "create_time": int(time.time()),
            "aibotid": self.bot_id,
            "from": {"userid": "zhangsan"},
            "msgtype": "event",
            "event": {"eventtype": eventtype},
        }
        self._send({"cmd": "aibot_event_callback", "headers": {"req_id": req_id}, "body": body})
        return req_id

    def close(self) -> None:
        """A clean close (a closing handshake), as WeCom ends a connection it has done with."""
        conn = self._current
        if conn is not None:
            conn.close(1000, "bye")

    def drop(self) -> None:
        """Cut the socket without a closing handshake, as a network fault would."""
        conn = self._current
        if conn is not None:
            conn.socket.shutdown(socket.SHUT_RDWR)
            conn.socket.close()

    def _send(self, frame: dict) -> None:
        self.wait_subscribed(max(self.subscribed, 1))
        self._current.send(json.dumps(frame, ensure_ascii=False))

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeLongConnectionGateway:
        self._server = serve(self._session, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    # -- protocol -----------------------------------------------------------------------------

    def _session(self, conn: ServerConnection) -> None:
        with self._cond:
            self.connections += 1
        try:
            for raw in conn:
                frame = json.loads(raw)
                with self._cond:
                    self.received.append(frame)
                    self._cond.notify_all()
                answer = self._answer(conn, frame)
                if answer is not None:
                    conn.send(json.dumps(answer))
        except (ConnectionClosed, OSError):
            pass  # closed or dropped
        finally:
            with self._cond:
                if self._current is conn:
                    self._current = None
                self._cond.notify_all()

    def _answer(self, conn: ServerConnection, frame: dict) -> dict | None:
        req_id = frame.get("headers", {}).get("req_id", "")
        ok = {"headers": {"req_id": req_id}, "errcode": 0, "errmsg": "ok"}
        cmd = frame.get("cmd")
        if cmd == "aibot_subscribe":
            body = frame.get("body", {})
            if self.refuse_subscribe or (body.get("bot_id"), body.get("secret")) != (
                self.bot_id,
                self.secret,
            ):
                return {**ok, "errcode": 40058, "errmsg": "invalid bot_id or secret"}
            with self._cond:
                self.subscribed += 1
                self._current = conn
                self._cond.notify_all()
            return ok
        if cmd == "ping":
            return ok if self.answer_pings else None
        if cmd == "aibot_send_msg" and self.send_errcodes:
            code = self.send_errcodes.pop(0)
            return {**ok, "errcode": code, "errmsg": "refused"}
        return ok  # aibot_respond_msg, aibot_send_msg
