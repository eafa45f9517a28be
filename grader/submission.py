"""A student's submission as files: a single .py (or .ipynb) file or a folder of them.

Read in the trusted process as bytes only: nothing here runs student code. Source is parsed
with `ast` to find which file defines the entry point and to check forbidden APIs.
"""
from __future__ import annotations

import ast
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
        """Every .py file's text (undecodable bytes escaped, so parsing reports them)."""
        return {name: data.decode("utf-8", errors="backslashreplace")
                for name, data in self.files.items() if name.endswith(".py")}


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
