"""履职助手: the composition root and the command line.

`create_app(config_path)` builds the Flask app; `python app.py` serves it on
127.0.0.1:8000 with config.yaml. Every other command (chat, parse, import-roster, …)
shares the same `Runtime`, so the console and the platforms walk one pipeline.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sys
from pathlib import Path

import click
from flask import Flask, jsonify
from sqlalchemy import select

from bot.backup import BackupError
from bot.config import ConfigError, Settings, load_settings
from bot.descriptor import Platforms
from bot.platforms import console, dingtalk, web, wecom
from bot.roster import sync_chat_bindings
from bot.runtime import Runtime, build_runtime, upgrade_schema
from handlers import (
    activities,
    backstage,
    bind,
    cards,
    checkin,
    corrections,
    help,
    journey,
    late,
    leave,
    office,
    record,
    score,
    status,
    submissions,
)
from models import Member

log = logging.getLogger("bot")

# Each capability's router, included explicitly (as Flask registers blueprints).
ROUTERS = [
    checkin.router,
    late.router,
    submissions.router,
    leave.router,
    cards.router,
    activities.router,
    status.router,
    record.router,
    bind.router,
    help.router,
    corrections.router,
    office.router,
    journey.router,
    score.router,
    backstage.router,
]


# Every platform the bot speaks, in the order the outbox tries them for a group or a member. No
# push clients here: make_runtime builds one set from the settings, which the scheduler shares.
PLATFORMS = Platforms((wecom.DESCRIPTOR, dingtalk.DESCRIPTOR, console.DESCRIPTOR, web.DESCRIPTOR))


def make_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    runtime = build_runtime(settings, ROUTERS, platforms=PLATFORMS.configured(settings))
    if migrate:
        made = migrate_schema(runtime)
        if made is not None:
            log.warning("数据库升级前已备份到 %s", made)
    return runtime


def migrate_schema(runtime: Runtime, *, backup_first: bool = True) -> Path | None:
    """Bring the schema to head (backing up first a database with records and a migration
    pending) and the chat bindings to config.yaml; the pre-upgrade archive, if one was made."""
    made = upgrade_schema(
        runtime.engine,
        backup_first=functools.partial(_backup_before_upgrade, runtime) if backup_first else None,
    )
    with runtime.sessions.begin() as session:
        sync_chat_bindings(session, runtime.settings, runtime.platforms)
    return made


def _backup_before_upgrade(runtime: Runtime) -> Path:
    from bot import backup

    settings = runtime.settings
    return backup.create(
        runtime.engine,
        Path(settings.backup.dir),
        now=runtime.now(),
        exports_dir=Path(settings.exports.dir),
        files_dir=Path(settings.files.dir),
        label="pre-upgrade",
    ).path


def create_app(config_path: str | Path | None = None) -> Flask:
    """The application factory; `None` means ./config.yaml."""
    settings = load_settings(config_path)
    _configure_logging(settings)
    runtime = make_runtime(settings)
    app = Flask(__name__)
    app.extensions["bot"] = runtime

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    if settings.wecom.smart_bot_enabled or settings.wecom.app_enabled:
        app.register_blueprint(wecom.make_blueprint(runtime))
    if settings.dingtalk.enabled:
        app.register_blueprint(dingtalk.make_blueprint(runtime))
    if settings.web.enabled:
        web.install(app, runtime)  # the office's page under web.prefix

    return app


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _parse_now(value: str | None, settings: Settings) -> dt.datetime | None:
    if value is None:
        return None
    try:
        now = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2026-11-23T09:30") from None
    return now.replace(tzinfo=settings.tz) if now.tzinfo is None else now.astimezone(settings.tz)


class _Obj:
    """Lazily loaded settings for CLI commands (so `--help` works without a config)."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as err:
                click.echo(str(err), err=True)
                sys.exit(2)
        return self._settings

    def runtime(self) -> Runtime:
        return make_runtime(self.settings)


