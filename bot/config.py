"""Settings: config.yaml read, `${ENV}` references filled in, and validated by pydantic.

A wrong config raises `ConfigError` whose message names the key and what was
expected; `app.py` prints it and exits, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path
from string import Formatter
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = Path("config.yaml")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

PeriodKind = Literal["month", "quarter", "half", "year"]
PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "half": 6, "year": 12}
SubmissionKind = Literal["opinion", "suggestion", "report", "project", "proposal"]
ActivityKind = Literal["collective", "inspection", "research", "study", "meeting"]


class ConfigError(Exception):
    """config.yaml cannot be used; the message says which key and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deadline(_Strict):
    """The deadline inside a period: day `day` of the period's `month`-th month (default: its last)."""

    month: int | None = Field(default=None, ge=1, le=12)
    day: int = Field(default=31, ge=1, le=31)  # clipped to the month's length


class QuotaRule(_Strict):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str  # 社情民意信息
    source: Literal["submission", "activity"]
    kinds: list[str] = Field(min_length=1)
    period: PeriodKind
    minimum: int = Field(default=1, ge=1)
    scope: Literal["group", "member"] = "group"
    deadline: Deadline = Deadline()
    remind_days_before: list[Annotated[int, Field(ge=0, le=366)]] = [5, 1]
    remind_time: dt.time = dt.time(9, 0)

    @model_validator(mode="after")
    def _kinds_match_source(self) -> QuotaRule:
        allowed = SubmissionKind.__args__ if self.source == "submission" else ActivityKind.__args__
        bad = [k for k in self.kinds if k not in allowed]
        if bad:
            raise ValueError(f"kinds {bad} not among {list(allowed)} for source {self.source}")
        if self.deadline.month and self.deadline.month > PERIOD_MONTHS[self.period]:
            raise ValueError(
                f"deadline.month {self.deadline.month} is beyond a {self.period} "
                f"({PERIOD_MONTHS[self.period]} months)"
            )
        return self


ADOPTION_LEVEL_NAMES = ("县级", "市级", "省级", "全国")


class ScoreCategory(_Strict):
    """One line of the yearly duty score (履职积分): points for a kind of activity or submission.

    An activity category counts, per activity of its kinds in the year: `attended` (checked in),
    `on_leave` (the member's group's, missed with approved leave) and `absent` (the group's, before
    today, neither; usually negative). A submission category counts `each` submission of its kinds
    not withdrawn, `adopted` once per adopted one at its highest level (a number for every level, or
    one per level), and `instructed` per 批示. `cap` bounds the category's points from above.
    """

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    source: Literal["submission", "activity"]
    kinds: list[str] = Field(min_length=1)
    attended: float = 0
    on_leave: float = 0
    absent: float = 0
    each: float = 0
    adopted: dict[str, float] = {}
    instructed: float = 0
    cap: float | None = None

    @field_validator("adopted", mode="before")
    @classmethod
    def _every_level(cls, v: Any) -> Any:
        if isinstance(v, int | float):  # "adopted: 5": the same bonus at every level
            return dict.fromkeys(ADOPTION_LEVEL_NAMES, v)
        return v

    @model_validator(mode="after")
    def _fits_source(self) -> ScoreCategory:
        allowed = SubmissionKind.__args__ if self.source == "submission" else ActivityKind.__args__
        bad = [k for k in self.kinds if k not in allowed]
        if bad:
            raise ValueError(f"kinds {bad} not among {list(allowed)} for source {self.source}")
        unknown = sorted(set(self.adopted) - set(ADOPTION_LEVEL_NAMES))
        if unknown:
            raise ValueError(f"adopted levels {unknown} not among {list(ADOPTION_LEVEL_NAMES)}")
        return self


class Grade(_Strict):
    name: str  # 优秀, 良好, 称职 …
    min: float  # the least total for this grade


