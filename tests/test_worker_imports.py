"""A web worker loads what serving callbacks needs and nothing more (issue 17, point 6): the Excel
writer, the migration tool and the long-connection SDKs load in the process that uses them, and
comparing names by their pinyin reads pypinyin's character table without its phrase dictionary."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import yaml

import app as app_module

ROOT = Path(__file__).resolve().parent.parent
NOT_IN_A_WORKER = ("openpyxl", "alembic", "dingtalk_stream", "websockets", "jionlp", "pypinyin")

PROBE = f"import sys, wsgi; print(' '.join(m for m in {NOT_IN_A_WORKER!r} if m in sys.modules) or 'none')"


def test_a_callback_worker_loads_no_excel_migration_stream_sdk_or_phrase_dictionary(sqlite_config):
    data = yaml.safe_load(sqlite_config.read_text(encoding="utf-8"))
    key = base64.b64encode(bytes(range(32))).decode().rstrip("=")
    data["wecom"] = {"smart_bot": {"token": "t", "encoding_aes_key": key}}
    data["scheduler"] = {**data.get("scheduler", {}), "enabled": False}
    sqlite_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    app_module.create_app(sqlite_config).extensions["bot"].engine.dispose()  # migrates, as init-db

    env = {**os.environ, "BOT_CONFIG": str(sqlite_config), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "none"