@click.group(invoke_without_command=True)
@click.option("--config", "config_path", default=None, help="config file (default ./config.yaml)")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """履职助手 — the liaison-group duty bot. Without a command: serve."""
    ctx.obj = _Obj(config_path)
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@cli.command()
@click.option("--host", default=None, help="listen address (default from config: 127.0.0.1)")
@click.option("--port", default=None, type=int, help="port (default from config: 8000)")
@click.option("--no-scheduler", is_flag=True, help="do not run the reminder scheduler in this process")
@click.pass_obj
def serve(obj: _Obj, host: str | None, port: int | None, no_scheduler: bool) -> None:
    """Serve the web callbacks (and the scheduler unless --no-scheduler)."""
    settings = obj.settings
    try:
        app = create_app(obj.config_path)
    except ConfigError as err:
        click.echo(str(err), err=True)
        sys.exit(2)
    except BackupError as err:
        click.echo(f"升级前的备份没有做成，数据库未升级，服务没有启动：{err}", err=True)
        sys.exit(1)
    host = host or settings.server.host
    port = port or settings.server.port
    from bot.platforms.streams import start_in_background

    # DingTalk Stream (with `dingtalk.stream: true`) and the WeCom smart bot's long connection;
    # skipped, with a warning, if `python app.py stream` holds them elsewhere.
    start_in_background(app.extensions["bot"])
    if settings.scheduler.enabled and not no_scheduler:
        # Idles unless it wins the database lock, so every worker may start one safely.
        _reminder_scheduler(app.extensions["bot"]).start()
    log.info("serving on http://%s:%s", host, port)
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


def _reminder_scheduler(runtime: Runtime):
    """The scheduler for `runtime`, sending through the runtime's own push clients (one token
    cache per platform in the process)."""
    from bot.scheduler import ReminderScheduler

    return ReminderScheduler(
        runtime.engine, runtime.sessions, runtime.settings, runtime.platforms, deliverer=runtime.deliverer
    )


@cli.command()
@click.option("--now", "now_text", default=None, help="the moment to compute for (ISO 8601; default now)")
@click.option("--dry-run", is_flag=True, help="print the reminders instead of queueing them")
@click.pass_obj
def remind(obj: _Obj, now_text: str | None, dry_run: bool) -> None:
    """What the scheduler would send at that moment: printed (--dry-run) or put into the outbox."""
    from bot import outbox, reminders

    settings = obj.settings
    runtime = obj.runtime()
    now = _parse_now(now_text, settings) or runtime.now()
    with runtime.sessions.begin() as session:
        messages = reminders.due(session, settings, now)
        if dry_run:
            for m, to in zip(messages, reminders.recipients(session, messages), strict=True):
                at = " ".join(f"@{p.name}" for p in m.mentions)
                click.echo(f"[{m.key}] → {to}: {m.text}{' ' + at if at else ''}")
            click.echo(f"共 {len(messages)} 条（未发送）")
            return
        added = outbox.enqueue_many(session, messages, now)
    click.echo(f"共 {len(messages)} 条到期，新加入发送队列 {added} 条")


@cli.command()
@click.pass_obj
def scheduler(obj: _Obj) -> None:
    """Run only the reminder scheduler (it idles while another one holds the lock)."""
    import signal
    import threading

    _configure_logging(obj.settings)
    runtime = obj.runtime()
    sched = _reminder_scheduler(runtime)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sched.start()
    stop.wait()
    sched.shutdown()


@cli.command()
@click.option("--since", default=None, help="only messages received on or after this date (YYYY-MM-DD)")
@click.option("--chatter", is_flag=True, help="also plain chatter the bot left unanswered (收到, 👍)")
@click.pass_obj
def unknowns(obj: _Obj, since: str | None, chatter: bool) -> None:
    """The messages addressed to the bot that it could not place: when, which group, who, the text."""
    from bot.pipeline import unplaced_messages

    settings = obj.settings
    start = None
    if since is not None:
        try:
            start = dt.datetime.combine(dt.date.fromisoformat(since), dt.time.min, settings.tz)
        except ValueError:
            raise click.BadParameter(
                f"{since!r} is not a date, e.g. 2026-12-01", param_hint="--since"
            ) from None
    runtime = obj.runtime()
    with runtime.sessions() as session:
        rows = unplaced_messages(session, runtime.platforms, start, chatter=chatter)
    marks = {"asked": "（已追问是否社情民意）", "unknown_sender": "（未绑定）", "ignored": "（闲聊）"}
    for r in rows:
        when = r.received_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        text = " ".join(r.text.split())
        click.echo(f"{when}\t{r.group or '私聊'}\t{r.sender}\t{text[:200]}{marks.get(r.outcome, '')}")
    click.echo(f"共 {len(rows)} 条机器人没有读懂的消息")


