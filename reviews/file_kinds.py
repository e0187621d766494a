"""What kind of file an evidence upload is, judged by its content: never by its name's extension, nor by the
Content-Type the client sent.

libmagic (``file``'s own library, through python-magic) names the kind from the content. Three kinds
need a closer look than that:

- A ZIP may be an Office Open XML document (its ``[Content_Types].xml`` names the main part), an
  OpenDocument (its ``mimetype`` entry) or a plain archive; the entries are read here whatever their order,
  and an Office package whose main part is none of Word, Excel or PowerPoint (a macro-enabled one, say) is
  refused.
- CSV is plain text: it must decode whole as UTF-8 or as Big5 (CP950, as Excel writes it in Taiwan), hold
  no NUL, and start neither with ``#!`` (a script) nor with ``<`` (HTML, SVG, XML: markup a browser may run).
- Anything else libmagic names (an executable, a script, HTML, SVG) and anything it cannot name is refused.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zipfile
from dataclasses import dataclass

import magic
from django.conf import settings
from django.utils.translation import gettext_lazy as _

PDF = "application/pdf"
ZIP = "application/zip"
CSV = "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"

# The kinds accepted as libmagic names them (the stored type), Office's older binary formats included.
ACCEPTED = frozenset(
    {
        PDF,
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-office",  # an older Office document libmagic cannot place more precisely
        DOCX,
        XLSX,
        PPTX,
        ODT,
        ODS,
        ODP,
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/tiff",
        CSV,
        ZIP,
    }
)
ACCEPTED_DESCRIPTION = _(
    "PDF; Word, Excel and PowerPoint (.doc, .docx, .xls, .xlsx, .ppt, .pptx); OpenDocument (.odt, .ods, "
    ".odp); PNG, JPEG, GIF, WebP and TIFF images; CSV (UTF-8 or Big5); ZIP"
)

# What libmagic may call a ZIP-based file, to be looked into.
_ZIP_FAMILY = frozenset({ZIP, "application/x-zip-compressed", DOCX, XLSX, PPTX, ODT, ODS, ODP})
# What libmagic may call text that could be CSV.
_TEXT = frozenset({CSV, "text/plain"})
# The main part of an Office Open XML package, as [Content_Types].xml names it.
_OOXML_MAIN_PARTS = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
_ODF_TYPES = frozenset({ODT, ODS, ODP})
# What libmagic is given of a file that is not on disk, at least: its own default read.
HEAD_BYTES = 1024 * 1024
# An entry's content read from inside a ZIP, at most: a compressed bomb stops here.
_ENTRY_BYTES = 256 * 1024
_MARKUP_OR_SCRIPT = re.compile(rb"^\s*(<|#!)")


@dataclass(frozen=True)
class Inspection:
    """An upload as read: its kind (None when it is not one GSTP accepts), size and SHA-256 (hex)."""

    content_type: str | None
    size: int
    sha256: str


def inspect_upload(upload) -> Inspection:
    """Read ``upload`` (a Django ``File``) in chunks, once for libmagic's head and once whole for its hash
    (and, for text, its encoding): a 20 MiB file is never held in memory at once."""
    named = _libmagic_kind(upload)
    digest, size = hashlib.sha256(), 0
    text = _TextCheck() if named in _TEXT else None
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
        if text is not None:
            text.feed(chunk)
    upload.seek(0)
    if named in _ZIP_FAMILY:
        content_type = _zip_kind(upload)
    elif text is not None:
        content_type = CSV if text.is_csv() else None
    else:
        content_type = named if named in ACCEPTED else None
    upload.seek(0)
    return Inspection(content_type=content_type, size=size, sha256=digest.hexdigest())


def _libmagic_kind(upload) -> str:
    """libmagic's answer, from the file itself where Django spooled the upload to disk (an older Office file's
    directory may lie anywhere in it, and libmagic reads what it needs from the file), else from its head."""
    temporary_file_path = getattr(upload, "temporary_file_path", None)
    if temporary_file_path is not None:
        return magic.from_file(temporary_file_path(), mime=True)
    return magic.from_buffer(_head(upload), mime=True)


def _head(upload) -> bytes:
    """The first bytes of an upload held in memory: all of it up to FILE_UPLOAD_MAX_MEMORY_SIZE (it is in
    memory already), at least ``HEAD_BYTES`` of anything else."""
    limit = max(HEAD_BYTES, settings.FILE_UPLOAD_MAX_MEMORY_SIZE or 0)
    upload.seek(0)
    parts, length = [], 0
    for chunk in upload.chunks():
        parts.append(chunk[: limit - length])
        length += len(parts[-1])
        if length >= limit:
            break
    upload.seek(0)
    return b"".join(parts)


def _zip_kind(upload) -> str | None:
    """An OOXML or ODF document's type, ZIP for any other archive; None for a broken one or an Office
    package of another kind (macro-enabled, Visio...)."""
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    declared = entry.read(200).decode("ascii", "replace").strip()
                return declared if declared in _ODF_TYPES else ZIP
            if "[Content_Types].xml" in names:
                with archive.open("[Content_Types].xml") as entry:
                    types = entry.read(_ENTRY_BYTES)
                return next((kind for part, kind in _OOXML_MAIN_PARTS.items() if part in types), None)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError):
        return None
    return ZIP


class _TextCheck:
    """Fed a file's chunks: is it text GSTP takes for CSV?"""

    def __init__(self):
        self.decoders = {name: codecs.getincrementaldecoder(name)() for name in ("utf-8-sig", "cp950")}
        self.start = b""
        self.has_nul = False

    def feed(self, chunk: bytes) -> None:
        if len(self.start) < 64:
            self.start += chunk[: 64 - len(self.start)]
        self.has_nul = self.has_nul or b"\x00" in chunk
        for name, decoder in list(self.decoders.items()):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                del self.decoders[name]

    def is_csv(self) -> bool:
        for name, decoder in list(self.decoders.items()):
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                del self.decoders[name]
        start = self.start.removeprefix(codecs.BOM_UTF8)
        return bool(self.decoders) and not self.has_nul and bool(start) and not _MARKUP_OR_SCRIPT.match(start)
