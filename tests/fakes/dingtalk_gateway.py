"""A local DingTalk Stream gateway on 127.0.0.1: POST /v1.0/gateway/connections/open hands out
{endpoint, ticket}; the websocket accepts a ticket once, pushes CALLBACK frames and collects ACKs."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from tests.fakes import serve_in_background, stop_serving

BOT_TOPIC = "/v1.0/im/bot/messages/get"


class FakeGateway:
    """`with FakeGateway(client_id, client_secret) as gw:`; point dingtalk.api_base at `gw.url`."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.opens: list[dict] = []  # bodies of connections/open
        self.refuse_opens = 0  # answer the next N opens with 503
        self.connections = 0  # websockets accepted
        self.acks: dict[str, list[dict]] = {}
        self._tickets: set[str] = set()
        self._current: ServerConnection | None = None
        self._cond = threading.Condition()

    # -- test controls ------------------------------------------------------------------------

    def push(self, data: dict, message_id: str | None = None, topic: str = BOT_TOPIC) -> str:
        """Send one CALLBACK frame on the live connection; returns its messageId."""
        message_id = message_id or uuid.uuid4().hex
        frame = {
            "specVersion": "1.0",
            "type": "CALLBACK",
            "headers": {
                "appId": "fake-app",
                "connectionId": "fake-conn",
                "contentType": "application/json",
                "messageId": message_id,
                "time": str(int(time.time() * 1000)),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }
        conn = self.wait_connected(self.connections or 1)
        conn.send(json.dumps(frame, ensure_ascii=False))
        return message_id

    def ping(self, message_id: str = "ping-1") -> None:
        frame = {"specVersion": "1.0", "type": "SYSTEM", "data": json.dumps({"opaque": "x"}),
                 "headers": {"contentType": "application/json", "messageId": message_id, "topic": "ping"}}  # fmt: skip
        self.wait_connected(self.connections or 1).send(json.dumps(frame))

    def drop(self) -> None:
        """Cut the live connection without a closing handshake, as a network fault would."""
        conn = self._current
        if conn is not None:
            conn.socket.shutdown(socket.SHUT_RDWR)
            conn.socket.close()

    def wait_connected(self, n: int, timeout: float = 10) -> ServerConnection:
        """Block until the n-th websocket is up; returns it."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections >= n and self._current is not None, timeout):
                raise TimeoutError(f"no connection #{n} within {timeout}s")
            return self._current

    def wait_ack(self, message_id: str, count: int = 1, timeout: float = 10) -> dict:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.acks.get(message_id, [])) >= count, timeout):
                raise TimeoutError(f"no ACK #{count} for {message_id} within {timeout}s")
            return self.acks[message_id][count - 1]

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeGateway:
        self._ws = serve(self._session, "127.0.0.1", 0)
        ws_port = self._ws.socket.getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{ws_port}/connect"
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                gw._open(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        # websockets' sync server blocks in accept(): its shutdown() closes the socket, so it is prompt.
        self._ws_thread = threading.Thread(target=self._ws.serve_forever, daemon=True)
        self._ws_thread.start()
        self._http_thread = serve_in_background(self._http)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ws.shutdown()
        self._ws_thread.join(timeout=5)
        stop_serving(self._http, self._http_thread)

    # -- protocol -----------------------------------------------------------------------------

    def _open(self, h: BaseHTTPRequestHandler) -> None:
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)) or b"{}")
        self.opens.append(body)
        if self.refuse_opens > 0:
            self.refuse_opens -= 1
            status, answer = 503, {"code": "ServiceUnavailable", "message": "busy"}
        elif (body.get("clientId"), body.get("clientSecret")) != (self.client_id, self.client_secret):
            status, answer = 401, {"code": "InvalidClient", "message": "clientId or clientSecret wrong"}
        else:
            ticket = uuid.uuid4().hex
            self._tickets.add(ticket)
            status, answer = 200, {"endpoint": self.ws_url, "ticket": ticket}
        data = json.dumps(answer).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _session(self, conn: ServerConnection) -> None:
        ticket = parse_qs(urlsplit(conn.request.path).query).get("ticket", [""])[0]
        if ticket not in self._tickets:
            conn.close(1008, "invalid ticket")
            return
        self._tickets.discard(ticket)  # a ticket opens one connection only
        with self._cond:
            self.connections += 1
            self._current = conn
            self._cond.notify_all()
        try:
            for raw in conn:
                ack = json.loads(raw)
                with self._cond:
                    self.acks.setdefault(ack.get("headers", {}).get("messageId", ""), []).append(ack)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        except OSError:
            pass  # after drop() the socket is gone
        finally:
            with self._cond:
                if self._current is conn:
                    self._current = None