@cli.command("outbox")
@click.pass_obj
def outbox_cmd(obj: _Obj) -> None:
    """List outbox messages not sent: pending (with the next attempt) and failed (with the error)."""
    from bot import outbox

    runtime = obj.runtime()
    tz = obj.settings.tz
    with runtime.sessions() as session:
        rows = outbox.undelivered(session)
    for r in rows:
        when = r.next_attempt_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        note = r.last_error or ""
        click.echo(f"{r.status}\t{r.key}\t尝试{r.attempts}次\t下次 {when}\t{note}\t{r.text[:40]}")
    click.echo(
        f"未发送 {sum(r.status != 'failed' for r in rows)} 条，失败 {sum(r.status == 'failed' for r in rows)} 条"
    )


@cli.command("init-db")
@click.option("--no-backup", is_flag=True, help="migrate without backing up first")
@click.pass_obj
def init_db(obj: _Obj, no_backup: bool) -> None:
    """Create or migrate the database schema (Alembic upgrade head); a database with records is
    backed up into backup.dir before a migration."""
    runtime = make_runtime(obj.settings, migrate=False)
    try:
        made = migrate_schema(runtime, backup_first=not no_backup)
    except BackupError as err:
        click.echo(f"升级前的备份没有做成，数据库未升级：{err}", err=True)
        click.echo("（确需不备份就升级：python3 app.py init-db --no-backup）", err=True)
        sys.exit(1)
    if made is not None:
        click.echo(f"升级前已备份到：{made}")
    click.echo(f"数据库已就绪: {runtime.engine.url.render_as_string(hide_password=True)}")


@cli.command()
@click.option(
    "--to",
    "to_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="where (default backup.dir)",
)
@click.option(
    "--verify",
    "verify_path",
    default=None,
    metavar="ARCHIVE",
    type=click.Path(dir_okay=False),
    help="only check ARCHIVE against its manifest",
)
@click.option("--list", "list_runs", is_flag=True, help="the backups made, failed and missing")
@click.pass_obj
def backup(obj: _Obj, to_dir: str | None, verify_path: str | None, list_runs: bool) -> None:
    """Back up the database and the exports into one dated archive (or --verify one, or --list them)."""
    from bot import backup as backups
    from bot import backup_schedule

    if sum((to_dir is not None, verify_path is not None, list_runs)) > 1:
        raise click.UsageError("--to, --verify and --list go one at a time")
    if verify_path is not None:
        try:
            manifest = backups.verify(Path(verify_path))
        except backups.BackupError as err:
            click.echo(f"备份有问题：{err}", err=True)
            sys.exit(1)
        click.echo(f"备份完好：{verify_path}（{manifest.summary()}）")
        return
    runtime = make_runtime(obj.settings, migrate=False)  # a backup takes the database as it is
    if list_runs:
        _list_backups(runtime)
        return
    try:
        archive = backup_schedule.run_manual(
            runtime.engine,
            runtime.sessions,
            runtime.settings,
            runtime.now(),
            Path(to_dir) if to_dir else None,
        )
    except backups.BackupError as err:
        click.echo(f"备份失败：{err}", err=True)
        sys.exit(1)
    click.echo(f"已备份到：{archive.path}（{archive.manifest.summary()}，{backups.size_text(archive.size)}）")


def _list_backups(runtime: Runtime) -> None:
    from bot import backup_schedule

    settings = runtime.settings
    lines, missing = backup_schedule.listing(runtime.engine, runtime.sessions, settings, runtime.now())
    for line in lines:
        click.echo(f"{line.at:%Y-%m-%d %H:%M}\t{line.kind}\t{line.status}\t{line.what}")
    if missing:
        click.echo("缺少自动备份的日子：" + "、".join(d.isoformat() for d in missing))
    when = f"每天 {settings.backup.time:%H:%M} 自动备份" if settings.backup.enabled else "自动备份已关闭"
    click.echo(f"共 {len(lines)} 条；备份目录：{settings.backup.dir}（{when}）")


