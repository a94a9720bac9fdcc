"""Files and pictures a member sends: what they are, what they say, and where they are kept.

An adapter downloads the bytes (bot/platforms/download.py) and hands them to `receive`, which
refuses what the bot must not keep (too large, an executable, an encrypted PDF, a kind it cannot
read) before anything is written, reads the title, text and pages of a .docx or .pdf, and stores
the bytes content-addressed (`<dir>/<sha256[:2]>/<sha256>`: the same file sent twice, or delivered
twice while it downloads, is one file). `with_attachments` turns the message's command into the
submission the file belongs to. No HTTP, no platform, no clock here.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from bot.messages import SUBMISSION_KINDS as KIND_LABELS
from bot.messages import Command, FileRef, FileRefused
from bot.vocabulary import SUBMISSION_KINDS as KIND_WORDS

log = logging.getLogger(__name__)

# The command of a file whose kind neither the words nor its name say (the handler asks); not a
# parser intent: only a message carrying a file becomes one.
FILE_INTENT = "file"
TEXT_LIMIT = 50_000  # characters of a document kept as the submission's content
TITLE_LIMIT = 200  # Submission.title

# Why a file is not kept: one short line each, always ending in what the member can do.
REFUSALS = {
    "too_large": "文件太大（超过{limit}MB），没有记录。请压缩或拆分后再发。",
    "unsupported": "这种文件读不了（只收 Word .docx、PDF 和图片），没有记录。",
    "old_word": "这是旧版 Word（.doc）文件，读不了，没有记录。请另存为 .docx 或 PDF 后再发。",
    "executable": "不能接收程序文件，没有记录。",
    "encrypted": "这份PDF设了密码，读不出内容，没有记录。请去掉密码后再发。",
    "damaged": "这个文件打不开（可能已损坏），没有记录。请检查后重新发送。",
    "empty": "这个文件是空的，没有记录。",
    "expired": "文件链接已过期，没有收到文件，请重新发送一次。",
    "failed": "文件没有下载下来，没有记录，请稍后重新发送。",
}

_EXECUTABLE_NAMES = frozenset(
    [
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".msi",
        ".scr",
        ".pif",
        ".dll",
        ".sys",
        ".ps1",
        ".vbs",
        ".vbe",
        ".js",
        ".jse",
        ".wsf",
        ".hta",
        ".jar",
        ".apk",
        ".sh",
        ".bin",
        ".run",
        ".app",
        ".dmg",
        ".lnk",
        ".reg",
        ".cpl",
    ]
)
_EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"#!",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"dex\n",
)
_PICTURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PAGES_RE = re.compile(rb"<Pages>(\d+)</Pages>")


def refused(reason: str, *, limit_mb: float = 0) -> FileRefused:
    """The refusal of `reason` (a key of REFUSALS) as the member reads it."""
    return FileRefused(reason, REFUSALS[reason].format(limit=f"{limit_mb:g}"))


@dataclass(frozen=True)
class _Read:
    """What inspecting the bytes found: the type, and for a document its title, text and pages."""

    mime: str
    label: str  # PDF / Word / 图片: how the answer names the kind of file
    ext: str
    title: str | None = None
    text: str | None = None
    pages: int | None = None


def clean_name(name: str | None) -> str:
    """The file's own name without any directory and control characters (it is shown, never a path)."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return base[:TITLE_LIMIT]


def _is_executable(data: bytes, name: str) -> bool:
    return Path(name).suffix.lower() in _EXECUTABLE_NAMES or data.startswith(_EXECUTABLE_MAGIC)


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:TITLE_LIMIT]
    return None


def _read_pdf(data: bytes) -> _Read | FileRefused:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return refused("encrypted")
        text = "\n".join((page.extract_text() or "") for page in reader.pages).strip()
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        log.info("pdf unreadable: %s", type(err).__name__)
        return refused("damaged")
    title = meta_title.strip()[:TITLE_LIMIT] or _first_line(text)
    return _Read("application/pdf", "PDF", ".pdf", title, text[:TEXT_LIMIT] or None, len(reader.pages))


def _read_docx(data: bytes, archive: zipfile.ZipFile) -> _Read | FileRefused:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (ValueError, KeyError, zipfile.BadZipFile, OSError) as err:
        log.info("docx unreadable: %s", type(err).__name__)
        return refused("damaged")
    text = "\n".join(p.text for p in document.paragraphs if p.text.strip())
    title = (document.core_properties.title or "").strip()[:TITLE_LIMIT] or _first_line(text)
    pages = None
    if "docProps/app.xml" in archive.namelist():  # Word writes the page count it last laid out
        found = _PAGES_RE.search(archive.read("docProps/app.xml"))
        pages = int(found.group(1)) if found and int(found.group(1)) > 0 else None
    return _Read(DOCX_MIME, "Word", ".docx", title, text[:TEXT_LIMIT] or None, pages)


