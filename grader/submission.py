"""A student's submission as files: a single .py (or .ipynb) file or a folder of them.

Read in the trusted process as bytes only: nothing here runs student code. Source is parsed
with `ast` (within a budget, as Python decodes it: grader/source.py) to find which file defines
the entry point and to check forbidden APIs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

MAX_FILE_BYTES = 5 << 20
MAX_FILES = 200


@dataclass
class Submission:
    """The files of one submission (name -> bytes), with notes made while reading them."""

    label: str
    files: dict[str, bytes]
    notes: list[str] = field(default_factory=list)

    def python_sources(self) -> dict[str, str]:
        """Every .py file's text as Python decodes it (coding cookie, BOM; undecodable bytes escaped)."""
        from .source import decode_source

        return {name: decode_source(data) for name, data in self.files.items() if name.endswith(".py")}


def read_submission(path: Path | str) -> Submission:
    """Read a .py/.ipynb file or a folder (regular files only; symlinks are never followed)."""
    path = Path(path)
    if path.is_symlink():
        raise UsageError(f"{path}: is a symbolic link; pass the file itself")
    if path.is_dir():
        return _read_folder(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file", "Check the path, or create it with 'grader start ID'.")
    if not path.is_file():
        raise UsageError(f"{path}: not a regular file")
    if path.suffix == ".ipynb":
        from .notebook import notebook_to_python

        source, notes = notebook_to_python(path.read_bytes(), path.name)
        return Submission(str(path), {path.with_suffix(".py").name: source.encode()}, notes)
    if path.suffix != ".py":
        raise UsageError(f"{path}: expected a .py file, a .ipynb notebook or a folder")
    return Submission(str(path), {path.name: _read_file(path)})


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UsageError(f"{path}: {size} bytes is too big for a submission file (limit {MAX_FILE_BYTES})")
    return path.read_bytes()


def _read_folder(folder: Path) -> Submission:
    files: dict[str, bytes] = {}
    notes: list[str] = []
    for item in sorted(folder.rglob("*")):
        rel = item.relative_to(folder).as_posix()
        if any(part.startswith(".") or part == "__pycache__" for part in item.relative_to(folder).parts):
            continue
        if item.is_symlink():
            notes.append(f"skipped {rel}: symbolic links are not followed")
            continue
        if not item.is_file():
            continue
        if item.suffix == ".ipynb":
            from .notebook import notebook_to_python

            source, nb_notes = notebook_to_python(item.read_bytes(), rel)
            name = rel[: -len(".ipynb")] + ".py"
            if name not in files:
                files[name] = source.encode()
            notes.extend(nb_notes)
            continue
        if item.stat().st_size > MAX_FILE_BYTES:
            notes.append(f"skipped {rel}: larger than {MAX_FILE_BYTES} bytes")
            continue
        files[rel] = item.read_bytes()
        if len(files) > MAX_FILES:
            raise UsageError(f"{folder}: more than {MAX_FILES} files; submit only your code")
    return Submission(str(folder), files, notes)


def find_module(submission: Submission, entry_point: str, preferred: str | None = None,
                defining: list[str] | None = None) -> str | None:
    """The file that defines `entry_point` (the preferred file name first), or None.

    `defining` is the list of files that define it (grader.source.check_sources found it within
    the parse budget); without it, the files are parsed here."""
    names = [name for name in submission.files if name.endswith(".py")]
    if preferred and preferred in names:
        return preferred
    if len(names) == 1:
        return names[0]
    if defining is None:
        from .source import check_sources

        defining = check_sources(submission.files, entry_point, []).defining
    return next((name for name in names if name in defining), None)
