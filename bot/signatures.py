"""Callback signatures used once. A platform whose signature does not cover the body (DingTalk's
`sign` covers only the timestamp) would let a captured signature carry any body while its
timestamp is fresh; recording which message each signature signed stops that, and lets the same
message through again (a redelivery, deduplicated by its id)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import CallbackSignature


def signs_only(
    sessions: sessionmaker[Session],
    platform: str,
    sign: str,
    msg_id: str,
    now: dt.datetime,
    *,
    keep_seconds: int,
) -> bool:
    """Record that `sign` signed message `msg_id`; False when it already signed another message.
    Signatures older than `keep_seconds` (past the freshness window, refused anyway) are dropped."""
    try:
        with sessions.begin() as session:
            session.execute(
                delete(CallbackSignature).where(
                    CallbackSignature.platform == platform,
                    CallbackSignature.seen_at < now - dt.timedelta(seconds=keep_seconds),
                )
            )
            seen = session.get(CallbackSignature, (platform, sign))
            if seen is not None:
                return seen.msg_id == msg_id
            session.add(CallbackSignature(platform=platform, sign=sign, msg_id=msg_id, seen_at=now))
        return True
    except IntegrityError:  # the same signature at the same moment, in another worker
        with sessions() as session:
            seen = session.get(CallbackSignature, (platform, sign))
            return seen is not None and seen.msg_id == msg_id
