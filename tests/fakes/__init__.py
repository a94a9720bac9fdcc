"""Local HTTP fakes of the platforms, started by the tests on 127.0.0.1."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# serve_forever notices shutdown() only between polls (0.5 s by default): a fake stopped after
# every test would otherwise cost the suite half a second each time.
POLL_SECONDS = 0.01


def serve_in_background(server: socketserver.BaseServer) -> threading.Thread:
    """Serve `server` in a daemon thread that `stop_serving` ends at once."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    return thread


def serve_requests(
    serve: Callable[[BaseHTTPRequestHandler], None],
) -> tuple[ThreadingHTTPServer, threading.Thread, str]:
    """A quiet server on 127.0.0.1 (a free port) handing every GET and POST to `serve`, running
    in the background: (server, thread, base url)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            serve(self)

        def do_POST(self) -> None:  # noqa: N802
            serve(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server, serve_in_background(server), f"http://127.0.0.1:{server.server_address[1]}"


def stop_serving(server: socketserver.BaseServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def form_data(content_type: str, raw: bytes) -> dict[str, tuple[str, bytes]]:
    """form-data parts by field name: (filename, content), read with the standard email parser."""
    message = BytesParser(policy=default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    return {
        part.get_param("name", header="content-disposition"): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    }
