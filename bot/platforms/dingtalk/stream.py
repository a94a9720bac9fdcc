"""DingTalk Stream mode: the app robot's messages over a websocket DingTalk opens for us (no public IP).

Frames are read by the same `parse_robot_message` (and files fetched by the same `RobotFiles`) as the HTTP callback; answers leave via the
outbox (sessionWebhook). Exactly one Stream client runs per database: `streams.run_all` holds the `SingleProcessLock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import requests
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotMessage, Credential, DingTalkStreamClient
from dingtalk_stream.frames import CallbackMessage
from dingtalk_stream.version import VERSION_STRING

from bot.delivery import Delivery
from bot.messages import Incoming
from bot.pipeline import APOLOGY
from bot.platforms import json_body
from bot.platforms.answering import handle_stored
from bot.platforms.dingtalk import FAMILY
from bot.platforms.dingtalk.cards import CALLBACK_TOPIC, Click, card_update, click_of
from bot.platforms.dingtalk.inbound import CHANNEL, BadMessage, RobotFiles, parse_robot_message
from bot.platforms.dingtalk.push import DingtalkPushClient

__all__ = ["StreamClient"]

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

OPEN_CONNECTION_PATH = "/v1.0/gateway/connections/open"


class _RobotMessages(CallbackHandler):
    """Topic /v1.0/im/bot/messages/get: store the message, then ACK; not stored by the deadline, a
    non-200 ACK (the store goes on, and tells the member if it fails for good: `handle_data`)."""

    def __init__(self, client: StreamClient) -> None:
        super().__init__()
        self.logger = log
        self._client = client

    async def raw_process(self, callback_message: CallbackMessage) -> AckMessage:
        # The SDK puts the text only in data.response; the protocol doc's ACK also carries it in "message".
        ack = await super().raw_process(callback_message)
        ack.message = ack.data["response"]
        return ack

    async def process(self, message: CallbackMessage) -> tuple[int, str]:
        work = asyncio.ensure_future(asyncio.to_thread(self._client.handle_data, message.data))
        try:
            await asyncio.wait_for(asyncio.shield(work), self._client.ack_deadline)
        except TimeoutError:
            # Not stored yet (a database that hangs): never ACK what is not stored. DingTalk
            # delivers the frame again; if this run commits meanwhile, that one is a duplicate.
            log.warning(
                "dingtalk stream frame %s not stored in time; not acknowledged", message.headers.message_id
            )
            work.add_done_callback(_log_failure)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "retry later"
        except BadMessage as err:
            log.warning("dingtalk stream frame %s refused: %s", message.headers.message_id, err)
            return AckMessage.STATUS_BAD_REQUEST, "bad message"
        return AckMessage.STATUS_OK, "OK"


class _CardClicks(CallbackHandler):
    """Topic /v1.0/card/instances/callback: a click on a leader's card, decided within the ACK
    deadline and answered in the ACK itself (the card's status updated for everyone)."""

    def __init__(self, client: StreamClient) -> None:
        super().__init__()
        self.logger = log
        self._client = client

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        click = click_of(message.data)
        if click is None:
            log.info("dingtalk card callback %s is not a click on our buttons", message.headers.message_id)
            return AckMessage.STATUS_OK, {}
        work = asyncio.ensure_future(
            asyncio.to_thread(self._client.handle_click, click, message.headers.message_id or "")
        )
        try:
            answer = await asyncio.wait_for(asyncio.shield(work), self._client.ack_deadline)
        except TimeoutError:
            # Not decided in time: a non-200 ACK, the card unchanged, so the leader may click again.
            work.add_done_callback(_log_failure)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "retry later"
        except Exception:  # a database down: the card stays as it was, to be clicked again
            log.exception("dingtalk card click %s failed", message.headers.message_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "retry later"
        return AckMessage.STATUS_OK, card_update(answer) if answer else {}


def _log_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("dingtalk stream frame failed after the ACK deadline", exc_info=future.exception())


class StreamClient(DingTalkStreamClient):
    """The SDK's client with our connection loop.

    Reused from dingtalk-stream 0.24.3: frame classes, CallbackHandler and `route_message` (ACK
    format `{"code":200,"headers":{"contentType","messageId"},"message":"OK","data":...}`, SYSTEM
    ping/disconnect). Replaced: `open_connection`, because the SDK posts to a module constant read
    from the environment at import (no per-client endpoint, so tests could not point it at a local
    gateway) and without a timeout; and `start`, because the SDK's loop catches CancelledError and
    retries every 10 s forever, so it can neither back off nor be stopped.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        ack_deadline: float = 2.0,
        store_seconds: float = 30.0,
        store_pause_seconds: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        ding = runtime.settings.dingtalk
        super().__init__(Credential(ding.app_key, ding.app_secret), logger=log)
        self.runtime = runtime
        self.open_url = ding.api_base.rstrip("/") + OPEN_CONNECTION_PATH
        self.ack_deadline = ack_deadline
        self.store_seconds, self.store_pause_seconds = store_seconds, store_pause_seconds
        self._backoff = (backoff_initial, backoff_max)
        self._http = session or requests.Session()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._frames: set[asyncio.Task] = set()
        self._was_connected = False
        self.started = threading.Event()  # set once the loop runs (stop() works from then on)
        self.register_callback_handler(ChatbotMessage.TOPIC, _RobotMessages(self))
        if ding.card_template_id:  # the leaders' cards are sent: their clicks come on this topic
            self.register_callback_handler(CALLBACK_TOPIC, _CardClicks(self))
        self._files = RobotFiles(runtime)  # files and pictures, fetched before the message is stored

    # -- one message ------------------------------------------------------------------------

    def handle_data(self, data: Any) -> None:
        """Store and answer one robot message (runs in a worker thread). A redelivered frame finds
        the first record; its answer's outbox key already exists, so nothing is sent twice.

        DingTalk does not push a robot message again after a non-200 ACK (Stream protocol FAQ), so
        a database error is tried again here for `store_seconds`; a message still not stored is
        answered through its sessionWebhook, directly (the outbox is in that database), saying so."""
        incoming, msgtype = parse_robot_message(data, self.runtime.settings.tz, self.runtime.now())
        if incoming is None:
            log.info("dingtalk %s message not handled", msgtype)
            return
        outcome = handle_stored(
            self._files.handler(data),
            incoming,
            self.runtime.now,
            within_seconds=self.store_seconds,
            pause_seconds=self.store_pause_seconds,
        )
        if outcome is None:
            client = self.runtime.platforms.client(FAMILY) or DingtalkPushClient(self.runtime.settings)
            told = client.send(Delivery("reply", APOLOGY, dict(incoming.reply_handle or {})))
            log.warning("dingtalk %s not recorded; member told: %s", incoming.msg_id, told.status)
        elif outcome.reply is not None:
            self.runtime.answer_late(incoming, outcome.reply)

    def handle_click(self, click: Click, frame_id: str) -> str | None:
        """A card's button read as the clicker typing its words (runs in a worker thread): the
        answer, for the card's status. The frame's id keys it, so a redelivered frame is one."""
        now = self.runtime.now()
        incoming = Incoming(
            platform=CHANNEL,
            chat_id=None,
            sender_id=click.user_id[:128],
            sender_name=None,
            text=click.words[:200],
            msg_id=f"card:{frame_id}"[:128],
            sent_at=now,
            is_group=False,
            reply_handle={"userid": click.user_id},
        )
        outcome = self.runtime.pipeline.handle(incoming, now)
        return outcome.reply.text if outcome.reply is not None else None

    # -- connection -------------------------------------------------------------------------

    def open_connection(self) -> dict[str, Any] | None:
        """POST /v1.0/gateway/connections/open → {"endpoint": "wss://...", "ticket": "..."} (Stream protocol doc)."""
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map],
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-lvzhi",
            "localIp": "",
        }
        try:
            resp = self._http.post(self.open_url, json=body, timeout=10)
        except requests.RequestException as err:
            log.warning("dingtalk stream: open connection failed: %s", type(err).__name__)
            return None
        if not resp.ok:
            log.warning("dingtalk stream: open connection refused: HTTP %s", resp.status_code)
            return None
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not answer.get("endpoint") or not answer.get("ticket"):
            log.warning("dingtalk stream: open connection answered without endpoint/ticket")
            return None
        return answer

    async def start(self) -> None:
        """Connect, read frames, reconnect with exponential backoff after any drop, until `stop()`."""
        self.pre_start()
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.started.set()
        delay = self._backoff[0]
        try:
            while not self._stopping.is_set():
                connection = await asyncio.to_thread(self.open_connection)
                if connection is not None and not self._stopping.is_set():
                    self._was_connected = False
                    try:
                        await self._session(connection)
                    except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as err:
                        log.warning("dingtalk stream: connection lost: %s", type(err).__name__)
                    if self._was_connected:
                        delay = self._backoff[0]  # it was up: the next drop starts the backoff afresh
                if self._stopping.is_set():
                    break
                log.info("dingtalk stream: reconnecting in %.1fs", delay)
                with contextlib.suppress(TimeoutError):  # woken early by stop()
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, self._backoff[1])
        finally:
            if self._frames:  # let frames in flight finish their ACK (bounded)
                await asyncio.wait(self._frames, timeout=5)
            log.info("dingtalk stream: stopped")

    async def _session(self, connection: dict[str, Any]) -> None:
        uri = f"{connection['endpoint']}?ticket={quote_plus(connection['ticket'])}"
        # websockets' own keepalive replaces the SDK's 60 s ping task.
        async with websockets.connect(uri, open_timeout=10, ping_interval=30, ping_timeout=20) as ws:
            self.websocket = ws
            self._was_connected = True
            log.info("dingtalk stream: connected")
            # stop() may come at any moment, even during the handshake: close from here, not from stop().
            closer = asyncio.create_task(self._close_on_stop(ws))
            try:
                async for raw in ws:
                    try:
                        frame = json_body.loads(raw)
                    except ValueError:
                        log.warning("dingtalk stream: unreadable frame ignored")
                        continue
                    task = asyncio.create_task(self.background_task(frame))
                    self._frames.add(task)
                    task.add_done_callback(self._frames.discard)
            finally:
                closer.cancel()
        if not self._stopping.is_set():
            log.warning("dingtalk stream: connection closed by the gateway")

    async def _close_on_stop(self, ws: Any) -> None:
        await self._stopping.wait()
        await ws.close()

    def stop(self) -> None:
        """Close the connection and end `start()`; safe from any thread."""
        loop, stopping = self._loop, self._stopping
        if loop is None or stopping is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(stopping.set)