@cli.command()
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="replace a database that already holds records")
@click.pass_obj
def restore(obj: _Obj, archive: str, force: bool) -> None:
    """Restore ARCHIVE into the configured database (empty unless --force), then migrate it to head."""
    from bot import backup as backups

    runtime = make_runtime(obj.settings, migrate=False)  # the archive brings its own schema
    try:
        manifest = backups.restore(
            runtime.engine,
            Path(archive),
            exports_dir=Path(runtime.settings.exports.dir),
            files_dir=Path(runtime.settings.files.dir),
            force=force,
        )
    except backups.BackupError as err:
        click.echo(f"没有恢复：{err}", err=True)
        sys.exit(1)
    migrate_schema(runtime, backup_first=False)  # the archive is the backup
    click.echo(f"已从 {archive} 恢复（{manifest.summary()}），数据库已升级到最新表结构")


@cli.command()
@click.argument("text")
@click.option("--now", "now_text", default=None, help="resolve relative dates against this time (ISO 8601)")
@click.pass_obj
def parse(obj: _Obj, text: str, now_text: str | None) -> None:
    """Print the parser's reading of TEXT as one JSON object."""
    from bot.parser import parse as parse_text

    settings = obj.settings
    now = _parse_now(now_text, settings) or dt.datetime.now(settings.tz)
    click.echo(json.dumps(parse_text(text, now).as_json(), ensure_ascii=False))


@cli.command()
@click.option("--as", "speaker", default=None, help="roster name to speak as (default: the first leader)")
@click.option("--now", "now_text", default=None, help="fix the clock for the session (ISO 8601)")
@click.option("--group", "group_name", default=None, help="speak in this liaison group's chat (its name)")
@click.pass_obj
def chat(obj: _Obj, speaker: str | None, now_text: str | None, group_name: str | None) -> None:
    """Chat with the bot in the terminal, as a roster member (lines from standard input; a line
    ending with \\ goes on in the next); --group plays that group's chat instead of a private one."""
    settings = obj.settings
    fixed = _parse_now(now_text, settings)
    runtime = obj.runtime()
    chat_id = None
    if group_name is not None:
        chat_id = runtime.group_chat(console.DESCRIPTOR.family, group_name)
        if chat_id is None:
            click.echo(f"没有名为“{group_name}”的联络组（先导入花名册）", err=True)
            sys.exit(1)
    speaker = speaker or runtime.default_speaker()
    if speaker is None:
        click.echo("花名册是空的：请先导入，例如 python app.py import-roster 花名册.xlsx", err=True)
        sys.exit(1)
    knows = functools.partial(runtime.knows, console.CHANNEL)
    if not knows(speaker):
        click.echo(f"花名册里没有“{speaker}”", err=True)
        sys.exit(1)
    interactive = sys.stdin.isatty()
    chat_console = console.Console(
        runtime.pipeline, (lambda: fixed) if fixed else runtime.now, knows, speaker, chat_id=chat_id
    )
    if interactive:
        click.echo(console.HELP)
    chat_console.run(
        sys.stdin,
        out=click.echo,
        prompt=(lambda p: click.echo(p, nl=False)) if interactive else (lambda p: None),
    )


@cli.command("office-link")
@click.argument("name")
@click.pass_obj
def office_link(obj: _Obj, name: str) -> None:
    """Print a login link to the office's web page for NAME (a roster member), valid for
    web.link_minutes: what 后台 sends one-to-one, for a console with no platform connected."""
    from bot.office_login import login_url

    runtime = obj.runtime()
    if not runtime.settings.web.enabled:
        click.echo("后台网页没有开启：config.yaml 里 web.enabled 设为 true", err=True)
        sys.exit(2)
    with runtime.sessions() as session:
        found = session.execute(
            select(Member.id, Member.role).where(Member.name == name, Member.active.is_(True)).order_by(Member.id)
        ).all()
    if not found:
        click.echo(f"花名册里没有在册的“{name}”", err=True)
        sys.exit(1)
    if len(found) > 1:
        click.echo(f"花名册里有 {len(found)} 位“{name}”：请在花名册里区分姓名后再试", err=True)
        sys.exit(1)
    click.echo(login_url(runtime.settings, found[0].id, runtime.now()))
    click.echo(f"（{runtime.settings.web.link_minutes}分钟内有效；先用 python3 app.py 启动服务）", err=True)


