"""What a file is, from its content (magic bytes), never from its name.

Allowed, with the signature each is recognised by:

- PDF: starts with ``%PDF-``.
- PNG: starts with ``89 50 4E 47 0D 0A 1A 0A``.
- JPEG: starts with ``FF D8 FF``.
- TIFF: starts with ``II*\\0`` (little-endian) or ``MM\\0*`` (big-endian).
- Office documents (docx, xlsx): a ZIP (``PK\\3\\4``) whose central directory lists
  ``[Content_Types].xml`` and ``word/`` (docx) or ``xl/`` (xlsx) parts.
- STEP (ISO 10303-21): text whose first line is ``ISO-10303-21;``.
- DXF (ASCII): text whose first group is code ``0`` with the value ``SECTION`` (after
  optional ``999`` comment groups).
- Plain text and CSV: valid UTF-8 throughout, no NUL; not a script (``#!``) or a web page
  (``<html``, ``<script``, ``<svg``, ``<!doctype``), which a browser or shell would run.

Everything else is refused, with what it looks like when that is known: a Windows
executable (``MZ``), a Linux executable (``\\x7fELF``), a macOS executable (Mach-O), a Java
class, a ZIP that is no Office document, a GIF, a script, a web page.

A detected type also fixes the extensions its name may have (a text file named ``run.bat``
is a script on Windows; a PNG named ``.pdf`` opens in the wrong program).
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from typing import IO

HEAD_BYTES = 4096
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileType:
    key: str
    label: str  # "a PDF document"
    content_type: str
    extensions: tuple[str, ...]


PDF = FileType("pdf", "a PDF document", "application/pdf", (".pdf",))
PNG = FileType("png", "a PNG image", "image/png", (".png",))
JPEG = FileType("jpeg", "a JPEG image", "image/jpeg", (".jpg", ".jpeg"))
TIFF = FileType("tiff", "a TIFF image", "image/tiff", (".tif", ".tiff"))
DOCX = FileType(
    "docx",
    "a Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
XLSX = FileType(
    "xlsx",
    "an Excel workbook",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (".xlsx",),
)
STEP = FileType("step", "a STEP model", "model/step", (".step", ".stp"))
DXF = FileType("dxf", "a DXF drawing", "image/vnd.dxf", (".dxf",))
CSV = FileType("csv", "a CSV file", "text/csv", (".csv",))
TEXT = FileType("text", "a text file", "text/plain", (".txt", ".text", ".log", ".tsv", ".csv"))

ALLOWED = (PDF, PNG, JPEG, TIFF, DOCX, XLSX, STEP, DXF, CSV, TEXT)

# Known, refused: what a file starting with these bytes looks like.
REFUSED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "a Linux executable"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (b"\xce\xfa\xed\xfe", "a macOS executable"),
    (b"\xfe\xed\xfa\xcf", "a macOS executable"),
    (b"\xfe\xed\xfa\xce", "a macOS executable"),
    (b"\xca\xfe\xba\xbe", "a Java class or macOS executable"),
    (b"GIF8", "a GIF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (save it as docx or xlsx)"),
)
WEB_PAGE_STARTS = ("<!doctype", "<html", "<script", "<svg", "<?xml")


class NotAllowed(ValueError):
    """The content is of no allowed type; `looks_like` says what it seems to be."""

    def __init__(self, looks_like: str = "") -> None:
        super().__init__(looks_like)
        self.looks_like = looks_like


def detect(file: IO[bytes]) -> FileType:
    """The allowed type of `file` (a seekable binary file), or NotAllowed. Reads the file
    in chunks (text is checked to its end); leaves it at position 0."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    try:
        return _detect(file, head)
    finally:
        file.seek(0)


def _detect(file: IO[bytes], head: bytes) -> FileType:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        return _office(file)
    for signature, looks_like in REFUSED_SIGNATURES:
        if head.startswith(signature):
            raise NotAllowed(looks_like)
    if not _is_text(file):
        raise NotAllowed()
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    if text.lstrip().startswith("ISO-10303-21;"):
        return STEP
    if _is_dxf(text):
        return DXF
    lowered = text.lstrip().lower()
    if lowered.startswith("#!"):
        raise NotAllowed("a script")
    if lowered.startswith(WEB_PAGE_STARTS):
        raise NotAllowed("a web page or XML document")
    return TEXT


def _office(file: IO[bytes]) -> FileType:
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise NotAllowed("a damaged ZIP archive") from None
    if "[Content_Types].xml" in names:
        if any(name.startswith("word/") for name in names):
            return DOCX
        if any(name.startswith("xl/") for name in names):
            return XLSX
    raise NotAllowed("a ZIP archive that is no Word or Excel document")


def _is_text(file: IO[bytes]) -> bool:
    """Valid UTF-8 from start to end, with no NUL (read in chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.seek(0)
    try:
        while chunk := file.read(CHUNK):
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _is_dxf(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()[:40]]
    pairs = list(zip(lines[0::2], lines[1::2], strict=False))
    for code, value in pairs:
        if code == "999":  # a comment group
            continue
        return code == "0" and value == "SECTION"
    return False
