"""A student's submission as files: a single .py (or .ipynb) file or a folder of them.

Read in the trusted process as bytes only: nothing here runs student code. Source is parsed
with `ast` to find which file defines the entry point and to check forbidden APIs.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SubmissionError, UsageError
from grader.render.safe import one_line

MAX_FILE_BYTES = 5 << 20       #: largest file of a submission (a notebook too)
MAX_FILES = 200                #: files that form a submission
MAX_TOTAL_BYTES = 50 << 20     #: all of a submission's files together
MAX_ENTRIES = 20_000           #: files and folders looked at in a submission folder (bounds the walk itself)
MAX_PATH_CHARS = 1024          #: longest relative path of a file kept (the child's folder must hold it)
#: Which files of a folder form the submission unless an assignment says otherwise: code only, so a
#: data/ folder or images never count against the limits (fnmatch patterns: `*` also matches `/`).
CODE_PATTERNS = ("*.py", "*.ipynb")


def printable(text: str) -> str:
    """`text` safe to show and store anywhere, e.g. as a student id: bytes of a name that were not
    UTF-8 (which Python keeps as surrogate escapes) become \\xNN (caf\\xe9), and control characters
    are escaped as every output escapes them (grader.render.safe)."""
    return one_line(_UNDECODED_BYTE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text))


_UNDECODED_BYTE = re.compile("[\udc80-\udcff]")


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
    #: module name -> the notebook it was made from (hw.py -> hw.ipynb)
    notebooks: dict[str, str] = field(default_factory=dict)

    def python_sources(self) -> dict[str, str]:
        """Every .py file's text as Python decodes it (coding cookie, BOM; undecodable bytes escaped)."""
        from grader.problems.source import decode_source

        return {name: decode_source(data) for name, data in self.files.items() if name.endswith(".py")}


def read_submission(path: Path | str, patterns: tuple[str, ...] | list[str] | None = None,
                    notebook: str | None = None) -> Submission:
    """Read a .py/.ipynb file or a folder (regular files only; symlinks are never followed).

    In a folder, the files matching `patterns` (default: code, CODE_PATTERNS) form the submission;
    the others are left out with a note and cost nothing. `notebook`: how notebooks are read,
    "definitions" (default) or "run" (see grader.problems.notebook). A notebook that cannot be read raises
    SubmissionError (the student's result)."""
    path = Path(path)
    shown = printable(str(path))
    try:
        return _read(path, shown, tuple(patterns or CODE_PATTERNS), notebook or "definitions")
    except OSError as exc:  # unreadable, vanished, a name too long for the system...
        raise UsageError(f"{shown}: could not be read ({exc.strerror or type(exc).__name__})") from None


def _read(path: Path, shown: str, patterns: tuple[str, ...], mode: str) -> Submission:
    if path.is_symlink():
        raise UsageError(f"{shown}: is a symbolic link; pass the file itself")
    if path.is_dir():
        return _read_folder(path, patterns, mode)
    if not path.exists():
        raise UsageError(f"{shown}: no such file", "Check the path, or create it with 'grader start ID'.")
    if not path.is_file():
        raise UsageError(f"{shown}: not a regular file")
    name = path.name if _is_utf8(path.name) else printable(path.name)
    if path.suffix == ".ipynb":
        try:
            data = _read_file(path, shown)
        except UsageError as exc:  # the student's result, with what to do about it
            raise SubmissionError(exc.message, "Clear the notebook's outputs (Edit > Clear all outputs), "
                                  "save it, and submit again.") from None
        submission = Submission(shown, {})
        _add_notebook(submission, data, name, mode)
        return submission
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


def _add_notebook(submission: Submission, data: bytes, rel: str, mode: str) -> None:
    """A notebook (its bytes, already within MAX_FILE_BYTES) as the module it stands for
    (hw.ipynb -> hw.py) plus its %%writefile files. A file already in the submission wins over
    one written by %%writefile. Raises SubmissionError when the notebook cannot be read."""
    from grader.problems.notebook import convert

    converted = convert(data, rel, mode)
    module = rel[: -len(".ipynb")] + ".py"
    folder = rel.rpartition("/")[0]
    submission.notes.extend(converted.notes)
    if module in submission.files:
        submission.notes.append(f"skipped {rel}: {module} is in the submission too, and it is graded instead")
        return
    submission.files[module] = converted.source.encode("utf-8", "backslashreplace")
    submission.notebooks[module] = rel
    for name, data in converted.files.items():
        target = f"{folder}/{name}" if folder else name
        if target in submission.files:
            submission.notes.append(f"{rel}: %%writefile {name} ignored: the submission has its own {target}")
        elif len(data) > MAX_FILE_BYTES:
            submission.notes.append(f"{rel}: %%writefile {name} ignored: larger than {MAX_FILE_BYTES} bytes")
        else:
            submission.files[target] = data


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


def _read_folder(folder: Path, patterns: tuple[str, ...], mode: str) -> Submission:
    label = printable(str(folder))
    submission = Submission(label, {})
    files, notes = submission.files, submission.notes
    left_out: list[str] = []
    total = 0
    # .py files first: a notebook's module or %%writefile never replaces a file the student submitted
    for item in sorted(_entries(folder), key=lambda p: (p.suffix == ".ipynb", p)):
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
            notes.append(f"skipped {shown}: too big ({size} bytes; the limit is {MAX_FILE_BYTES})")
            continue
        if len(files) >= MAX_FILES:
            raise UsageError(f"{label}: more than {MAX_FILES} files; submit only your code")
        data = _read_file(item, shown)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise UsageError(f"{label}: more than {MAX_TOTAL_BYTES} bytes of files; submit only your code")
        if item.suffix == ".ipynb":
            try:
                _add_notebook(submission, data, rel, mode)
            except SubmissionError as exc:  # another file may still hold the solution
                notes.append(f"skipped {exc.message}")
        else:
            files[rel] = data
    if len(files) > MAX_FILES:
        raise UsageError(f"{label}: more than {MAX_FILES} files; submit only your code")
    if left_out:
        notes.append(f"not part of the submission ({len(left_out)} file(s) that are not code): "
                     + ", ".join(left_out[:3]) + (", ..." if len(left_out) > 3 else ""))
    return submission


def find_module(submission: Submission, entry_point: str, preferred: str | None = None,
                checked=None) -> str | None:
    """The file that defines `entry_point` (the preferred file name first), or None.

    A file with the def (or class, or assignment) wins over one that only imports the name, and a
    .py file over a notebook: a notebook that imports the function from the .py file is not graded.
    `checked` is grader.problems.source.check_sources' answer (parsed within the budget); without it, the
    files are parsed here."""
    names = [name for name in submission.files if name.endswith(".py")]
    if preferred and preferred in names:
        return preferred
    if len(names) == 1:
        return names[0]
    if checked is None:
        from grader.problems.source import check_sources

        checked = check_sources(submission.files, entry_point, [])
    for found in (checked.defining, checked.importing):
        found = [name for name in names if name in found]
        if found:
            return min(found, key=lambda name: (name in submission.notebooks, name))
    return None