@cli.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--new-group",
    "new_groups",
    multiple=True,
    metavar="NAME",
    help="a group to create although its name is one character away from another's",
)
@click.pass_obj
def import_roster_cmd(obj: _Obj, file: str, new_groups: tuple[str, ...]) -> None:
    """Import the roster (.xlsx or .csv: 姓名, 联络组, 角色, 手机, 企业微信账号, 钉钉账号)."""
    from bot.roster import RosterError, import_roster, sync_chat_bindings

    runtime = obj.runtime()
    try:
        with runtime.sessions.begin() as session:
            report = import_roster(session, Path(file), runtime.now(), new_groups)
            sync_chat_bindings(session, runtime.settings, runtime.platforms)
    except RosterError as err:
        click.echo("花名册有错误，未导入任何数据：", err=True)
        for problem in err.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(report.summary())


@cli.command("export")
@click.option("--year", type=int, required=True, help="the year to export, e.g. 2026")
@click.option("--quarter", type=click.IntRange(1, 4), default=None, help="only this quarter (1-4)")
@click.option("--group", "group_name", default=None, help="only this liaison group (its name)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="the .xlsx file to write")
@click.option("--now", "now_text", default=None, help="judge 'so far' at this time (ISO 8601; default now)")
@click.option(
    "--files",
    "files_to",
    default=None,
    type=click.Path(),
    help="also copy the notes' attachments here (a folder, or a .zip), by group and member (一人一档)",
)
@click.pass_obj
def export_cmd(
    obj: _Obj,
    year: int,
    quarter: int | None,
    group_name: str | None,
    out: str,
    now_text: str | None,
    files_to: str | None,
) -> None:
    """Write the duty record (履职档案) of a year or quarter to an Excel file (and its files with --files)."""
    from bot.archive import write_archive
    from bot.export import ExportError, period_for, write_file

    runtime = obj.runtime()
    now = _parse_now(now_text, runtime.settings) or runtime.now()
    try:
        with runtime.sessions() as session:
            path = write_file(
                session, runtime.settings, period_for(year, quarter), group_name, now, Path(out)
            )
            archived = None
            if files_to:
                span = period_for(year, quarter)
                archived = write_archive(session, runtime.settings, span, group_name, Path(files_to))
    except ExportError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    click.echo(f"已导出：{path}")
    if archived is not None:
        click.echo(f"附件 {len(archived.written)} 个：{archived.path}")
        for name in archived.missing:
            click.echo(f"附件文件缺失（files.dir 里没有）：{name}", err=True)


@cli.command("holidays")
@click.option("--year", type=int, default=None, help="the year to show (default: next year)")
@click.pass_obj
def holidays_cmd(obj: _Obj, year: int | None) -> None:
    """Print the weekday holidays and weekend workdays the bot will use in a year (chinese-calendar
    plus holidays.extra_holidays / extra_workdays), to check against the State Council's notice."""
    from bot.holidays import WorkCalendar, plan_lines

    settings = obj.settings
    year = year or dt.datetime.now(settings.tz).year + 1
    plan = WorkCalendar(settings.holidays).year_plan(year)
    for line in plan_lines(plan, enabled=settings.holidays.enabled):
        click.echo(line)


@cli.command()
@click.pass_obj
def stream(obj: _Obj) -> None:
    """Every configured long connection (DingTalk Stream, WeCom smart bot; no public IP needed), in
    one process that holds the single-process lock."""
    from bot.platforms.streams import AlreadyRunning, connections, run_all

    runtime = obj.runtime()
    _configure_logging(runtime.settings)
    clients = connections(runtime)
    if not clients:
        click.echo(
            "没有配置长连接：钉钉请在 config.yaml 的 dingtalk 下填写 app_key 和 app_secret；"
            "企业微信请填写 wecom.smart_bot.long_connection 的 bot_id 和 secret。",
            err=True,
        )
        sys.exit(2)
    try:
        run_all(runtime, clients)
    except AlreadyRunning as err:
        click.echo(str(err), err=True)
        sys.exit(1)


if __name__ == "__main__":
    cli()
