"""Who a smart-bot sender is: a smart bot may know people by an encrypted open_userid (doc 101521,
depending on who created the bot). With the self-built app configured, the id is converted to the
real userid through the app's token (batch/openuserid_to_userid); without it, the id stays as it is
and 绑定 keeps it in the member's own smart-bot column (models/roster.py, wecom_bot_userid)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.messages import Incoming

if TYPE_CHECKING:
    from bot.platforms.wecom.push import WecomPushClient
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CACHE_SIZE = 10_000  # ids remembered (a province is ~30,000 members, a county a few hundred)


class SenderIds:
    """`incoming` with its sender id made the real userid where the app can say; remembered per id."""

    def __init__(self, client: WecomPushClient | None) -> None:
        self._client = client
        self._known: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, runtime: Runtime) -> SenderIds:
        """Converting when the runtime's WeCom push client has the self-built app's API."""
        client = runtime.platforms.client("wecom") if runtime.settings.wecom.app_api_enabled else None
        return cls(client if hasattr(client, "convert_open_userid") else None)  # type: ignore[arg-type]

    def __call__(self, incoming: Incoming) -> Incoming:
        if self._client is None:
            return incoming
        userid = self._userid(incoming.sender_id)
        return incoming if userid == incoming.sender_id else replace(incoming, sender_id=userid)

    def _userid(self, sender: str) -> str:
        with self._lock:
            if sender in self._known:
                self._known.move_to_end(sender)
                return self._known[sender]
        userid = self._client.convert_open_userid(sender) if self._client else None
        if userid is None:
            return sender  # not known now: matched as it is (a bound smart-bot id still works)
        with self._lock:
            self._known[sender] = userid
            while len(self._known) > CACHE_SIZE:
                self._known.popitem(last=False)
        return userid
