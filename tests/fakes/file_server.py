"""A local file host on 127.0.0.1, standing for the platforms' download links (WeCom's `url`,
DingTalk's downloadUrl): files by path, with scripted failures, a gate that holds a download
until the test lets it go, and a count of what was served."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, urlsplit

from tests.fakes import serve_requests, stop_serving


class FileHost:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str | None]] = {}  # path -> (bytes, file name)
        self.failures: dict[str, list[int]] = {}  # path -> statuses answered first, in order
        self.gates: dict[str, threading.Event] = {}  # path -> held until set
        self.started: dict[str, threading.Event] = {}  # path -> set when a download of it begins
        self.served: Counter[str] = Counter()  # path -> bodies sent in full
        self.asked: Counter[str] = Counter()  # path -> requests

    def put(self, path: str, data: bytes, name: str | None = None) -> str:
        self.files[path] = (data, name)
        self.started[path] = threading.Event()
        return f"{self.url}{path}"

    def fail(self, path: str, *statuses: int) -> None:
        self.failures.setdefault(path, []).extend(statuses)

    def hold(self, path: str) -> threading.Event:
        """The next downloads of `path` wait until the returned event is set (bounded: 10 s)."""
        self.gates[path] = threading.Event()
        return self.gates[path]

    def __enter__(self) -> FileHost:
        self._server, self._thread, self.url = serve_requests(self._serve)
        return self

    def __exit__(self, *exc: Any) -> None:
        for gate in self.gates.values():
            gate.set()
        stop_serving(self._server, self._thread)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        self.asked[path] += 1
        if path in self.started:
            self.started[path].set()
        if self.failures.get(path):
            status = self.failures[path].pop(0)
            h.send_response(status)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if path not in self.files:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        gate = self.gates.get(path)
        if gate is not None:
            gate.wait(10)
        data, name = self.files[path]
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        if name:
            h.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}")
        h.end_headers()
        h.wfile.write(data)
        self.served[path] += 1