class ScoringSettings(_Strict):
    """履职积分: the base, the categories, the grade bands (highest first) and the pass mark."""

    base: float = 0
    max_total: float | None = None  # e.g. 济南's 70 base + at most 50 → 120
    pass_mark: float = 60  # below it: 约谈, and an early warning to the leader
    categories: list[ScoreCategory] = []
    grades: list[Grade] = []
    lowest_grade: str = "不称职"  # below every band

    @field_validator("grades")
    @classmethod
    def _highest_first(cls, v: list[Grade]) -> list[Grade]:
        return sorted(v, key=lambda g: -g.min)

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, v: list[ScoreCategory]) -> list[ScoreCategory]:
        keys = [c.key for c in v]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"scoring category keys must be unique, repeated: {sorted(dup)}")
        return v


class GroupWecom(_Strict):
    chat_id: str = ""
    webhook_key: str = ""


class GroupDingtalk(_Strict):
    conversation_id: str = ""
    robot_token: str = ""  # custom robot (自定义机器人) access_token
    robot_secret: str = ""  # its 加签 secret (SEC...)


class GroupBinding(_Strict):
    """Where a liaison group's chat lives on each platform (the group itself comes from the roster)."""

    name: str
    wecom: GroupWecom = GroupWecom()
    dingtalk: GroupDingtalk = GroupDingtalk()
    # The platforms its reminders and notices go to, once on each; None: every platform it is bound on.
    push_on: list[Literal["wecom", "dingtalk"]] | None = None


def _number_as_text(value: Any) -> Any:
    """The admin consoles show an AgentId as a number (1000002); YAML then reads it as one."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class WecomApp(_Strict):
    agent_id: Annotated[str, BeforeValidator(_number_as_text), Field(pattern=r"^\d*$")] = ""
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""


class WecomLongConnection(_Strict):
    """The smart bot's long connection (doc 101463): no public URL, no Token/EncodingAESKey."""

    bot_id: str = ""
    secret: str = ""
    url: str = "wss://openws.work.weixin.qq.com"


class WecomSmartBot(_Strict):
    token: str = ""  # callback mode (a public URL): Token and EncodingAESKey
    encoding_aes_key: str = ""
    long_connection: WecomLongConnection = WecomLongConnection()  # or, with no public IP


class _CallbackDeadlines(_Strict):
    """A platform that re-delivers a callback not answered in time: answer passively only when the
    pipeline is done by the reply deadline; stored by the ack deadline, answer empty and deliver
    later; not stored by then, answer 503 so that the platform delivers again
    (bot/platforms/answering.py). Subclasses bound both below the platform's patience."""

    reply_deadline_seconds: float
    ack_deadline_seconds: float

    @model_validator(mode="after")
    def _ack_after_reply(self) -> _CallbackDeadlines:
        if self.ack_deadline_seconds < self.reply_deadline_seconds:
            raise ValueError("ack_deadline_seconds must not be less than reply_deadline_seconds")
        return self


# A callback body bigger than this is refused (413) before it is read. It is sized from the longest
# text we take (`messages.max_chars`), not from the platforms: neither WeCom nor DingTalk publishes a
# limit for what a member types (their published limits are for what a bot sends: 2,048 bytes of
# text, 4,096 of markdown, 20,480 of a stream), and their clients send 20,000 characters and more.
# Worst case a character costs 6 bytes (JSON's \uXXXX) and base64 adds a third: 8 bytes a character.
BYTES_PER_CHAR = 8
MAX_BODY_BYTES = 1024 * 1024


class MessageSettings(_Strict):
    # A message longer than this is not recorded; the member is told so (bot/pipeline.py).
    max_chars: int = Field(default=30_000, ge=500, le=100_000)


class OverloadSettings(_Strict):
    """How a callback's age on arrival (now − the platform's timestamp, less the clock offset
    observed) shortens its deadlines (bot/platforms/arrival.py)."""

    # The offset between our clock and the platform's is the least (now − timestamp) seen over
    # this many seconds: a server clock that runs 60 s ahead does not make every message late.
    clock_window_seconds: float = Field(default=600, ge=10)
    # Past the platform's patience nobody waits for the response: a late message gets this long
    # to be stored (answered empty, its answer through the outbox), else 503 and it comes again.
    late_store_seconds: float = Field(default=0.5, gt=0, le=3)
    # A message older than this on arrival is refused with 503 without being handled (0: never).
    # Far past both platforms' deadlines the platform has sent its next copy already (WeCom every
    # 5 s, three times): the work goes to the younger copies queued behind, instead of to answers
    # nobody waits for, which is how the queue stops growing (bench/README.md, bench_overload.py).
    refuse_after_seconds: float = Field(default=10, ge=0)


