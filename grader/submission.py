"""A student's submission as files: a single .py (or .ipynb) file or a folder of them.

Read in the trusted process as bytes only: nothing here runs student code. Source is parsed
with `ast` (within a budget, as Python decodes it: grader/source.py) to find which file defines
the entry point and to check forbidden APIs.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

MAX_FILE_BYTES = 5 << 20
MAX_FILES = 200

#: How notebooks are read when the caller does not say (grader.notebook.MODES); `grader grade`
#: sets it for a class run through `notebook_mode` until grader.batch passes the mode itself.
_default_notebook_mode = "definitions"


@contextlib.contextmanager
def notebook_mode(mode: str | None):
    """Within the block, notebooks are read in `mode` (definitions or run) unless a call says otherwise."""
    global _default_notebook_mode
    before = _default_notebook_mode
    _default_notebook_mode = mode or before
    try:
        yield
    finally:
        _default_notebook_mode = before


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
        from .source import decode_source

        return {name: decode_source(data) for name, data in self.files.items() if name.endswith(".py")}


def read_submission(path: Path | str, notebook: str | None = None) -> Submission:
    """Read a .py/.ipynb file or a folder (regular files only; symlinks are never followed).

    `notebook`: how notebooks are read, "definitions" (default) or "run" (see grader.notebook).
    A notebook that cannot be read raises SubmissionError (the student's result)."""
    path = Path(path)
    mode = notebook or _default_notebook_mode
    if path.is_symlink():
        raise UsageError(f"{path}: is a symbolic link; pass the file itself")
    if path.is_dir():
        return _read_folder(path, mode)
    if not path.exists():
        raise UsageError(f"{path}: no such file", "Check the path, or create it with 'grader start ID'.")
    if not path.is_file():
        raise UsageError(f"{path}: not a regular file")
    if path.suffix == ".ipynb":
        submission = Submission(str(path), {})
        _add_notebook(submission, path, path.name, mode)
        return submission
    if path.suffix != ".py":
        raise UsageError(f"{path}: expected a .py file, a .ipynb notebook or a folder")
    return Submission(str(path), {path.name: _read_file(path)})


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UsageError(f"{path}: {size} bytes is too big for a submission file (limit {MAX_FILE_BYTES})")
    return path.read_bytes()


def _add_notebook(submission: Submission, path: Path, rel: str, mode: str) -> None:
    """A notebook as the module it stands for (hw.ipynb -> hw.py) plus its %%writefile files.

    Its size counts like any file's (checked before parsing); a file already in the submission
    wins over one written by %%writefile."""
    from .errors import SubmissionError
    from .notebook import convert

    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SubmissionError(f"{rel}: {size} bytes is too big for a submission file (limit {MAX_FILE_BYTES})",
                              "Clear the notebook's outputs (Edit > Clear all outputs), save it, and submit again.")
    converted = convert(path.read_bytes(), rel, mode)
    module = rel[: -len(".ipynb")] + ".py"
    folder = rel.rpartition("/")[0]
    submission.notes.extend(converted.notes)
    if module in submission.files:
        submission.notes.append(f"skipped {rel}: {module} is in the submission too, and it is graded instead")
        return
    submission.files[module] = converted.source.encode()
    submission.notebooks[module] = rel
    for name, data in converted.files.items():
        target = f"{folder}/{name}" if folder else name
        if target in submission.files:
            submission.notes.append(f"{rel}: %%writefile {name} ignored: the submission has its own {target}")
        elif len(data) > MAX_FILE_BYTES:
            submission.notes.append(f"{rel}: %%writefile {name} ignored: larger than {MAX_FILE_BYTES} bytes")
        else:
            submission.files[target] = data


def _read_folder(folder: Path, mode: str) -> Submission:
    from .errors import SubmissionError

    submission = Submission(str(folder), {})
    files, notes = submission.files, submission.notes
    # .py files first: a notebook's module or %%writefile never replaces a file the student submitted
    items = sorted(folder.rglob("*"), key=lambda p: (p.suffix == ".ipynb", p))
    for item in items:
        rel = item.relative_to(folder).as_posix()
        if any(part.startswith(".") or part == "__pycache__" for part in item.relative_to(folder).parts):
            continue
        if item.is_symlink():
            notes.append(f"skipped {rel}: symbolic links are not followed")
            continue
        if not item.is_file():
            continue
        if item.suffix == ".ipynb":
            try:
                _add_notebook(submission, item, rel, mode)
            except SubmissionError as exc:  # another file may still hold the solution
                notes.append(f"skipped {exc.message}")
        elif item.stat().st_size > MAX_FILE_BYTES:
            notes.append(f"skipped {rel}: larger than {MAX_FILE_BYTES} bytes")
            continue
        else:
            files[rel] = item.read_bytes()
        if len(files) > MAX_FILES:
            raise UsageError(f"{folder}: more than {MAX_FILES} files; submit only your code")
    return submission


def find_module(submission: Submission, entry_point: str, preferred: str | None = None,
                checked=None) -> str | None:
    """The file that defines `entry_point` (the preferred file name first), or None.

    A file with the def (or class, or assignment) wins over one that only imports the name, and a
    .py file over a notebook: a notebook that imports the function from the .py file is not graded.
    `checked` is grader.source.check_sources' answer (parsed within the budget); without it, the
    files are parsed here."""
    names = [name for name in submission.files if name.endswith(".py")]
    if preferred and preferred in names:
        return preferred
    if len(names) == 1:
        return names[0]
    if checked is None:
        from .source import check_sources

        checked = check_sources(submission.files, entry_point, [])
    for found in (checked.defining, checked.importing):
        found = [name for name in names if name in found]
        if found:
            return min(found, key=lambda name: (name in submission.notebooks, name))
    return None
