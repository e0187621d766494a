"""The demo's evidence files (佐證資料): small real documents made here, byte by byte, so that nothing binary
is kept in the repository and each file differs (its own text, its own bars) and so has its own SHA-256.

A PDF is one A4 page of Helvetica text, its cross-reference table counted from the bytes written; a PNG is
an 8-bit RGB picture of a progress chart, deflated with zlib, each chunk with its CRC."""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

PDF = "application/pdf"
PNG = "image/png"


@dataclass(frozen=True)
class Evidence:
    name: str  # as the lead named it when uploading
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def summary(self) -> dict:
        """As the report's history records a file added."""
        return {"name": self.name, "size": len(self.data), "content_type": self.content_type, "sha256": self.sha256}


def _pdf_text(text: str) -> bytes:
    """A PDF literal string: ASCII, its delimiters escaped."""
    return text.encode("ascii").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def pdf_document(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` (ASCII: the standard Helvetica has no Chinese)."""
    shown = b" ".join(b"(%s) Tj T*" % _pdf_text(line) for line in lines)
    stream = b"BT /F1 14 Tf 20 TL 72 770 Td " + shown + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    # The second line's bytes above 127 tell tools the file is binary, as the PDF specification advises.
    document = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(document)
    document += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    document += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    document += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(document)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_image(rows: list[bytes], width: int) -> bytes:
    """A PNG of ``rows``, each ``width`` RGB pixels: 8-bit truecolour, every row unfiltered."""
    height = len(rows)
    data = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(data, 9)) + _chunk(b"IEND", b"")
    )


WHITE, GRID, PLANNED, ACTUAL, TITLE = (
    b"\xff\xff\xff",
    b"\xde\xe2\xe6",
    b"\xad\xb5\xbd",
    b"\x19\x87\x54",
    b"\x21\x25\x29",
)


def progress_chart(planned: list[int], actual: list[int], *, title: int) -> bytes:
    """A 240 x 135 bar chart of progress by quarter, in percent: grey planned, green actual, side by side,
    under a title ``title`` pixels long."""
    width, height, top, bottom, bar = 240, 135, 22, 125, 10
    # (first column, colour, first row) of each bar
    bars = [
        (12 + 28 * quarter + offset, colour, bottom - value * (bottom - top) // 100)
        for quarter, values in enumerate(zip(planned, actual, strict=True))
        for offset, colour, value in ((0, PLANNED, values[0]), (bar, ACTUAL, values[1]))
    ]
    rows = []
    for y in range(height):
        row = bytearray((GRID if y in (top, (top + bottom) // 2, bottom - 1) else WHITE) * width)
        if 4 <= y < 10:
            row[8 * 3 : (8 + title) * 3] = TITLE * title
        for x, colour, first_row in bars:
            if first_row <= y < bottom:
                row[x * 3 : (x + bar) * 3] = colour * bar
        rows.append(bytes(row))
    return png_image(rows, width)


def demo_evidence(kind: str, *, period: str, subproject: int, step: int, gap: int) -> list[Evidence]:
    """The files a demo lead attaches to a report: ``kind`` says which, about the quarter ``period`` (the
    ``step``-th of the ``subproject``-th sub-project), its actual progress ``gap`` points off the plan."""
    quarter = period[-1]
    planned = [round(100 * (n + 1) / 12) for n in range(step)][-8:]
    actual = [max(0, min(100, value + gap)) for value in planned]
    if kind == "checkpoint":
        lines = [
            f"Quarterly report {period}: milestone checkpoint evidence",
            f"Sub-project no. {subproject}, quarter {step} of 12",
            f"Planned progress {planned[-1]}%, actual {actual[-1]}%",
        ]
        return [
            Evidence(f"第{quarter}季查核點佐證.pdf", PDF, pdf_document(lines)),
            Evidence(f"第{quarter}季進度圖.png", PNG, progress_chart(planned, actual, title=60 + subproject * 7 % 160)),
        ]
    if kind == "acceptance":
        lines = [
            f"Acceptance record, {period}",
            f"Sub-project no. {subproject}: delivered items inspected and accepted",
        ]
        return [Evidence("驗收紀錄.pdf", PDF, pdf_document(lines))]
    if kind == "ledger":
        lines = [f"Budget execution ledger, {period}", f"Sub-project no. {subproject}: spending by item, to date"]
        return [Evidence("經費支用明細.pdf", PDF, pdf_document(lines))]
    if kind == "chart":
        return [Evidence("進度統計圖.png", PNG, progress_chart(planned, actual, title=60 + subproject * 7 % 160))]
    raise ValueError(kind)