def _inspect(data: bytes, name: str) -> _Read | FileRefused:
    """The kind of file by its bytes (a name can lie), and a document's title, text and pages."""
    if _is_executable(data, name):
        return refused("executable")
    if data.startswith(b"%PDF-"):
        return _read_pdf(data)
    for magic, mime, ext in _PICTURES:
        if data.startswith(magic):
            return _Read(mime, "图片", ext)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .doc, .xls, .ppt of old
        return refused("old_word")
    if data.startswith(b"PK\x03\x04"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            if "word/document.xml" in archive.namelist():
                return _read_docx(data, archive)
        except zipfile.BadZipFile:
            return refused("damaged")
    return refused("unsupported")


def store(root: Path, data: bytes) -> tuple[str, str]:
    """Keep `data` under `root` by its SHA-256: (sha256, path relative to root). Written to a
    temporary file and renamed into place, so a reader never sees half a file and two writers of
    the same bytes (a redelivery while downloading) end with the one file."""
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest}"
    target = root / relative
    if target.is_file() and target.stat().st_size == len(data):
        return digest, relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest, relative


def check(data: bytes, name: str | None, *, max_mb: float) -> FileRef | FileRefused:
    """The file a member sent, checked and read (its `path` set once stored); or why it is not kept."""
    if len(data) > max_mb * 1024 * 1024:
        return refused("too_large", limit_mb=max_mb)
    if not data:
        return refused("empty")
    shown = clean_name(name)
    read = _inspect(data, shown)
    if isinstance(read, FileRefused):
        return read
    if not shown:  # WeCom's smart bot may send a file without its name
        shown = f"{'图片' if read.label == '图片' else '文件'}{read.ext}"
    digest = hashlib.sha256(data).hexdigest()
    return FileRef(
        name=shown,
        mime=read.mime,
        size=len(data),
        sha256=digest,
        path=f"{digest[:2]}/{digest}",
        label=read.label,
        pages=read.pages,
        title=read.title,
        text=read.text,
    )


def receive(root: Path, data: bytes, name: str | None, *, max_mb: float) -> FileRef | FileRefused:
    """`check`, then the bytes stored under `root` (nothing is written for a refused file)."""
    ref = check(data, name, max_mb=max_mb)
    if isinstance(ref, FileRef):
        store(root, data)
    return ref


def kind_in_name(name: str) -> str | None:
    """The submission kind a file name says (关于……的调研报告.pdf -> report), longest word first."""
    stem = Path(name).stem
    for word in sorted(KIND_WORDS, key=len, reverse=True):
        if word in stem:
            return KIND_WORDS[word]
    return None


def _kept(attachments: tuple[Any, ...]) -> tuple[FileRef, ...] | FileRefused:
    """The message's files, or the first refusal among them."""
    for item in attachments:
        if isinstance(item, FileRefused):
            return item
    return tuple(a for a in attachments if isinstance(a, FileRef))


def with_attachments(command: Command, attachments: tuple[Any, ...]) -> Command | FileRefused:
    """The command of a message that carries files: a refusal if any file was refused; the note of
    the kind the words or the file's name say, with the file; else `file` (the handler asks which
    kind). A command of another kind (签到 with a photo) runs as it is, its pictures not kept."""
    refs = _kept(attachments)
    if isinstance(refs, FileRefused) or not refs:
        return refs or command
    if command.intent not in KIND_LABELS and command.intent != "unknown":
        log.info("%d file(s) with a %s command not kept", len(refs), command.intent)
        return command
    document = next((r for r in refs if r.label != "图片"), refs[0])
    kind = command.intent if command.intent in KIND_LABELS else kind_in_name(document.name)
    title = command.title or document.title or Path(document.name).stem or document.label
    texts = [t for t in (command.content, *(r.text for r in refs)) if t and t.strip()]
    content = "\n\n".join(dict.fromkeys(texts)) or title
    return replace(command, intent=kind or FILE_INTENT, title=title, content=content, attachments=refs)


def described(ref: FileRef) -> str:
    """How an answer names the file: （PDF，12页） / （Word） / （图片）."""
    return f"（{ref.label}，{ref.pages}页）" if ref.pages else f"（{ref.label}）"