class WecomSettings(_CallbackDeadlines):
    corp_id: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    app: WecomApp = WecomApp()
    smart_bot: WecomSmartBot = WecomSmartBot()
    max_clock_skew_seconds: int = 300
    max_body_bytes: int = MAX_BODY_BYTES
    # WeCom re-delivers a callback not answered within 5 s (docs/wecom.md).
    reply_deadline_seconds: float = Field(default=3.0, gt=0, le=4.5)
    ack_deadline_seconds: float = Field(default=4.5, gt=0, le=4.8)

    @property
    def app_enabled(self) -> bool:
        a = self.app
        return bool(self.corp_id and a.token and a.encoding_aes_key)

    @property
    def smart_bot_enabled(self) -> bool:
        """The smart bot's callback (`/wecom/bot`)."""
        return bool(self.smart_bot.token and self.smart_bot.encoding_aes_key)

    @property
    def long_connection_enabled(self) -> bool:
        lc = self.smart_bot.long_connection
        return bool(lc.bot_id and lc.secret)

    @property
    def app_api_enabled(self) -> bool:
        """The self-built app's server API (access_token: message/send, open_userid conversion)."""
        return bool(self.corp_id and self.app.secret and self.app.agent_id)


class DingtalkSettings(_CallbackDeadlines):
    app_key: str = ""
    app_secret: str = ""
    robot_code: str = ""
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    stream: bool = False
    # 卡片平台 template of the leader's one-tap card (docs/dingtalk.md); empty: markdown with links.
    card_template_id: str = ""
    corp_id: str = ""  # when set, a callback body's chatbotCorpId must be this
    allowed_ips: list[str] = []  # when set, callbacks only from these addresses/CIDRs (docs/dingtalk.md)
    max_clock_skew_seconds: int = 3600
    max_body_bytes: int = MAX_BODY_BYTES
    # DingTalk waits about 3 s for the robot callback's answer, then delivers it again (docs/dingtalk.md).
    reply_deadline_seconds: float = Field(default=2.5, gt=0, le=2.9)
    ack_deadline_seconds: float = Field(default=2.9, gt=0, le=3.0)

    @field_validator("allowed_ips")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not an IP address or CIDR (e.g. 203.119.0.0/16)") from None
        return v

    @property
    def enabled(self) -> bool:
        return bool(self.app_key and self.app_secret)


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


class SchedulerSettings(_Strict):
    enabled: bool = True
    tick_seconds: int = Field(default=60, ge=5)
    misfire_grace_seconds: int = Field(default=3600, ge=1)
    # SQLite lock row: another scheduler takes over once the holder's heartbeat is this old.
    lock_ttl_seconds: int = Field(default=180, ge=3)
    # A tick works through the reminder stages in chunks (one transaction each) and stops once it
    # has worked this long; the next tick goes on where it stopped (bot/scheduler.py).
    tick_budget_seconds: float = Field(default=5.0, gt=0)
    chunk_size: int = Field(default=200, ge=1, le=5000)
    # Added to the niceness of the threads that tick (Linux sets it per thread), so that a long tick
    # gives way to the web callbacks on the same machine; 0 leaves it.
    nice: int = Field(default=10, ge=0, le=19)


class ActivityReminderSettings(_Strict):
    days_before: int = Field(default=1, ge=0)
    time: dt.time = dt.time(18, 0)
    attendance_after_hours: float = Field(default=3, ge=0)
    absence_warning_at: int = Field(default=2, ge=1)
    absence_limit: int = Field(default=3, ge=1)  # seed rule: this many means giving up membership
    term_start: dt.date | None = None  # 本届 starts here; None counts every recorded activity


class HolidaySettings(_Strict):
    """Rest days move reminders: deadline warnings earlier, other reminders later."""

    enabled: bool = True
    extra_holidays: list[dt.date] = []
    extra_workdays: list[dt.date] = []
    deadline_shift: Literal["before", "after", "none"] = "before"
    other_shift: Literal["before", "after", "none"] = "after"


