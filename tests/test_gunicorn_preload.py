"""deploy/gunicorn.conf.py forks its workers from a master that built the app (preload): the
workers answer, every message is recorded once, and no database connection crosses the fork —
the master holds none when it forks, and no two workers hold the same one."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import select

from models import InboundMessage, Submission
from tests.fakes import wecom_client as wc
from tests.test_faults import _free_port, _kill, _start_gunicorn, note

ROOT = Path(__file__).resolve().parent.parent


def _start(config: Path, port: int, log: Path) -> subprocess.Popen:
    """gunicorn as shipped: deploy/gunicorn.conf.py (preload on), 2 workers × 2 threads."""
    shipped = ("-c", str(ROOT / "deploy" / "gunicorn.conf.py"))
    return _start_gunicorn(config, port, log, shipped, {"BOT_WORKERS": "2", "BOT_THREADS": "2", "BOT_PRELOAD": "1"})


def _sockets_to(port: int) -> set[str]:
    """Inodes of the machine's TCP sockets whose remote end is `port` (the database server's)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def _database_handles(pid: int, url) -> set[str]:
    """What process `pid` holds open of the database: its TCP sockets to the server (by inode), or
    the SQLite file (by fd number, which only says the process has it open)."""
    server = _sockets_to(url.port or 5432) if url.get_backend_name() == "postgresql" else set()
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while we looked
        if target.startswith("socket:[") and target[8:-1] in server:
            held.add(target)
        elif url.get_backend_name() == "sqlite" and target == os.path.realpath(url.database):
            held.add(f"{target} (fd {fd.name})")
    return held


def _post(port: int, i: int) -> int:
    path, body = wc.signed(
        wc.payload(note(i), f"P{i}", userid=("zhangsan", "lisi", "wang")[i % 3]), nonce=f"p{i}"
    )
    return requests.post(f"http://127.0.0.1:{port}{path}", data=body, timeout=30).status_code


def test_preloaded_workers_answer_record_once_and_share_no_database_connection(
    runtime, roster, write_config, config_dict, tmp_path
):
    config = write_config(wecom=wc.SMART_BOT, scheduler={**config_dict["scheduler"], "enabled": False})
    port, log, n = _free_port(), tmp_path / "gunicorn.log", 40
    proc = _start(config, port, log)
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda i: _post(port, i), range(n)))
        assert codes == [200] * n, log.read_text(encoding="utf-8", errors="replace")[-2000:]
        assert [_post(port, i) for i in range(3)] == [200] * 3  # re-delivered: answered, not recorded again

        kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(kids) == 2
        url = runtime.engine.url
        master = _database_handles(proc.pid, url)
        workers = [_database_handles(int(k), url) for k in kids]
        assert master == set(), f"the master forks while holding {master}"
        assert all(workers), "each worker has its own connection after serving"
        if url.get_backend_name() == "postgresql":  # a socket's inode names it machine-wide
            assert not workers[0] & workers[1], f"two workers hold the same connection: {workers[0] & workers[1]}"
    finally:
        _kill(proc)

    with runtime.sessions() as s:
        assert Counter(s.scalars(select(InboundMessage.msg_id))) == Counter({f"P{i}": 1 for i in range(n)})
        assert sorted(s.scalars(select(Submission.title))) == sorted(
            f"关于故障演练第{i}号的建议" for i in range(n)
        )
