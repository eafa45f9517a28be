"""Student-made strings (ids from file names, exception messages, printed text) made safe to show.

A student id is a file name and a message comes from the student's code: either may hold
terminal escapes, carriage returns, text-direction overrides, lone surrogates (a file name that
is not UTF-8) or characters XML cannot hold. Every output shows them escaped (`\\x1b`, `\\udcff`),
visibly, so nothing is silently lost and nothing reaches a terminal, a parser or a spreadsheet raw.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

# Control characters (C0 but tab and newline, DEL, C1), text-direction marks and overrides (they
# reorder what a reader sees), lone surrogates (not encodable as UTF-8) and U+FFFE/U+FFFF (not
# XML characters).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_UNSAFE_KEEP_LINES = re.compile(f"[{_UNSAFE}]")
_UNSAFE_ONE_LINE = re.compile(f"[\t\n{_UNSAFE}]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | None) -> str:
    """`text` with every unsafe character escaped; tabs and newlines kept."""
    return _UNSAFE_KEEP_LINES.sub(_escape_char, text or "")


def one_line(text: str | None) -> str:
    """`text` as one safe line: tabs and newlines escaped too (ids, names, table cells)."""
    return _UNSAFE_ONE_LINE.sub(_escape_char, text or "")


def first_line(text: str | None) -> str:
    """The first non-empty line of `text`, safe."""
    return one_line(next((line for line in (text or "").splitlines() if line.strip()), ""))


def with_reason(output: str, error: str | None) -> str:
    """A test's feedback with the problem's whole error (why nothing ran), not just its first line."""
    output, error = output or "", (error or "").strip()
    if not error or error in output:
        return output
    head = error.splitlines()[0]
    if head and output.rstrip().endswith(head):
        return output.rstrip()[: -len(head)] + error
    return f"{output}\n{error}".strip()


# ---------------------------------------------------------------- file names

_NAME_EXTRA = set("._-+@ ")
MAX_NAME_BYTES = 120   # well under the 255-byte limit, with room for `.NAME.json.tmp`


def _ordinary(student: str) -> bool:
    if not student or student[0] in ".- " or student[-1] in ". ":
        return False
    try:
        if len(student.encode("utf-8")) > MAX_NAME_BYTES:
            return False
    except UnicodeEncodeError:   # a lone surrogate: the folder's name was not UTF-8
        return False
    return all(ch in _NAME_EXTRA or unicodedata.category(ch)[0] in "LNM" for ch in student)


def student_file_stem(student: str) -> str:
    """The file-name stem for a student's outputs (`students/<stem>.json`).

    An ordinary id (letters, digits, `._-+@` and spaces; at most 120 bytes) is its own stem, as
    courses expect. Any other id (too long, path separators, control characters, quotes, not
    UTF-8...) gets a readable, bounded prefix plus `~` and a hash of the id: `~` never appears in
    an ordinary id, so the two kinds of names cannot collide, and the hash keeps odd ids apart."""
    if _ordinary(student):
        return student
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    prefix = "".join(ch if ch in _NAME_EXTRA or (ch.isascii() and ch.isalnum()) else "_" for ch in student)
    prefix = re.sub(r"_+", "_", prefix).strip("._- ")[:40]
    return f"{prefix}~{digest}" if prefix else f"~{digest}"
