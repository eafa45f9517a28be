"""A student's submission as files: a single .py (or .ipynb) file or a folder of them.

Read in the trusted process as bytes only: nothing here runs student code. Source is parsed
with `ast` to find which file defines the entry point and to check forbidden APIs.
"""
from __future__ import annotations

import ast
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

MAX_FILE_BYTES = 5 << 20       #: largest file of a submission (a notebook too)
MAX_FILES = 200                #: files that form a submission
MAX_TOTAL_BYTES = 50 << 20     #: all of a submission's files together
MAX_ENTRIES = 20_000           #: files and folders looked at in a submission folder (bounds the walk itself)
MAX_PATH_CHARS = 1024          #: longest relative path of a file kept (the child's folder must hold it)
#: Which files of a folder form the submission unless an assignment says otherwise: code only, so a
#: data/ folder or images never count against the limits (fnmatch patterns: `*` also matches `/`).
CODE_PATTERNS = ("*.py", "*.ipynb")


def printable(text: str) -> str:
    """`text` safe to show and store anywhere: bytes of a name that were not UTF-8 (which Python
    keeps as surrogate escapes) and control characters become backslash escapes (caf\\xe9)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # one undecodable byte of a file name (os.fsdecode)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


@dataclass
class Submission:
    """The files of one submission (name -> bytes), with notes made while reading them."""

    label: str
    files: dict[str, bytes]
    notes: list[str] = field(default_factory=list)

    def python_sources(self) -> dict[str, str]:
        """Every .py file's text (undecodable bytes escaped, so parsing reports them)."""
        return {name: data.decode("utf-8", errors="backslashreplace")
                for name, data in self.files.items() if name.endswith(".py")}


def read_submission(path: Path | str, patterns: tuple[str, ...] | list[str] | None = None) -> Submission:
    """Read a .py/.ipynb file or a folder (regular files only; symlinks are never followed).

    In a folder, the files matching `patterns` (default: code, CODE_PATTERNS) form the submission;
    the others are left out with a note and cost nothing."""
    path = Path(path)
    shown = printable(str(path))
    try:
        return _read(path, shown, tuple(patterns or CODE_PATTERNS))
    except OSError as exc:  # unreadable, vanished, a name too long for the system...
        raise UsageError(f"{shown}: could not be read ({exc.strerror or type(exc).__name__})") from None


def _read(path: Path, shown: str, patterns: tuple[str, ...]) -> Submission:
    if path.is_symlink():
        raise UsageError(f"{shown}: is a symbolic link; pass the file itself")
    if path.is_dir():
        return _read_folder(path, patterns)
    if not path.exists():
        raise UsageError(f"{shown}: no such file", "Check the path, or create it with 'grader start ID'.")
    if not path.is_file():
        raise UsageError(f"{shown}: not a regular file")
    name = path.name if _is_utf8(path.name) else printable(path.name)
    if path.suffix == ".ipynb":
        source, notes = _notebook(_read_file(path, shown), name)
        return Submission(shown, {name[: -len(".ipynb")] + ".py": source}, notes)
    if path.suffix != ".py":
        raise UsageError(f"{shown}: expected a .py file, a .ipynb notebook or a folder")
    return Submission(shown, {name: _read_file(path, shown)})


def _read_file(path: Path, shown: str) -> bytes:
    """The file's bytes, refused past MAX_FILE_BYTES (read at most one byte more, whatever stat said)."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{shown}: too big for a submission file (limit {MAX_FILE_BYTES} bytes)")
    return data


def _notebook(data: bytes, name: str) -> tuple[bytes, list[str]]:
    """A notebook's Python source; whatever goes wrong reading it is this submission's error, never the grader's."""
    from .notebook import notebook_to_python

    try:
        source, notes = notebook_to_python(data, name)
        return source.encode("utf-8", "backslashreplace"), notes  # a lone surrogate from JSON: escaped
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed notebook the parser did not foresee
        raise UsageError(f"{name}: not a readable Jupyter notebook ({type(exc).__name__})",
                         "Save it again from Jupyter, or submit a .py file.") from None


def _entries(folder: Path) -> list[Path]:
    """Everything under `folder`, sorted, without entering dot-folders, __pycache__ or symlinked folders."""
    found: list[Path] = []
    todo = [folder]
    while todo:
        with os.scandir(todo.pop()) as listing:
            for entry in listing:
                if entry.name.startswith(".") or entry.name == "__pycache__":
                    continue
                found.append(Path(entry.path))
                if len(found) > MAX_ENTRIES:
                    raise UsageError(f"{printable(str(folder))}: more than {MAX_ENTRIES} files and folders; "
                                     "submit only your code")
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    return sorted(found)


def _read_folder(folder: Path, patterns: tuple[str, ...]) -> Submission:
    label = printable(str(folder))
    files: dict[str, bytes] = {}
    notes: list[str] = []
    left_out: list[str] = []
    total = 0
    for item in _entries(folder):
        rel = item.relative_to(folder).as_posix()
        shown = printable(rel)
        if item.is_symlink():
            notes.append(f"skipped {shown}: symbolic links are not followed")
            continue
        if not item.is_file():
            continue
        if not any(fnmatch.fnmatchcase(rel, p) for p in patterns):
            left_out.append(shown)
            continue
        if not _is_utf8(rel):
            notes.append(f"skipped {shown}: its name is not valid UTF-8; rename it")
            continue
        if len(rel) > MAX_PATH_CHARS:
            notes.append(f"skipped {shown[:60]}...: its path is longer than {MAX_PATH_CHARS} characters")
            continue
        size = item.stat().st_size
        if size > MAX_FILE_BYTES:
            notes.append(f"skipped {shown}: larger than {MAX_FILE_BYTES} bytes")
            continue
        if len(files) >= MAX_FILES:
            raise UsageError(f"{label}: more than {MAX_FILES} files; submit only your code")
        data = _read_file(item, shown)
        if item.suffix == ".ipynb":
            name = rel[: -len(".ipynb")] + ".py"
            if name in files:
                continue
            data, nb_notes = _notebook(data, shown)
            notes.extend(nb_notes)
        else:
            name = rel
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise UsageError(f"{label}: more than {MAX_TOTAL_BYTES} bytes of files; submit only your code")
        files[name] = data
    if left_out:
        notes.append(f"not part of the submission ({len(left_out)} file(s) that are not code): "
                     + ", ".join(left_out[:3]) + (", ..." if len(left_out) > 3 else ""))
    return Submission(label, files, notes)


def defines(source: str, name: str) -> bool:
    """Whether the module source defines `name` at top level (def, class or assignment)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name) == name for a in node.names):
                return True
    return False


def find_module(submission: Submission, entry_point: str, preferred: str | None = None) -> str | None:
    """The file that defines `entry_point` (the preferred file name first), or None."""
    sources = submission.python_sources()
    if preferred and preferred in sources:
        return preferred
    if len(sources) == 1:
        return next(iter(sources))
    for name, source in sources.items():
        if defines(source, entry_point):
            return name
    return None
