"""The backup commands as an office types them: backup [--to], --verify, --list, restore on a new
machine, and init-db backing up a database with records before it migrates."""

from __future__ import annotations

from alembic import command
from click.testing import CliRunner
from sqlalchemy import text

import app as app_module
from bot import backup
from bot.backup_schedule import run_daily
from bot.config import settings_from_dict
from bot.runtime import _alembic_config, schema_is_current
from models import make_engine
from tests import test_backup
from tests.conftest import NOW
from tests.test_backup_daily import _at

scratch_url = test_backup.scratch_url  # fixtures: an empty database, an exports directory
exports = test_backup.exports


def test_backup_to_a_directory_then_restore_on_a_new_machine_migrates_to_head(
    runtime, roster, write_config, scratch_url, tmp_path
):
    cli = CliRunner()
    here = write_config()
    made = cli.invoke(app_module.cli, ["--config", str(here), "backup", "--to", str(tmp_path / "usb")])
    assert made.exit_code == 0, made.output
    (archive,) = (tmp_path / "usb").glob("lvzhi-backup-*.tar.gz")
    assert f"已备份到：{archive}" in made.output
    listing = cli.invoke(app_module.cli, ["--config", str(here), "backup", "--list"])
    assert f"手动\t成功\t{archive}" in listing.output

    new_pc = write_config(database_url=scratch_url)
    restored = cli.invoke(app_module.cli, ["--config", str(new_pc), "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "已从" in restored.output and "已升级到最新表结构" in restored.output
    again = cli.invoke(app_module.cli, ["--config", str(new_pc), "restore", str(archive)])
    assert again.exit_code == 1 and "--force" in again.output
    forced = cli.invoke(app_module.cli, ["--config", str(new_pc), "restore", str(archive), "--force"])
    assert forced.exit_code == 0, forced.output
    scratch = make_engine(scratch_url)
    try:
        assert schema_is_current(scratch)
        counts = backup.row_counts(scratch)
        assert counts["member"] == 7 and counts["backup_run"] == 0  # the copy was made before its record
    finally:
        scratch.dispose()


def test_init_db_backs_up_a_database_with_records_before_migrating_and_says_where(
    write_config, scratch_url, tmp_path
):
    old = make_engine(scratch_url)
    command.upgrade(_alembic_config(old), "0008")  # the schema of the previous release
    with old.begin() as conn:
        conn.execute(
            text("INSERT INTO liaison_group (name, created_at) VALUES ('第一联络组', :at)"), {"at": NOW}
        )
    old.dispose()
    config = write_config(database_url=scratch_url)
    result = CliRunner().invoke(app_module.cli, ["--config", str(config), "init-db"])
    assert result.exit_code == 0, result.output
    (archive,) = (tmp_path / "backups").glob("lvzhi-pre-upgrade-*.tar.gz")
    assert f"升级前已备份到：{archive}" in result.output
    manifest = backup.verify(archive)
    assert manifest.revision == "0008" and manifest.tables["liaison_group"] == 1
    migrated = make_engine(scratch_url)
    try:
        assert schema_is_current(migrated)
    finally:
        migrated.dispose()
    again = CliRunner().invoke(app_module.cli, ["--config", str(config), "init-db"])
    assert "升级前" not in again.output and len(list((tmp_path / "backups").iterdir())) == 1


def test_init_db_on_a_fresh_database_makes_no_backup(write_config, scratch_url, tmp_path):
    result = CliRunner().invoke(
        app_module.cli, ["--config", str(write_config(database_url=scratch_url)), "init-db"]
    )
    assert result.exit_code == 0 and "升级前" not in result.output
    assert not (tmp_path / "backups").exists()


def test_backup_verify_says_whether_an_archive_is_sound(runtime, roster, exports, write_config, tmp_path):
    good = backup.create(runtime.engine, tmp_path / "b", now=NOW, exports_dir=exports).path
    bad = test_backup.DAMAGE["a flipped byte"][0](good, tmp_path / "bad.tar.gz")
    cli, config = CliRunner(), str(write_config())
    checked = cli.invoke(app_module.cli, ["--config", config, "backup", "--verify", str(good)])
    assert (
        checked.exit_code == 0 and f"备份完好：{good}" in checked.output and "导出文件 1 个" in checked.output
    )
    refused = cli.invoke(app_module.cli, ["--config", config, "backup", "--verify", str(bad)])
    assert refused.exit_code == 1 and "备份有问题：bad.tar.gz 已损坏" in refused.output


def test_a_failed_daily_backup_is_listed(runtime, roster, config_dict, write_config, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the backup directory should be")
    config_dict["backup"] = {**config_dict["backup"], "dir": str(blocker)}
    run_daily(runtime.engine, runtime.sessions, settings_from_dict(config_dict), _at(23, 3, 0))
    listing = CliRunner().invoke(app_module.cli, ["--config", str(write_config()), "backup", "--list"])
    assert listing.exit_code == 0, listing.output
    assert "\t自动\t失败\t" in listing.output and "not-a-directory" in listing.output
