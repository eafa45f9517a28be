"""A class folder: one entry per student (a folder or a single file), named by its student id."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError
from grader.problems.submission import printable
from grader.render.safe import one_line

@dataclass
class StudentEntry:
    student: str               #: the student id: the entry's name, made printable
    path: Path                 #: what is read (a symlink's target)
    not_graded: str | None = None  #: why this entry cannot be graded (a symlink out of the class folder...)


def find_students(folder: Path | str) -> list[StudentEntry]:
    """One entry per student: a folder (any files) or a single .py/.ipynb file; its stem is the id.

    Nothing is read here. A name that is not UTF-8 or holds control characters gets a printable id
    (caf\\xe9); a symbolic link is graded when it points inside the class folder, otherwise it is
    listed with the reason it is not graded; a .py/.ipynb entry that is not a regular file too."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of submissions",
                         "Give a folder holding one folder or .py/.ipynb file per student "
                         "(or pass --single to grade one submission).")
    root = folder.resolve()
    entries: dict[str, StudentEntry] = {}
    for item in sorted(folder.iterdir()):
        if item.name.startswith((".", "_")):
            continue
        entry = _student_entry(item, root)
        if entry is None:
            continue
        if entry.student in entries:
            raise UsageError(f"{folder}: two submissions for student '{entry.student}': "
                             f"{printable(entries[entry.student].path.name)} and {printable(item.name)}",
                             "Keep one entry per student.")
        entries[entry.student] = entry
    if not entries:
        raise UsageError(f"{folder}: no submissions found (expected folders or .py/.ipynb files)")
    return list(entries.values())


def _student_entry(item: Path, root: Path) -> StudentEntry | None:
    """The class folder's entry `item` as a student, or None when it is not a submission (notes.txt)."""
    code_name = item.suffix in (".py", ".ipynb")
    if item.is_symlink():
        try:
            target = item.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling, a loop
            return StudentEntry(printable(item.stem if code_name else item.name), item,
                                not_graded=f"{printable(item.name)} is a symbolic link to nothing: not graded")
        if not target.is_dir() and not (code_name and target.is_file()):
            return None  # a link to a data file, like any other non-code file
        student = printable(item.name if target.is_dir() else item.stem)
        if target == root or root not in target.parents:
            return StudentEntry(student, item, not_graded=f"{printable(item.name)} is a symbolic link to "
                                "outside the class folder: not graded")
        return StudentEntry(student, target)
    if item.is_dir():
        return StudentEntry(printable(item.name), item)
    if not code_name:
        return None
    if not item.is_file():
        return StudentEntry(printable(item.stem), item, not_graded=f"{printable(item.name)} is not a regular "
                            "file: not graded")
    return StudentEntry(printable(item.stem), item)


def check_student_id(student: str) -> str:
    """A student id given on the command line, refused when it could name a path outside the output folder."""
    if (not student.strip() or len(student) > 200 or "/" in student or "\\" in student or ".." in student
            or not student.isprintable() or one_line(student) != student):
        raise UsageError(f"--student {printable(student)[:80]!r}: a student id cannot be empty, longer than 200 "
                         "characters or hold '/', '\\', '..' or control characters (it names the student's output file)")
    return student
