"""Local HTTP fakes of the platforms, started by the tests on 127.0.0.1."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import default


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
