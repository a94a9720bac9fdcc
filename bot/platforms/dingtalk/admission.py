"""Who may reach the robot callback, and with what: the checks before a DingTalk body is read as a
message. DingTalk's `sign` covers only the timestamp (HMAC-SHA256 of timestamp + "\\n" + appSecret),
not the body, so a captured pair would sign any body for the hour the timestamp stays fresh. So:

- an IP allowlist (`dingtalk.allowed_ips`, CIDRs; empty: any address), checked first;
- the signature and its freshness (sign.py);
- each (timestamp, sign) signs one message: a second body under it is refused, while the same
  message again (DingTalk delivering it once more) passes and is deduplicated by its msgId;
- the body's robotCode and chatbotCorpId must be ours when configured (`robot_code`, `corp_id`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.config import DingtalkSettings


def address_allowed(ding: DingtalkSettings, remote_addr: str | None) -> bool:
    if not ding.allowed_ips:
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in ding.allowed_ips)


def foreign_ids(ding: DingtalkSettings, body: dict[str, Any]) -> str | None:
    """Why the body is not for our robot in our organisation, or None."""
    if ding.robot_code and body.get("robotCode") != ding.robot_code:
        return "robotCode does not match dingtalk.robot_code"
    if ding.corp_id and body.get("chatbotCorpId") != ding.corp_id:
        return "chatbotCorpId does not match dingtalk.corp_id"
    return None
