"""Reading a plan's outline: from the report's text (``parser``) or from a GSTP outline data file (``document``)."""

import json
from pathlib import Path

from .document import OutlineDocument, OutlineError, document_from_data
from .parser import parse


def read_outline(path: str | Path, *, progress=None) -> OutlineDocument:
    """The outline in a report (.txt, .md) or an outline data file (.json)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OutlineError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise OutlineError("the file is not UTF-8 text", line) from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OutlineError(f"invalid JSON: {exc.msg}", exc.lineno) from exc
        return document_from_data(data)
    return parse(text, progress=progress)


__all__ = ["OutlineDocument", "OutlineError", "read_outline"]