# What each wording template may say, by name: reminders.py fills in exactly these.
WORDING_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "quota_group": ("when", "rule", "deadline", "minimum", "unit", "done"),
    "quota_member": ("when", "rule", "deadline", "minimum", "unit", "names"),
    "all_done": ("when", "rule"),
    "deadline_alert": ("group", "shortfalls", "last_day"),
    "deadline_group_item": ("when", "rule", "done", "minimum", "unit"),
    "deadline_member_item": ("when", "rule", "names"),
    "summary": ("group", "quarter", "items"),
    "summary_group_item": ("rule", "month", "done", "minimum", "unit", "mark"),
    "summary_member_item": ("rule", "month", "done", "required", "mark"),
    "summary_met": (),
    "summary_unmet": (),
    "activity_eve": ("when", "at_time", "kind", "title", "at_place"),
    "activity_time": ("time",),
    "activity_place": ("place",),
    "attendance": ("date", "kind", "title", "present", "leave", "absent"),
    "absence": ("name", "count", "date", "title", "consequence"),
    "absence_rule": ("limit",),
    "absence_at_limit": ("limit",),
}


class ReminderWording(_Strict):
    """The texts reminders send, as templates with {named} placeholders (WORDING_PLACEHOLDERS)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)  # defaults checked too

    quota_group: str = "【履职提醒】{when}「{rule}」截止{deadline}，本组至少{minimum}{unit}，目前{done}{unit}，请组长督促完成。"
    quota_member: str = (
        "【履职提醒】{when}「{rule}」截止{deadline}，每位委员至少{minimum}{unit}，以下委员尚未完成：{names}。"
    )
    all_done: str = "{when}「{rule}」已全部完成，谢谢大家！"
    deadline_alert: str = "【期末提醒】{group}尚未完成：{shortfalls}。{last_day}为本期最后一天。"
    deadline_group_item: str = "{when}「{rule}」{done}/{minimum}{unit}"
    deadline_member_item: str = "{when}「{rule}」{names}未完成"
    summary: str = "【季度汇总】{group}{quarter}履职情况：{items}。"
    summary_group_item: str = "{rule}{month} {done}{unit}/至少{minimum}{unit} {mark}"
    summary_member_item: str = "{rule}{month} {done}/{required}人 {mark}"
    summary_met: str = "✓"
    summary_unmet: str = "未完成"
    activity_eve: str = (
        "【活动提醒】{when}{at_time} {kind}「{title}」{at_place}。请准时参加并签到，不能参加的请提前请假。"
    )
    activity_time: str = " {time}"
    activity_place: str = "，地点：{place}"
    attendance: str = "【出勤情况】{date} {kind}「{title}」：出席{present}；请假{leave}；缺席{absent}。"
    absence: str = "【缺席提醒】{name}本届已无故缺席{count}次（最近一次：{date}「{title}」），{consequence}"
    absence_rule: str = "按规定无故缺席{limit}次视为自动放弃委员资格，请及时提醒本人。"
    absence_at_limit: str = "已达{limit}次，按规定视为自动放弃委员资格，请与本人联系并报县政协办公室。"

    @field_validator("*")
    @classmethod
    def _known_placeholders(cls, template: str, info: ValidationInfo) -> str:
        allowed = WORDING_PLACEHOLDERS[info.field_name]
        listed = ", ".join(f"{{{name}}}" for name in allowed) or "none"
        try:
            used = [
                (name, spec, conv) for _, name, spec, conv in Formatter().parse(template) if name is not None
            ]
        except ValueError as err:
            raise ValueError(f"not a template ({err}); write a literal brace as {{{{ or }}}}") from None
        for name, spec, conv in used:
            if name not in allowed:
                raise ValueError(f"unknown placeholder {{{name}}}; allowed: {listed}")
            if spec or conv:
                raise ValueError(f"placeholder {{{name}}} takes no format or conversion; allowed: {listed}")
        return template

    def fill(self, key: str, **values: object) -> str:
        """The template `key` with its placeholders filled in; every allowed one must be given."""
        if set(values) != set(WORDING_PLACEHOLDERS[key]):
            raise TypeError(f"wording {key} takes {WORDING_PLACEHOLDERS[key]}, got {tuple(values)}")
        return getattr(self, key).format(**values)


class ReminderSettings(_Strict):
    all_done_message: bool = False
    deadline_alert_time: dt.time = dt.time(16, 0)  # on the period's last workday, to the leader
    summary_time: dt.time = dt.time(9, 0)  # first workday of a quarter: last quarter's summary
    # One-off reports (attendance, quarter summary, period-end alert) missed while the scheduler
    # was down are still sent this long after their time; later ones are stale and skipped.
    late_hours: float = Field(default=24, gt=0)
    activity: ActivityReminderSettings = ActivityReminderSettings()
    wording: ReminderWording = ReminderWording()


class OutboxSettings(_Strict):
    max_age_hours: float = Field(default=24, gt=0)
    base_backoff_seconds: float = Field(default=30, gt=0)
    max_backoff_seconds: float = Field(default=1800, gt=0)
    per_minute: int = Field(default=20, ge=1)
    # A claimed row whose sender died is claimed again after this. Longer than the slowest push
    # (a file: token, upload and send, 10 s timeout each), and no longer: the time a row waits
    # after a crash. The one duplicate the outbox can make is a row whose sender died between the
    # platform's answer and the record (docs/architecture.md, "The outbox's one duplicate").
    claim_lease_seconds: float = Field(default=60, ge=45)


class SubmissionSettings(_Strict):
    withdraw_minutes: int = Field(default=30, ge=0)
    # 社情民意 checked at intake (bot/advice.py): always recorded, one line of advice when a rule is not met.
    advice: bool = True
    max_chars: int = Field(default=1500, ge=100)  # the usual length of a 社情民意
    similar_days: int = Field(default=90, ge=1)  # compared with the group's notes of this many days
    similar_ratio: float = Field(default=85, gt=0, le=100)  # rapidfuzz ratio at which two notes are near-copies
    # Each new 社情民意 told to every admin one-to-one, with one-tap 采用（县级）/ 退回 (a card where the
    # platform shows one): one query and one outbox row per admin more per note, so off by default.
    tell_office: bool = False


class ExportSettings(_Strict):
    dir: str = "data/exports"  # 导出本季度 in chat writes the .xlsx here; the office fetches it


class FileSettings(_Strict):
    """Files and pictures members send (bot/files.py): where they are kept and how they are fetched."""

    dir: str = "data/files"  # content-addressed: <dir>/<sha256[:2]>/<sha256>; backups take it along
    max_mb: float = Field(default=20, gt=0, le=100)  # larger files are refused (WeCom sends up to 100 MB)
    download_seconds: float = Field(default=20, gt=0, le=300)  # one file, all attempts together
    # Pictures sent on their own this soon after a note (same member, same chat) are that note's photos.
    attach_minutes: int = Field(default=10, ge=0, le=24 * 60)
    # A 5xx, a timeout or a dropped link is tried again, this many times in all.
    download_attempts: int = Field(default=3, ge=1, le=10)


class BindingSettings(_Strict):
    # A stranger may try 绑定 this often an hour: enough for typing slips, too few to guess mobiles.
    attempts_per_hour: int = Field(default=5, ge=1, le=100)


class BackupSettings(_Strict):
    """The scheduler's daily backup (bot/backup_schedule.py) and where every backup goes by default."""

    enabled: bool = True
    dir: str = "data/backups"  # best on another disk or a network share: a dead disk takes both
    time: dt.time = dt.time(3, 0)  # local time (`timezone`) of the daily backup
    keep_daily: int = Field(default=14, ge=1)  # the newest daily archive of each of the last N days
    keep_monthly: int = Field(default=12, ge=0)  # and of each of the last N months


