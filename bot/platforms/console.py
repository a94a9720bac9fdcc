"""The local console: a terminal conversation with the bot through the same pipeline.

Lines come from standard input (typed or piped); `/as NAME` switches the speaker; a line ending
with `\\` goes on in the next one (a note's 标题 and 内容 in one message). Members are recognised by
their roster name, so no platform account is needed. With a group's chat (`chat --group NAME`)
the console is that group's chat: chatter gets no answer, the chat belongs to that liaison group,
and an answer's @-mentions are shown as the group sees them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable

from bot.descriptor import PlatformDescriptor
from bot.messages import Incoming, Person, Reply
from bot.pipeline import Pipeline

CHANNEL = "console"
# The console speaks by roster name (no account to bind) and sends nothing itself (no file either):
# with console.enabled, it is where the outbox logs what no platform can deliver. Its group chats
# exist only for `chat --group` (a chat binding named after the group, made on demand).
DESCRIPTOR = PlatformDescriptor(
    family="console",
    channels=(CHANNEL,),
    label="控制台",
    member_column="name",
    bindable=False,
    fallback=True,
)
HELP = "（输入消息与机器人对话；行末加 \\ 换行接着写；/as 姓名 切换发言人；/quit 或 Ctrl-D 退出）"
SILENT = "（机器人没有回复）"
CONTINUE = "\\"


def _mentioned(mentions: tuple[Person, ...]) -> str:
    return " ".join(f"@{p.name}" for p in mentions)


def render(reply: Reply | None, *, in_group: bool = False) -> list[str]:
    """The lines printed for one answer: the reply, then any notices it sent to others; in a
    group's chat, the @-mentions on a line of their own, as the platforms send them."""
    if reply is None:
        return [SILENT]
    lines = [reply.text]
    if in_group and reply.mentions:
        lines.append(_mentioned(reply.mentions))
    for n in reply.notices:
        at = f" {_mentioned(n.mentions)}" if in_group and n.mentions else ""
        lines.append(f"  → 已通知：{n.text}{at}")
    return lines


class Console:
    def __init__(
        self,
        pipeline: Pipeline,
        clock: Callable[[], dt.datetime],
        knows: Callable[[str], bool],
        speaker: str,
        *,
        chat_id: str | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._clock = clock
        self._knows = knows
        self.speaker = speaker
        self.chat_id = chat_id  # a group's chat (its binding's chat id); None: one-to-one

    def say(self, text: str) -> Reply | None:
        now = self._clock()
        incoming = Incoming(
            platform=CHANNEL,
            chat_id=self.chat_id,
            sender_id=self.speaker,
            sender_name=self.speaker,
            text=text,
            msg_id=f"console-{uuid.uuid4().hex}",
            sent_at=now,
            is_group=self.chat_id is not None,
        )
        return self._pipeline.handle(incoming, now).reply

    def _prompt_text(self) -> str:
        return f"[{self.chat_id}] {self.speaker}> " if self.chat_id else f"{self.speaker}> "

    def run(self, lines: Iterable[str], out: Callable[[str], None], prompt: Callable[[str], None]) -> None:
        prompt(self._prompt_text())
        held: list[str] = []  # lines ended with "\": the message goes on
        for raw in lines:
            line = raw.strip()
            if line.endswith(CONTINUE):
                held.append(line[: -len(CONTINUE)].rstrip())
                prompt("… ")
                continue
            if held:
                self._send("\n".join([*held, line]).strip(), out)
                held = []
            elif line in ("/quit", "/exit"):
                return
            elif line.startswith("/as"):
                self._switch(line[3:].strip(), out)
            elif line:
                self._send(line, out)
            prompt(self._prompt_text())
        if held:  # the input ended inside a message: send what was written
            self._send("\n".join(held).strip(), out)

    def _send(self, text: str, out: Callable[[str], None]) -> None:
        if text:
            for line in render(self.say(text), in_group=self.chat_id is not None):
                out(line)

    def _switch(self, name: str, out: Callable[[str], None]) -> None:
        if not name:
            out(f"当前发言人：{self.speaker}")
        elif self._knows(name):
            self.speaker = name
            out(f"（现在以 {name} 的身份发言）")
        else:
            out(f"花名册里没有“{name}”，发言人仍是 {self.speaker}")
