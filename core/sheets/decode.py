"""Decoding a text file's bytes: UTF-8 (with or without BOM), UTF-16/32, else Windows-1252, line by line when mixed.

A file is decoded as a whole from its BOM's encoding, as BOM-less UTF-16 when a quarter of its first bytes are zero,
else as UTF-8. When that fails, the lines that hold bytes above ASCII decide: if none of them is valid UTF-8, the
whole file is Windows-1252 (with Latin-1 for the five bytes Windows-1252 leaves undefined); if some are, the file is
mixed (a UTF-8 file with a few lines pasted from a Windows-1252 one): each line that is not valid UTF-8 is read as
Windows-1252 and named, every other line stays UTF-8.

Invariants: ``decode`` never fails (the last resort maps every byte); a valid UTF-8 file costs one C-level decode
and nothing more; ``not_utf8`` lines are 1-based physical text lines.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field


def _cp1252_or_latin1(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("inventory_cp1252_latin1", _cp1252_or_latin1)

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
NON_ASCII = re.compile(rb"[\x80-\xff]")
SHOWN_LINES = 5
BLOCK = 1 << 16


@dataclass
class Decoded:
    text: str
    encoding: str  # "UTF-8", "UTF-8 with BOM", "UTF-16", "UTF-32", "Windows-1252", or "UTF-8 and Windows-1252"
    not_utf8: list[int] = field(default_factory=list)  # lines read as Windows-1252 in a mixed file

    def warning(self) -> str | None:
        """The sentence to show about the encoding, if any."""
        if self.encoding == "Windows-1252":
            return "The file is not UTF-8; it was read as Windows-1252 (Western European)."
        if not self.not_utf8:
            return None
        lines = self.not_utf8
        shown = ", ".join(str(n) for n in lines[:SHOWN_LINES])
        more = f" and {len(lines) - SHOWN_LINES:,} more" if len(lines) > SHOWN_LINES else ""
        count = "1 line" if len(lines) == 1 else f"{len(lines):,} lines"
        return (
            f"{count} of the file could not be read as UTF-8 like the rest (line{'s' if len(lines) > 1 else ''}"
            f" {shown}{more}); {'it was' if len(lines) == 1 else 'they were'} read as Windows-1252 (Western"
            " European): check the text there."
        )


def _windows_1252(data: bytes) -> str:
    return data.decode("cp1252", errors="inventory_cp1252_latin1")


def decode(data: bytes) -> Decoded:
    """The text of a file's bytes and how it was decoded. Never fails."""
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(codec, errors="replace"), label)
    head = data[:4000]
    if len(head) >= 4 and head.count(b"\x00") >= len(head) // 4:
        # UTF-16 without a BOM: ASCII characters leave a zero byte on one side
        odd_zeros = head[1::2].count(b"\x00")
        codec = "utf-16-le" if odd_zeros >= head[0::2].count(b"\x00") else "utf-16-be"
        return Decoded(data.decode(codec, errors="replace"), "UTF-16")
    try:
        return Decoded(data.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError:
        return _mixed(data)


def _bad_lines(data: bytes, pos: int, end: int) -> list[tuple[int, int]]:
    """The lines between ``pos`` and ``end`` that are not valid UTF-8, as (start, end) byte offsets."""
    out = []
    while match := NON_ASCII.search(data, pos, end):
        start = data.rfind(b"\n", 0, match.start()) + 1
        stop = data.find(b"\n", match.start(), end)
        pos = end if stop < 0 else stop + 1
        try:
            data[start:pos].decode("utf-8")
        except UnicodeDecodeError:
            out.append((start, pos))
    return out


def _mixed(data: bytes) -> Decoded:
    """Lines holding bytes above ASCII, each tried as UTF-8: all bad -> Windows-1252; some good -> mixed."""
    lenient = data.decode("utf-8", errors="replace")
    non_ascii = len(lenient) - len(lenient.encode("ascii", errors="ignore"))
    if non_ascii == lenient.count("\ufffd"):  # not one UTF-8 character: a Windows-1252 file, read in one go
        return Decoded(_windows_1252(data), "Windows-1252")
    del lenient
    bad: list[tuple[int, int]] = []  # (start, end) byte offsets of the lines that are not UTF-8
    pos = 0
    while pos < len(data):  # blocks of whole lines decoded in C; only a block that fails is tried line by line
        end = data.find(b"\n", min(pos + BLOCK, len(data)))
        end = len(data) if end < 0 else end + 1
        try:
            data[pos:end].decode("utf-8")
        except UnicodeDecodeError:
            bad.extend(_bad_lines(data, pos, end))
        pos = end
    parts, lines, pos, line = [], [], 0, 1
    for start, end in bad:
        line += data.count(b"\n", pos, start)
        parts.append(data[pos:start].decode("utf-8", errors="replace"))
        parts.append(_windows_1252(data[start:end]))
        lines.append(line)
        line += data.count(b"\n", start, end)
        pos = end
    parts.append(data[pos:].decode("utf-8", errors="replace"))
    return Decoded("".join(parts), "UTF-8 and Windows-1252", lines)