class CheckinSettings(_Strict):
    # A check-in counts from this long before an activity starts to the end of its day; outside it the
    # member is told to ask the leader for 补报.
    opens_minutes_before: int = Field(default=60, ge=0, le=24 * 60)


class ConversationSettings(_Strict):
    # How long the bot waits for the answer to its question ("请问是哪一次：1. … 2. …").
    timeout_minutes: int = Field(default=10, ge=1, le=24 * 60)


class ConsoleSettings(_Strict):
    enabled: bool = True


class WebSettings(_Strict):
    """The office's web page (bot/platforms/web): where it is served and how its links are signed."""

    enabled: bool = True
    prefix: str = "/office"  # served under this path by the same process as the callbacks
    # The address members open (the link 后台 sends); empty: http://server.host:server.port. Over
    # https the session cookie is marked Secure.
    public_url: str = ""
    secret_key: str = ""  # empty: generated on first start into secret_file (kept there, 0600)
    secret_file: str = "data/web_secret.key"
    link_minutes: int = Field(default=10, ge=1, le=24 * 60)  # how long a login link opens a session
    session_hours: float = Field(default=8, gt=0, le=24 * 30)  # how long a session lasts

    @field_validator("prefix")
    @classmethod
    def _path_prefix(cls, v: str) -> str:
        v = v.rstrip("/")
        if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", v):
            raise ValueError("a path such as /office (letters, digits, - _ . ~; not the site root)")
        return v

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, v: str) -> str:
        v = v.rstrip("/")
        if v and not re.match(r"https?://[^/\s]+", v):
            raise ValueError("an address such as https://lvzhi.example.gov.cn (http:// or https://)")
        return v


