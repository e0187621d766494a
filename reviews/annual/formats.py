"""The formats the annual report is written in, by file extension."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import docx, markdown
from .document import AnnualReport


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    render: Callable[[AnnualReport], bytes]


FORMATS = {
    "docx": Format("docx", docx.MEDIA_TYPE, docx.render_docx),
    "md": Format("md", markdown.MEDIA_TYPE, lambda report: markdown.render_markdown(report).encode()),
}
