"""The WeCom smart bot's long connection (智能机器人长连接, doc 101463): no public URL, no crypto.

Our own client on `websockets` (the official Python SDK delivers a repeated msgid twice, never
reconnects after a clean close, ignores disconnected_event and gives up after 10 reconnects).
Frames, as the doc and the official SDKs send them: `{cmd, headers: {req_id}, body}` out, and an
answer `{headers: {req_id}, errcode, errmsg}` without cmd back.

- `aibot_subscribe` {bot_id, secret} first; an errcode other than 0 is a refusal (logged, retried
  with backoff like a drop: the bot may be re-enabled in the console).
- `{"cmd": "ping"}` every 30 s; two pings without an answer mean a dead link: reconnect.
- `aibot_msg_callback`: the callback mode's JSON (path/100719), read by the callback's own reader
  and run through the same pipeline (msgid dedup in the database). Nothing is sent for a message
  before it is stored: its answer is one finished stream (`aibot_respond_msg` echoing the
  callback's req_id), one frame in flight per req_id with its answer awaited. An answer not ready
  within `wecom.reply_deadline_seconds` (WeCom gives a callback 5 s) goes into the chat by
  `aibot_send_msg` through the outbox. A message the database would not take, after trying again
  for a while, is answered that it was not recorded.
- `aibot_event_callback` with `disconnected_event`: another connection took the bot. Stop and say
  so; reconnecting would only take it back and forth.
- A clean close or a dropped socket: reconnect with exponential backoff and jitter, without limit.
- `aibot_send_msg` (proactive push into a chat where someone has written) for the outbox: the push
  client calls `send_msg` from its own thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import random
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import websockets
import websockets.exceptions

from bot.delivery import SendResult
from bot.messages import Incoming
from bot.pipeline import APOLOGY
from bot.platforms import json_body
from bot.platforms.answering import handle_stored
from bot.platforms.download import Fetcher
from bot.platforms.http_push import trim
from bot.platforms.wecom.crypto import CallbackError
from bot.platforms.wecom.identity import SenderIds
from bot.platforms.wecom.inbound import _READ_AS_TEXT, _WITH_FILES, STREAM_LIMIT, MediaFiles, _said, _SmartBot
from bot.platforms.wecom.push import AIBOT_CHATID, AIBOT_LIMIT

if TYPE_CHECKING:
    from bot.pipeline import Outcome
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

SUBSCRIBE, PING = "aibot_subscribe", "ping"
MESSAGE, EVENT = "aibot_msg_callback", "aibot_event_callback"
RESPOND, SEND = "aibot_respond_msg", "aibot_send_msg"
DISCONNECTED = "disconnected_event"
MISSED_PINGS = 2  # answers missing in a row before the link counts as dead (the SDKs' figure)
_RATE_LIMITED = {45009, 45033}  # errcodes of "too often" (path/90313): tried again after a minute
_ENDED = (OSError, TimeoutError, websockets.exceptions.WebSocketException)


class Displaced(Exception):
    """disconnected_event: a newer connection of the same bot took over."""


class _Refused(Exception):
    """aibot_subscribe answered with an errcode."""


class _DeadLink(Exception):
    """Pings went unanswered."""


def _req_id(cmd: str) -> str:
    return f"{cmd}_{int(time.time() * 1000)}_{uuid.uuid4().hex[:8]}"  # as the SDKs: prefix, ms, random


class _Frames(_SmartBot):
    """The callback's own reading of a message (doc 101463 消息推送格式 is path/100719's JSON),
    without its crypto: the long connection is not encrypted."""

    def __init__(self, runtime: Runtime) -> None:  # noqa: D107 - no CallbackCrypto to build
        self.runtime = runtime
        # Files and pictures: each with its own `aeskey` in this mode (doc 101463), no EncodingAESKey.
        self.files = MediaFiles(runtime, b"")

    def read(self, body: Any) -> tuple[Incoming, list[Fetcher]] | None:
        """The message as an `Incoming` answering into its chat, and a fetcher per file in it; None
        for what the pipeline does not take (an empty transcript, events); CallbackError if unreadable."""
        if not isinstance(body, dict):
            raise CallbackError(400, "message body is not an object")
        kind = body.get("msgtype")
        fetchers: list[Fetcher] = []
        if kind in _WITH_FILES:
            incoming, fetchers = self.files.read(self, body)
        elif kind not in _READ_AS_TEXT or (kind == "voice" and not (_said(body) or "").strip()):
            return None
        else:
            incoming = self._incoming(body)
        # A late answer goes into the same chat: the group's chatid, one-to-one the sender's id as
        # the bot knows it (aibot_send_msg's chatid, doc 101463).
        chat = incoming.chat_id if incoming.is_group else incoming.sender_id
        return dataclasses.replace(incoming, reply_handle={AIBOT_CHATID: chat}), fetchers


class LongConnection:
    """One smart bot's long connection, from `start()` (a coroutine) until `stop()` or displacement."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        ping_seconds: float = 30.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        answer_seconds: float = 5.0,
        store_seconds: float = 30.0,
        store_pause_seconds: float = 0.5,
        outbox_seconds: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        wecom = runtime.settings.wecom
        lc = wecom.smart_bot.long_connection
        self.runtime = runtime
        self.url, self._bot_id, self._secret = lc.url, lc.bot_id, lc.secret
        self.ping_seconds = ping_seconds
        self.reply_seconds = wecom.reply_deadline_seconds
        self.answer_seconds = answer_seconds  # how long an answer of WeCom's is awaited
        self.store_seconds, self.store_pause_seconds = store_seconds, store_pause_seconds
        self.outbox_seconds = outbox_seconds
        self._backoff = (backoff_initial, backoff_max)
        self._rng = rng or random.Random()
        self._frames = _Frames(runtime)
        self._sender_ids = SenderIds.of(runtime)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ws: Any = None  # the subscribed connection, None while down
        self._answers: dict[str, asyncio.Future] = {}  # req_id -> the answer frame awaited
        self._in_flight: dict[str, asyncio.Lock] = {}  # req_id -> its one frame in flight
        self._tasks: set[asyncio.Task] = set()
        self._missed = 0
        self.subscriptions = 0  # connections WeCom accepted (for the log and the tests)
        self.displaced = False
        self.started = threading.Event()
        push = runtime.platforms.client("wecom")
        if push is not None and hasattr(push, "long_connection"):
            push.long_connection = self  # aibot_send_msg for the outbox goes through this connection

    # -- the connection ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, subscribe, read; reconnect after any drop with backoff and jitter, until stopped."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.started.set()
        delay = self._backoff[0]
        try:
            while not self._stopping.is_set():
                subscribed_before = self.subscriptions
                try:
                    await self._session()
                except Displaced:
                    self.displaced = True
                    log.error(
                        "企业微信长连接：同一机器人的另一个连接已建立，本连接被断开（disconnected_event）。"
                        "不再重连；请确认只运行一个 python app.py stream。"
                    )
                    return
                except _Refused as err:
                    log.error("企业微信长连接：订阅被拒绝（%s），请检查 bot_id 和 secret", err)
                except (*_ENDED, _DeadLink) as err:
                    log.warning("wecom long connection lost: %s", type(err).__name__)
                if self._stopping.is_set():
                    break
                if self.subscriptions > subscribed_before:
                    delay = self._backoff[0]  # it was up: the next drop starts the backoff afresh
                # Equal jitter: half fixed, half random, so many bots do not reconnect in step.
                wait = delay / 2 + self._rng.uniform(0, delay / 2)
                log.info("wecom long connection: reconnecting in %.1fs", wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), wait)
                delay = min(delay * 2, self._backoff[1])
        finally:
            if self._tasks:  # messages being stored finish (bounded)
                await asyncio.wait(self._tasks, timeout=5)
            log.info("wecom long connection: stopped")

    async def _session(self) -> None:
        async with websockets.connect(self.url, open_timeout=10, ping_interval=None, close_timeout=2) as ws:
            reader = asyncio.create_task(self._read(ws))
            closer = asyncio.create_task(self._close_on_stop(ws))
            pinger: asyncio.Task | None = None
            try:
                body = {"bot_id": self._bot_id, "secret": self._secret}
                answer = await self._ask(ws, SUBSCRIBE, _req_id(SUBSCRIBE), body, reader)
                if answer.get("errcode") != 0:
                    raise _Refused(f"errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip())
                self._ws, self._missed = ws, 0
                self.subscriptions += 1
                log.info("wecom long connection: subscribed")
                pinger = asyncio.create_task(self._ping(ws))
                outbox = asyncio.create_task(self._deliver_outbox())
                done, _ = await asyncio.wait({reader, pinger}, return_when=asyncio.FIRST_COMPLETED)
                outbox.cancel()
                if pinger in done and pinger.exception() is not None:
                    ws.transport.abort()  # a dead link does not answer a closing handshake either
                for task in done:
                    task.result()
            finally:
                self._ws = None
                for task in (reader, closer, pinger):
                    if task is not None:
                        task.cancel()
                for waiting in self._answers.values():
                    if not waiting.done():
                        waiting.set_exception(ConnectionError("long connection closed"))
                self._answers.clear()

    async def _read(self, ws: Any) -> None:
        async for raw in ws:
            try:
                frame = json_body.loads(raw)
            except ValueError:
                log.warning("wecom long connection: unreadable frame ignored")
                continue
            if not isinstance(frame, dict):
                continue
            cmd = frame.get("cmd")
            if cmd == MESSAGE:
                self._spawn(self._on_message(frame))
            elif cmd == EVENT:
                self._on_event(frame)
            else:
                self._on_answer(frame)
        if not self._stopping.is_set():
            log.warning("wecom long connection: closed by WeCom")

    def _on_event(self, frame: dict[str, Any]) -> None:
        body = frame.get("body") if isinstance(frame.get("body"), dict) else {}
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        if event.get("eventtype") == DISCONNECTED:
            raise Displaced
        # enter_chat, feedback, template_card_event: nothing the pipeline takes (as in callback mode).
        log.info("wecom long connection: event %s ignored", event.get("eventtype", ""))

    def _on_answer(self, frame: dict[str, Any]) -> None:
        headers = frame.get("headers") if isinstance(frame.get("headers"), dict) else {}
        waiting = self._answers.pop(str(headers.get("req_id", "")), None)
        if waiting is not None and not waiting.done():
            waiting.set_result(frame)

    async def _ask(self, ws: Any, cmd: str, req_id: str, body: dict | None, *watch: asyncio.Task) -> dict:
        """Send one frame and wait for WeCom's answer to its req_id (ConnectionError if it closes)."""
        waiting = self._loop.create_future()
        self._answers[req_id] = waiting
        frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
        if body is not None:
            frame["body"] = body
        try:
            await ws.send(json.dumps(frame, ensure_ascii=False))
            done, _ = await asyncio.wait(
                {waiting, *watch}, timeout=self.answer_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if waiting not in done:
                for task in done:
                    task.result()  # the reader ended: its error, or the socket closed
                raise TimeoutError(f"no answer to {cmd}") if not done else ConnectionError("closed")
            return waiting.result()
        finally:
            self._answers.pop(req_id, None)

    async def _ping(self, ws: Any) -> None:
        """A ping every `ping_seconds`; MISSED_PINGS unanswered in a row: a dead link."""
        while True:
            await asyncio.sleep(self.ping_seconds)  # the heartbeat's period, not a wait for an event
            if self._missed >= MISSED_PINGS:
                raise _DeadLink
            self._missed += 1
            req_id = _req_id(PING)
            waiting = self._loop.create_future()
            waiting.add_done_callback(self._pinged)
            self._answers[req_id] = waiting
            await ws.send(json.dumps({"cmd": PING, "headers": {"req_id": req_id}}))

    def _pinged(self, answer: asyncio.Future) -> None:
        if not answer.cancelled() and answer.exception() is None and answer.result().get("errcode") == 0:
            self._missed = 0

    async def _close_on_stop(self, ws: Any) -> None:
        await self._stopping.wait()
        await ws.close()

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        """Close the connection and end `start()`; safe from any thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)

    # -- one message ---------------------------------------------------------------------------

    async def _on_message(self, frame: dict[str, Any]) -> None:
        headers = frame.get("headers") if isinstance(frame.get("headers"), dict) else {}
        req_id = str(headers.get("req_id", ""))
        try:
            read = self._frames.read(frame.get("body"))
        except CallbackError as err:
            log.warning("wecom long connection: message refused: %s", err.reason)
            return
        if read is None:
            log.info("wecom long connection: %s message ignored", (frame.get("body") or {}).get("msgtype"))
            return
        incoming, fetchers = read
        work = asyncio.ensure_future(asyncio.to_thread(self._store, incoming, fetchers))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(work), self.reply_seconds)
        except TimeoutError:
            outcome = await work  # too late for the reply: the answer goes into the chat instead
            await self._answer_later(incoming, outcome)
            return
        if outcome is None:
            await self._respond(req_id, incoming, APOLOGY)  # not recorded, and the member is told so
        elif (
            outcome.reply is not None
            and not outcome.duplicate
            and not await self._respond(req_id, incoming, outcome.reply.text)
        ):
            await asyncio.to_thread(self.runtime.answer_late, incoming, outcome.reply)  # into the chat

    def _store(
        self, incoming: Incoming, fetchers: tuple[Fetcher, ...] | list[Fetcher] = ()
    ) -> Outcome | None:
        """The pipeline's run (a worker thread), the message's files fetched first; tried again
        while the database is down (a file already stored is not fetched again)."""

        def handle(message: Incoming, now: dt.datetime) -> Outcome:
            return self.runtime.pipeline.handle(self._sender_ids(message), now)

        return handle_stored(
            self._frames.files.handler(handle, list(fetchers)) if fetchers else handle,
            incoming,
            self.runtime.now,
            within_seconds=self.store_seconds,
            pause_seconds=self.store_pause_seconds,
        )

    async def _answer_later(self, incoming: Incoming, outcome: Outcome | None) -> None:
        if outcome is None:  # the database is down, so is the outbox: straight into the chat
            chat = (incoming.reply_handle or {})[AIBOT_CHATID]
            await self._send_msg(chat, {"msgtype": "markdown", "markdown": {"content": APOLOGY}})
        elif outcome.reply is not None and not outcome.duplicate:
            log.info("wecom %s answered after the reply deadline: into the chat", incoming.msg_id)
            await asyncio.to_thread(self.runtime.answer_late, incoming, outcome.reply)

    async def _respond(self, req_id: str, incoming: Incoming, text: str) -> bool:
        """The answer as one finished stream on the callback's req_id, its answer awaited."""
        ws = self._ws
        if ws is None:
            return False
        stream = {"id": incoming.msg_id, "finish": True, "content": trim(text, STREAM_LIMIT)}
        lock = self._in_flight.setdefault(req_id, asyncio.Lock())
        try:
            async with lock:  # one frame in flight per req_id
                answer = await self._ask(ws, RESPOND, req_id, {"msgtype": "stream", "stream": stream})
        except (*_ENDED, ConnectionError) as err:
            log.warning("wecom %s: reply not confirmed (%s)", incoming.msg_id, type(err).__name__)
            return False
        finally:
            if not lock.locked():
                self._in_flight.pop(req_id, None)
        if answer.get("errcode") != 0:
            log.warning("wecom %s: reply refused: errcode %s", incoming.msg_id, answer.get("errcode"))
        return answer.get("errcode") == 0

    # -- proactive push (the outbox) -------------------------------------------------------------

    def send_msg(self, chatid: str, body: dict[str, Any]) -> SendResult:
        """aibot_send_msg into `chatid`, from a thread other than the connection's; WeCom's answer mapped."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._ws is None:
            return SendResult("retry", "the WeCom long connection is not up")
        future = asyncio.run_coroutine_threadsafe(self._send_msg(chatid, body), loop)
        try:
            return future.result(timeout=self.answer_seconds + 1)
        except TimeoutError:
            future.cancel()
            return SendResult("retry", "no answer to aibot_send_msg")

    async def _send_msg(self, chatid: str, body: dict[str, Any]) -> SendResult:
        ws = self._ws
        if ws is None:
            return SendResult("retry", "the WeCom long connection is not up")
        content = body.get("markdown", {}).get("content")
        if isinstance(content, str):
            body = {**body, "markdown": {"content": trim(content, AIBOT_LIMIT)}}
        try:
            answer = await self._ask(ws, SEND, _req_id(SEND), {"chatid": chatid, **body})
        except (*_ENDED, ConnectionError) as err:
            return SendResult("retry", f"aibot_send_msg: {type(err).__name__}")
        code = answer.get("errcode")
        detail = f"errcode {code} {answer.get('errmsg', '')}".strip()
        if code == 0:
            return SendResult("sent", detail)
        if code in _RATE_LIMITED:
            return SendResult("retry", detail, retry_after=60.0)
        log.warning("wecom aibot_send_msg refused: %s", detail)  # for the admin, not retried forever
        return SendResult("failed", detail)

    async def _deliver_outbox(self) -> None:
        """While subscribed: what the outbox holds for this connection (reminders queued by a
        scheduler in another process), every `outbox_seconds`."""
        deliverer = self.runtime.deliverer
        if deliverer is None:
            return
        while True:
            try:
                await asyncio.to_thread(deliverer.deliver, self.runtime.now(), vias_only=True)
            except Exception:  # a bad round (the database away) must not end the connection
                log.exception("wecom long connection: outbox round failed")
            await asyncio.sleep(self.outbox_seconds)  # a polling period: the rows come from another process
