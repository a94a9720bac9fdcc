"""Documents as members' phones send them, made in the test: .docx (python-docx), .pdf (pypdf, with
a text layer, a title, pages, optionally a password), a PNG, and things that must be refused."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import docx
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def make_docx(paragraphs: list[str], *, title: str | None = None, pages: int | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if title is not None:
        document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    data = out.getvalue()
    if pages is None:
        return data
    # Word keeps the page count it last laid out in docProps/app.xml; write the one asked for.
    source, rewritten = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/app.xml":
                content = re.sub(rb"<Pages>\d+</Pages>", f"<Pages>{pages}</Pages>".encode(), content)
            target.writestr(item, content)
    return rewritten.getvalue()


def make_pdf(pages: int, *, title: str | None = None, text: str = "", password: str | None = None) -> bytes:
    """`pages` pages; the first carries `text` (ASCII, Helvetica) as a real text layer."""
    writer = PdfWriter()
    for n in range(pages):
        page = writer.add_blank_page(width=595, height=842)
        if n == 0 and text:
            font = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject("/Helvetica"),
                }
            )
            page[NameObject("/Resources")] = DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
            )
            stream = DecodedStreamObject()
            stream.set_data(f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("latin-1"))
            page[NameObject("/Contents")] = writer._add_object(stream)
    if title is not None:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode."
OLD_WORD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
