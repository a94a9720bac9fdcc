"""The local console: a terminal conversation with the bot through the same pipeline.

Lines come from standard input (typed or piped); `/as NAME` switches the speaker.
Members are recognised by their roster name, so no platform account is needed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable

from bot.descriptor import PlatformDescriptor
from bot.messages import Incoming, Reply
from bot.pipeline import Pipeline

CHANNEL = "console"
# The console speaks by roster name (no account to bind), has no group chats and sends nothing
# itself (no file either): with console.enabled, it is where the outbox logs what no platform can
# deliver.
DESCRIPTOR = PlatformDescriptor(
    family="console",
    channels=(CHANNEL,),
    label="控制台",
    member_column="name",
    bindable=False,
    fallback=True,
)
HELP = "（输入消息与机器人对话；/as 姓名 切换发言人；/quit 或 Ctrl-D 退出）"


def render(reply: Reply | None) -> list[str]:
    """The lines printed for one answer: the reply, then any notices it sent to others."""
    if reply is None:
        return ["（机器人没有回复）"]
    lines = [reply.text]
    lines += [f"  → 已通知：{n.text}" for n in reply.notices]
    return lines


class Console:
    def __init__(
        self,
        pipeline: Pipeline,
        clock: Callable[[], dt.datetime],
        knows: Callable[[str], bool],
        speaker: str,
    ) -> None:
        self._pipeline = pipeline
        self._clock = clock
        self._knows = knows
        self.speaker = speaker

    def say(self, text: str) -> Reply | None:
        now = self._clock()
        incoming = Incoming(
            platform=CHANNEL,
            chat_id=None,
            sender_id=self.speaker,
            sender_name=self.speaker,
            text=text,
            msg_id=f"console-{uuid.uuid4().hex}",
            sent_at=now,
            is_group=False,
        )
        return self._pipeline.handle(incoming, now).reply

    def run(self, lines: Iterable[str], out: Callable[[str], None], prompt: Callable[[str], None]) -> None:
        prompt(f"{self.speaker}> ")
        for raw in lines:
            line = raw.strip()
            if line in ("/quit", "/exit"):
                return
            if line.startswith("/as"):
                name = line[3:].strip()
                if not name:
                    out(f"当前发言人：{self.speaker}")
                elif self._knows(name):
                    self.speaker = name
                    out(f"（现在以 {name} 的身份发言）")
                else:
                    out(f"花名册里没有“{name}”，发言人仍是 {self.speaker}")
            elif line:
                for text in render(self.say(line)):
                    out(text)
            prompt(f"{self.speaker}> ")
