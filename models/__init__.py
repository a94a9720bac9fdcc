"""SQLAlchemy models of the duty record, and the engine/session factory.

Models know nothing of HTTP, platforms or the clock: every time is passed in.
"""

from models.backup import BACKUP_KINDS, BACKUP_STATUSES, BackupRun
from models.base import AwareDateTime, Base
from models.cards import CARD_KINDS, CARD_STATES, Card
from models.db import (
    WRITES_AFTER_READING,
    among,
    among_wanted,
    insert_or_skip,
    make_engine,
    make_session_factory,
    next_id,
    read,
)
from models.messages import (
    INBOUND_OUTCOMES,
    OUTBOX_STATUSES,
    QUESTION_STATES,
    CallbackSignature,
    InboundMessage,
    OutboxMessage,
    PendingQuestion,
    SchedulerLock,
)
from models.records import (
    LATE_ENTRY_STATUSES,
    LEAVE_STATUSES,
    SUBMISSION_EVENTS,
    SUBMISSION_STATUSES,
    Activity,
    Attachment,
    CheckIn,
    LateEntry,
    LeaveRequest,
    RecordChange,
    Submission,
    SubmissionEvent,
)
from models.roster import ROLE_NAMES, ROLES, ChatBinding, LiaisonGroup, Member

__all__ = [
    "CARD_KINDS",
    "CARD_STATES",
    "Card",
    "AwareDateTime",
    "BACKUP_KINDS",
    "BACKUP_STATUSES",
    "BackupRun",
    "Base",
    "insert_or_skip",
    "among",
    "among_wanted",
    "read",
    "make_engine",
    "next_id",
    "make_session_factory",
    "WRITES_AFTER_READING",
    "CallbackSignature",
    "InboundMessage",
    "OutboxMessage",
    "PendingQuestion",
    "QUESTION_STATES",
    "SchedulerLock",
    "INBOUND_OUTCOMES",
    "OUTBOX_STATUSES",
    "Activity",
    "Attachment",
    "CheckIn",
    "LateEntry",
    "LeaveRequest",
    "RecordChange",
    "Submission",
    "SubmissionEvent",
    "SUBMISSION_EVENTS",
    "LEAVE_STATUSES",
    "LATE_ENTRY_STATUSES",
    "SUBMISSION_STATUSES",
    "ChatBinding",
    "LiaisonGroup",
    "Member",
    "ROLES",
    "ROLE_NAMES",
]
