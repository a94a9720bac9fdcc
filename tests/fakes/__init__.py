"""Local HTTP fakes of the platforms, started by the tests on 127.0.0.1."""

from __future__ import annotations

import socketserver
import threading
from email.parser import BytesParser
from email.policy import default

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