class Settings(_Strict):
    timezone: str = "Asia/Shanghai"
    database_url: str = "sqlite:///data/bot.db"
    server: ServerSettings = ServerSettings()
    console: ConsoleSettings = ConsoleSettings()
    web: WebSettings = WebSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    reminders: ReminderSettings = ReminderSettings()
    holidays: HolidaySettings = HolidaySettings()
    outbox: OutboxSettings = OutboxSettings()
    submissions: SubmissionSettings = SubmissionSettings()
    messages: MessageSettings = MessageSettings()
    exports: ExportSettings = ExportSettings()
    files: FileSettings = FileSettings()
    backup: BackupSettings = BackupSettings()
    conversation: ConversationSettings = ConversationSettings()
    checkin: CheckinSettings = CheckinSettings()
    binding: BindingSettings = BindingSettings()
    quotas: list[QuotaRule] = []
    scoring: ScoringSettings = ScoringSettings()
    groups: list[GroupBinding] = []
    wecom: WecomSettings = WecomSettings()
    dingtalk: DingtalkSettings = DingtalkSettings()
    overload: OverloadSettings = OverloadSettings()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (an IANA name such as Asia/Shanghai)") from None
        return v

    @field_validator("quotas")
    @classmethod
    def _unique_keys(cls, v: list[QuotaRule]) -> list[QuotaRule]:
        keys = [r.key for r in v]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"quota keys must be unique, repeated: {sorted(dup)}")
        return v

    @model_validator(mode="after")
    def _bodies_hold_the_longest_message(self) -> Settings:
        # A message the bot would answer "too long" must reach it, or the member hears nothing.
        least = self.messages.max_chars * BYTES_PER_CHAR + 16 * 1024
        for name, platform in (("wecom", self.wecom), ("dingtalk", self.dingtalk)):
            if platform.max_body_bytes < least:
                raise ValueError(
                    f"{name}.max_body_bytes must be at least {least} "
                    f"(messages.max_chars × {BYTES_PER_CHAR} + 16 KB), so that a long message is answered"
                )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _expand_env(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{path}: environment variable {name} is not set (referenced as ${{{name}}})")

        return _ENV_REF.sub(sub, value)
    return value


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in e["loc"]).replace(".[", "[")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        elif "input" in e and e["type"] not in ("missing",) and not isinstance(e["input"], dict | list):
            msg = f"{msg} (got {e['input']!r})"
        lines.append(f"  {key or '(top level)'}: {msg}")
    return "\n".join(lines)


def settings_from_dict(data: dict[str, Any], source: str = "config") -> Settings:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    try:
        return Settings.model_validate(_expand_env(data, ""))
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a config file (default ./config.yaml)."""
    p = Path(path) if path else DEFAULT_CONFIG
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML: {err}") from None
    return settings_from_dict(data, str(p))
